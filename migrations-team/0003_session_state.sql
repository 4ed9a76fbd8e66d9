-- The session travels with the account (#15): on a clean stop the holder stores the profile's
-- session state (cookies and local storage), sealed with the team key, under the lease epoch
-- that wrote it. Only the live lease holder may write or read it, through these functions.

CREATE TABLE session_states (
    template_id uuid PRIMARY KEY REFERENCES templates (id) ON DELETE CASCADE,
    epoch       bigint NOT NULL,
    sealed      bytea NOT NULL,
    saved_by    text NOT NULL,
    saved_at    timestamptz NOT NULL DEFAULT now()
);

-- True when the calling database user's member holds the template's live lease of `p_epoch`.
CREATE FUNCTION holds_lease(p_template uuid, p_epoch bigint)
RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM leases l JOIN members m ON m.id = l.member_id
                   WHERE l.template_id = p_template AND l.epoch = p_epoch AND l.expires_at > now()
                     AND m.db_user = session_user AND m.left_at IS NULL)
$$;

-- Stores the state written under lease `p_epoch` (never over a state of a newer epoch).
CREATE FUNCTION state_save(p_template uuid, p_epoch bigint, p_sealed bytea, p_by text)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NOT holds_lease(p_template, p_epoch) THEN
        RETURN false;
    END IF;
    IF octet_length(p_sealed) > 16 * 1024 * 1024 + 65536 THEN
        RAISE EXCEPTION 'session state of % bytes is over the 16 MiB cap', octet_length(p_sealed)
            USING ERRCODE = '54000';
    END IF;
    INSERT INTO session_states AS s (template_id, epoch, sealed, saved_by)
    VALUES (p_template, p_epoch, p_sealed, p_by)
    ON CONFLICT (template_id) DO UPDATE
        SET epoch = excluded.epoch, sealed = excluded.sealed, saved_by = excluded.saved_by,
            saved_at = now()
        WHERE s.epoch <= excluded.epoch;
    RETURN true;
END $$;

-- The latest stored state of a template, for the holder of its live lease of `p_epoch`.
CREATE FUNCTION state_latest(p_template uuid, p_epoch bigint)
RETURNS TABLE (epoch bigint, sealed bytea) LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp AS $$
    SELECT s.epoch, s.sealed FROM session_states s
    WHERE s.template_id = p_template AND holds_lease(p_template, p_epoch)
$$;

REVOKE ALL ON FUNCTION holds_lease(uuid, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION state_save(uuid, bigint, bytea, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION state_latest(uuid, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION holds_lease(uuid, bigint), state_save(uuid, bigint, bytea, text),
    state_latest(uuid, bigint) TO holdfast_editor, holdfast_runner;
