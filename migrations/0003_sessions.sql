-- Running sessions: one row per template while its browser runs (the lease's record; the OS
-- file lock in the profile dir is what actually excludes a second launch).
CREATE TABLE sessions (
    template_id     TEXT PRIMARY KEY,
    session_id      TEXT NOT NULL,
    owner_pid       INTEGER NOT NULL,
    owner_start     INTEGER,
    browser_pid     INTEGER,
    browser_start   INTEGER,
    started_at      TEXT NOT NULL,
    relay           TEXT,
    cdp             TEXT,
    profile_dir     TEXT NOT NULL,
    headless        INTEGER NOT NULL DEFAULT 0,
    egress_ip       TEXT,
    clock_offset_ms INTEGER,
    updated_at      TEXT NOT NULL
) STRICT;
