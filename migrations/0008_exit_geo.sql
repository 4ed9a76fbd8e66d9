-- The exit's location (#19): where IP-info services fetched through the exit say it is, kept
-- with each egress check; and a template's opt-in to refuse launches that do not fit it.

ALTER TABLE egress_checks ADD COLUMN country TEXT;
ALTER TABLE egress_checks ADD COLUMN timezone TEXT;
ALTER TABLE egress_checks ADD COLUMN geo_source TEXT;

ALTER TABLE templates ADD COLUMN require_consistent INTEGER NOT NULL DEFAULT 0;
