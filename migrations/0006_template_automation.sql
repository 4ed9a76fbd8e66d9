-- Hardening (#14): whether a template's launches open a DevTools TCP port for automation tools.
-- Off for every existing template: Holdfast itself speaks to the browser over a pipe.

ALTER TABLE templates ADD COLUMN automation INTEGER NOT NULL DEFAULT 0;
