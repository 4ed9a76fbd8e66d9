-- Team mode (#15). This home's copy of the team's templates lives in `templates` as before; these
-- tables say which version of each the team store last gave, and up to which generation this
-- home has pulled. Both stay empty without a team.

CREATE TABLE team_replica (
    template_id TEXT PRIMARY KEY,
    version     INTEGER NOT NULL,
    changed_by  TEXT NOT NULL,
    changed_at  TEXT NOT NULL
);

CREATE TABLE team_sync (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    gen       INTEGER NOT NULL,
    synced_at TEXT NOT NULL
);

-- Every template carries the version it is at (1 when added, +1 per saved change): an edit can
-- name the version it started from and fails with `edit_conflict` if another saved meanwhile.
ALTER TABLE templates ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
