-- The team store (#15): shared templates with versions, and the team's members. Applied by
-- `holdfast team init` as the database owner. Members log in as their own PostgreSQL users,
-- each granted one of two group roles below; the grants, not the client, decide what they may do.

DO $$ BEGIN
    CREATE ROLE holdfast_editor NOLOGIN;
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
DO $$ BEGIN
    CREATE ROLE holdfast_runner NOLOGIN;
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

-- One row: the team's id and what checks a passphrase. The key derived from the passphrase
-- (scrypt, this salt) never reaches the database; `key_check` is a known text sealed with it.
CREATE TABLE team (
    id          uuid PRIMARY KEY,
    created_at  timestamptz NOT NULL DEFAULT now(),
    kdf_salt    bytea NOT NULL,
    kdf_log_n   integer NOT NULL,
    key_check   bytea NOT NULL
);

-- A machine that joined: its name, its machine id, and the PostgreSQL user it logs in as.
CREATE TABLE members (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    machine_id  text NOT NULL,
    db_user     text NOT NULL DEFAULT current_user,
    joined_at   timestamptz NOT NULL DEFAULT now(),
    left_at     timestamptz
);
CREATE UNIQUE INDEX members_machine ON members (machine_id) WHERE left_at IS NULL;

-- Every change to templates takes the next generation: a member pulls what changed since the
-- last generation it saw, and a NOTIFY tells listening members to do so now.
CREATE SEQUENCE team_gen;

-- `doc` is the template's JSON form (as `template show --json`); the exit password is sealed
-- with the team key (bound to the template id) and never stored in clear.
CREATE TABLE templates (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    doc         jsonb NOT NULL,
    exit_secret bytea,
    version     bigint NOT NULL DEFAULT 1,
    changed_by  text NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now(),
    gen         bigint NOT NULL DEFAULT nextval('team_gen')
);
-- Names are unique ignoring case, as in the local store.
CREATE UNIQUE INDEX templates_name ON templates (lower(name));

-- Each replaced version of a template, so that a stale edit can be told which fields changed
-- since the version it started from.
CREATE TABLE template_history (
    id          uuid NOT NULL,
    version     bigint NOT NULL,
    doc         jsonb NOT NULL,
    changed_by  text NOT NULL,
    changed_at  timestamptz NOT NULL,
    PRIMARY KEY (id, version)
);

CREATE TABLE template_tombstones (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    deleted_by  text NOT NULL,
    deleted_at  timestamptz NOT NULL DEFAULT now(),
    gen         bigint NOT NULL DEFAULT nextval('team_gen')
);

-- The database's clock and sequence stamp each change, not the member's. SECURITY DEFINER: an
-- editor may write templates without rights on the sequence or the tombstones.
CREATE FUNCTION templates_stamp() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO template_tombstones (id, name, deleted_by)
            VALUES (OLD.id, OLD.name, session_user)
            ON CONFLICT (id) DO UPDATE SET gen = nextval('team_gen'), deleted_at = now();
        PERFORM pg_notify('holdfast_templates', '');
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO template_history (id, version, doc, changed_by, changed_at)
            VALUES (OLD.id, OLD.version, OLD.doc, OLD.changed_by, OLD.changed_at)
            ON CONFLICT DO NOTHING;
    END IF;
    NEW.changed_at := now();
    NEW.gen := nextval('team_gen');
    DELETE FROM template_tombstones WHERE id = NEW.id;
    PERFORM pg_notify('holdfast_templates', '');
    RETURN NEW;
END $$;
CREATE TRIGGER templates_stamp BEFORE INSERT OR UPDATE OR DELETE ON templates
    FOR EACH ROW EXECUTE FUNCTION templates_stamp();

-- Editors change templates; runners read them but never the sealed exit passwords.
GRANT USAGE ON SCHEMA public TO holdfast_editor, holdfast_runner;
GRANT SELECT ON team, template_tombstones, template_history TO holdfast_editor, holdfast_runner;
GRANT SELECT, INSERT, UPDATE ON members TO holdfast_editor, holdfast_runner;
GRANT SELECT, INSERT, UPDATE, DELETE ON templates TO holdfast_editor;
GRANT SELECT (id, name, doc, version, changed_by, changed_at, gen) ON templates TO holdfast_runner;
GRANT USAGE, SELECT ON SEQUENCE team_gen TO holdfast_editor;
