-- Settings: key → value (text as the user gave it, validated by the core).
CREATE TABLE settings (
    key    TEXT PRIMARY KEY NOT NULL,
    value  TEXT NOT NULL
) STRICT;

-- Egress history: every IP fetched through a template's exit.
CREATE TABLE egress_checks (
    id           INTEGER PRIMARY KEY,
    template_id  TEXT NOT NULL REFERENCES templates (id) ON DELETE CASCADE,
    ip           TEXT NOT NULL,
    -- The exit at the time (URL without password) and the echo URL that answered.
    exit_url     TEXT NOT NULL,
    via          TEXT NOT NULL,
    checked_at   TEXT NOT NULL
) STRICT;
CREATE INDEX egress_checks_by_template ON egress_checks (template_id, id);

-- Session events (egress changes, dial failures, …): JSON detail, written in batches.
CREATE TABLE session_events (
    id           INTEGER PRIMARY KEY,
    template_id  TEXT NOT NULL REFERENCES templates (id) ON DELETE CASCADE,
    session_id   TEXT NOT NULL,
    at           TEXT NOT NULL,
    kind         TEXT NOT NULL,
    detail       TEXT NOT NULL
) STRICT;
CREATE INDEX session_events_by_template ON session_events (template_id, at);
CREATE INDEX session_events_by_time ON session_events (at);

-- Connection-layer metrics of a relay: one row per flush interval with anything in it.
CREATE TABLE relay_metrics (
    id                  INTEGER PRIMARY KEY,
    template_id         TEXT NOT NULL REFERENCES templates (id) ON DELETE CASCADE,
    session_id          TEXT NOT NULL,
    exit_url            TEXT NOT NULL,
    period_start        TEXT NOT NULL,
    period_end          TEXT NOT NULL,
    dial_attempts       INTEGER NOT NULL,
    dial_ok             INTEGER NOT NULL,
    fail_tcp_connect    INTEGER NOT NULL,
    fail_proxy_auth     INTEGER NOT NULL,
    fail_proxy_handshake INTEGER NOT NULL,
    fail_first_byte     INTEGER NOT NULL,
    fail_mid_stream     INTEGER NOT NULL,
    fail_idle_reclaim   INTEGER NOT NULL,
    backoff_waits       INTEGER NOT NULL,
    active_tunnels      INTEGER NOT NULL,
    bytes_up            INTEGER NOT NULL,
    bytes_down          INTEGER NOT NULL,
    -- Latency histograms (sparse [bucket, count] JSON), merged when read.
    connect_hist        TEXT NOT NULL,
    handshake_hist      TEXT NOT NULL,
    first_byte_hist     TEXT NOT NULL
) STRICT;
CREATE INDEX relay_metrics_by_template ON relay_metrics (template_id, period_end);
CREATE INDEX relay_metrics_by_exit ON relay_metrics (exit_url, period_end);
CREATE INDEX relay_metrics_by_time ON relay_metrics (period_end);
