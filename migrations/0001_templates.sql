-- Templates: one row per per-account environment. Passwords are never stored here (OS keyring).
CREATE TABLE templates (
    id                 TEXT PRIMARY KEY NOT NULL,
    name               TEXT NOT NULL COLLATE NOCASE UNIQUE,
    account            TEXT NOT NULL DEFAULT '',
    exit_kind          TEXT NOT NULL CHECK (exit_kind IN ('direct', 'http', 'socks5')),
    exit_host          TEXT NOT NULL DEFAULT '',
    exit_port          INTEGER NOT NULL DEFAULT 0 CHECK (exit_port BETWEEN 0 AND 65535),
    exit_username      TEXT,
    exit_has_password  INTEGER NOT NULL DEFAULT 0 CHECK (exit_has_password IN (0, 1)),
    -- The exit as shown (URL without password), written by the core so that SQLite can build
    -- a template's JSON form without re-implementing URL formatting.
    exit_url           TEXT NOT NULL,
    pinned_egress_ip   TEXT,
    timezone           TEXT NOT NULL,
    locale             TEXT NOT NULL,
    -- JSON arrays of strings: read whole with the row, never queried by element.
    start_urls         TEXT NOT NULL DEFAULT '[]',
    tags               TEXT NOT NULL DEFAULT '[]',
    notes              TEXT NOT NULL DEFAULT '',
    -- RFC 3339 UTC exactly as the JSON form shows it.
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
) STRICT;
