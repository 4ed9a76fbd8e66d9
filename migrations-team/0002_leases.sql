-- One session per account across the team (#15): a lease row per template. Expiry is judged by
-- the database's clock (now()), never a member's. Every take bumps the fencing epoch; renewal
-- and release name the epoch they hold, so a holder that lost its lease can never renew it
-- back over a newer holder. Members reach the table only through these functions.

CREATE TABLE leases (
    template_id  uuid PRIMARY KEY REFERENCES templates (id) ON DELETE CASCADE,
    epoch        bigint NOT NULL,
    member_id    uuid NOT NULL,
    member_name  text NOT NULL,
    machine_id   text NOT NULL,
    taken_at     timestamptz NOT NULL,
    renewed_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);

-- Takes the lease when it is free, expired, or held by this same machine (whose local lock the
-- caller holds: the old holder there is gone). Returns the new epoch, or NULL when another
-- holds it. Only for a member row of the calling database user.
CREATE FUNCTION lease_take(p_template uuid, p_member uuid, p_name text, p_machine text, p_ttl_ms integer)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    taken bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM members
                   WHERE id = p_member AND db_user = session_user AND left_at IS NULL) THEN
        RAISE EXCEPTION 'database user % is not that member of the team', session_user
            USING ERRCODE = '42501';
    END IF;
    INSERT INTO leases AS l (template_id, epoch, member_id, member_name, machine_id, taken_at, renewed_at, expires_at)
    VALUES (p_template, 1, p_member, p_name, p_machine, now(), now(), now() + p_ttl_ms * interval '1 millisecond')
    ON CONFLICT (template_id) DO UPDATE
        SET epoch = l.epoch + 1, member_id = excluded.member_id, member_name = excluded.member_name,
            machine_id = excluded.machine_id, taken_at = now(), renewed_at = now(),
            expires_at = excluded.expires_at
        WHERE l.expires_at <= now() OR l.machine_id = excluded.machine_id
    RETURNING epoch INTO taken;
    RETURN taken;
END $$;

-- The sealed exit password, for the member that holds the template's live lease of `p_epoch`:
-- how a runner, who cannot read the column, gets it for a launch (and only then).
CREATE FUNCTION leased_exit_secret(p_template uuid, p_epoch bigint)
RETURNS bytea LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT t.exit_secret FROM templates t JOIN leases l ON l.template_id = t.id
    JOIN members m ON m.id = l.member_id
    WHERE t.id = p_template AND l.epoch = p_epoch AND l.expires_at > now()
      AND m.db_user = session_user AND m.left_at IS NULL
$$;

-- Extends the lease of `p_epoch` if it is still that epoch and not expired. Returns the new
-- expiry, or NULL when the lease is lost.
CREATE FUNCTION lease_renew(p_template uuid, p_epoch bigint, p_ttl_ms integer)
RETURNS timestamptz LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE leases SET renewed_at = now(), expires_at = now() + p_ttl_ms * interval '1 millisecond'
    WHERE template_id = p_template AND epoch = p_epoch AND expires_at > now()
    RETURNING expires_at
$$;

-- Frees the lease of `p_epoch` (no-op if another holds it now).
CREATE FUNCTION lease_release(p_template uuid, p_epoch bigint)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE leases SET expires_at = now() WHERE template_id = p_template AND epoch = p_epoch
$$;

REVOKE ALL ON FUNCTION lease_take(uuid, uuid, text, text, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION lease_renew(uuid, bigint, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION lease_release(uuid, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION leased_exit_secret(uuid, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lease_take(uuid, uuid, text, text, integer),
    lease_renew(uuid, bigint, integer), lease_release(uuid, bigint),
    leased_exit_secret(uuid, bigint)
    TO holdfast_editor, holdfast_runner;
-- Who holds what (for `already_running` and the app): readable, not writable.
GRANT SELECT ON leases TO holdfast_editor, holdfast_runner;
