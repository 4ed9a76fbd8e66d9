-- Session layer: one row per request (per redirect hop) of a running session, classified and
-- attributed, written in batches. Query values are never stored.
CREATE TABLE request_outcomes (
    id                     INTEGER PRIMARY KEY,
    template_id            TEXT NOT NULL REFERENCES templates (id) ON DELETE CASCADE,
    session_id             TEXT NOT NULL,
    at                     TEXT NOT NULL,
    request_id             TEXT NOT NULL,
    method                 TEXT NOT NULL,
    url                    TEXT NOT NULL,
    host                   TEXT NOT NULL,
    resource_type          TEXT NOT NULL,
    kind                   TEXT NOT NULL,
    status                 INTEGER,
    error                  TEXT,
    redirect_to            TEXT,
    -- NULL when the request did not fail.
    stage                  TEXT,
    signal                 TEXT,
    relay_stage            TEXT,
    relay_reason           TEXT,
    exit_url               TEXT NOT NULL,
    egress_ip              TEXT,
    relay_reconnected      INTEGER NOT NULL,
    since_refresh_ok_ms    INTEGER,
    since_refresh_fail_ms  INTEGER,
    connect_ms             REAL,
    tls_ms                 REAL,
    ttfb_ms                REAL,
    total_ms               REAL
) STRICT;
CREATE INDEX request_outcomes_by_template ON request_outcomes (template_id, at);
CREATE INDEX request_outcomes_by_time ON request_outcomes (at);

-- Health rules of a template (URL patterns): the serde JSON form, written by the core.
-- Existing templates get the defaults (a test checks this text is exactly that form).
ALTER TABLE templates ADD COLUMN health_rules TEXT NOT NULL DEFAULT '{"refresh":["*/oauth/token*","*/oauth2/token*","*/token/refresh*","*/auth/refresh*","*/refresh_token*","*/refresh-token*","*/session/refresh*","*/api/refresh*"],"login":["*/login*","*/signin*","*/sign-in*","*/sign_in*","*/logon*"],"verification":["*/challenge*","*/captcha*","*/2fa*","*/mfa*","*/two-factor*","*/two_factor*","*/checkpoint*","*/verify*"]}';
