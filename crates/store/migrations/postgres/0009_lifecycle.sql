-- Users' lifecycle, ownership and sessions (docs/PEOPLE.md).
--
-- A removed user keeps their row (their messages keep their author's
-- name) with removed_at set and their email rewritten to a tombstone, so
-- that the address may be used again.

ALTER TABLE users ADD COLUMN removed_at timestamptz;

-- A login session's id, for the sessions API (the token hash is never
-- shown); existing sessions get one too.
ALTER TABLE login_sessions ADD COLUMN id uuid NOT NULL DEFAULT gen_random_uuid();
CREATE UNIQUE INDEX login_sessions_id ON login_sessions (id);

-- Exactly one owner per account, held by the database: ownership is the
-- `owner` role granted at the account's root group. At most one such grant
-- per group (the index), only at a root group (the trigger on insert), so
-- at most one per account; and it is never deleted nor turned into another
-- grant (the trigger on update and delete), so never none: only its holder
-- changes, in one statement (a transfer).
CREATE UNIQUE INDEX grants_one_owner ON grants (group_id) WHERE role = 'owner';

CREATE FUNCTION grants_owner_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.role = 'owner' AND NOT EXISTS (
            SELECT 1 FROM groups WHERE id = NEW.group_id AND parent_id IS NULL
        ) THEN
            RAISE EXCEPTION 'ownership is the owner role at the root group'
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    ELSIF TG_OP = 'DELETE' THEN
        IF OLD.role = 'owner' THEN
            RAISE EXCEPTION 'an account keeps its owner: ownership is only transferred'
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN OLD;
    ELSE
        IF (OLD.role = 'owner' AND (NEW.role <> 'owner' OR NEW.group_id <> OLD.group_id))
            OR (NEW.role = 'owner' AND OLD.role <> 'owner') THEN
            RAISE EXCEPTION 'an account keeps its owner: ownership is only transferred'
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END IF;
END
$$;

CREATE TRIGGER grants_owner_guard BEFORE INSERT OR UPDATE OR DELETE ON grants
FOR EACH ROW EXECUTE FUNCTION grants_owner_guard();
