-- The guard (#6): templates' rules gain the sensitive-action list (existing templates get the
-- defaults, appended last so the stored JSON is exactly the serde form), and every hold of a
-- sensitive request with its decision is kept for the audit log.

UPDATE templates SET health_rules = json_set(health_rules, '$.sensitive', json('[{"action":"password-change","methods":["POST","PUT","PATCH","DELETE"],"url":"*/password*"},{"action":"password-change","methods":["POST","PUT","PATCH","DELETE"],"url":"*/passwd*"},{"action":"password-change","methods":["POST","PUT","PATCH","DELETE"],"url":"*/change-password*"},{"action":"email-change","methods":["POST","PUT","PATCH","DELETE"],"url":"*/account/email*"},{"action":"email-change","methods":["POST","PUT","PATCH","DELETE"],"url":"*/settings/email*"},{"action":"email-change","methods":["POST","PUT","PATCH","DELETE"],"url":"*/change-email*"},{"action":"email-change","methods":["POST","PUT","PATCH","DELETE"],"url":"*/email/change*"},{"action":"payment","methods":["POST","PUT","PATCH","DELETE"],"url":"*/checkout*"},{"action":"payment","methods":["POST","PUT","PATCH","DELETE"],"url":"*/payment*"},{"action":"payment","methods":["POST","PUT","PATCH","DELETE"],"url":"*/billing*"},{"action":"payment","methods":["POST","PUT","PATCH","DELETE"],"url":"*/purchase*"},{"action":"payment","methods":["POST","PUT","PATCH","DELETE"],"url":"*/pay/*"},{"action":"export","methods":["POST","PUT","PATCH","DELETE"],"url":"*/export*"},{"action":"export","methods":["POST","PUT","PATCH","DELETE"],"url":"*/takeout*"},{"action":"export","methods":["POST","PUT","PATCH","DELETE"],"url":"*/download-data*"},{"action":"binding","methods":["POST","PUT","PATCH","DELETE"],"url":"*/2fa*"},{"action":"binding","methods":["POST","PUT","PATCH","DELETE"],"url":"*/two-factor*"},{"action":"binding","methods":["POST","PUT","PATCH","DELETE"],"url":"*/mfa*"},{"action":"binding","methods":["POST","PUT","PATCH","DELETE"],"url":"*/totp*"},{"action":"binding","methods":["POST","PUT","PATCH","DELETE"],"url":"*/webauthn*"},{"action":"binding","methods":["POST","PUT","PATCH","DELETE"],"url":"*/devices*"},{"action":"binding","methods":["POST","PUT","PATCH","DELETE"],"url":"*/phone*"}]'))
WHERE json_type(health_rules, '$.sensitive') IS NULL;

CREATE TABLE guard_holds (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    held_at       TEXT NOT NULL,              -- RFC 3339 UTC, ms
    template_id   TEXT NOT NULL,
    template_name TEXT NOT NULL,              -- kept: the audit outlives a renamed or deleted template
    session_id    TEXT NOT NULL,
    action        TEXT NOT NULL,              -- the rule's action, e.g. password-change
    method        TEXT NOT NULL,
    url           TEXT NOT NULL,              -- query values stripped
    reasons       TEXT NOT NULL,              -- JSON array of risk reasons when held
    decision      TEXT,                       -- proceed | cancel; NULL while held
    decided_by    TEXT,                       -- app | policy | timeout | session_ended
    decided_at    TEXT
);
CREATE INDEX guard_holds_by_time ON guard_holds (held_at);
CREATE INDEX guard_holds_by_template ON guard_holds (template_id, held_at);
