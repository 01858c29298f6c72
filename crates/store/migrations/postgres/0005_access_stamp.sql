-- An account's access stamp: a counter that every change of its groups,
-- custom roles, grants or inbox placement raises, in the same transaction
-- (the triggers below), whoever makes it: a server node or the command
-- line. A server compares the stamp it loaded an account's access with
-- against the stored one to learn of changes nobody told it about (a
-- command, or a bus message lost).

ALTER TABLE accounts ADD COLUMN access_stamp bigint NOT NULL DEFAULT 0;

CREATE FUNCTION access_stamp_raise() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed record;
    stamped uuid;
BEGIN
    IF TG_OP = 'DELETE' THEN
        changed := OLD;
    ELSE
        changed := NEW;
    END IF;
    IF TG_TABLE_NAME = 'grants' THEN
        SELECT account_id INTO stamped FROM users WHERE id = changed.user_id;
    ELSE
        stamped := changed.account_id;
    END IF;
    UPDATE accounts SET access_stamp = access_stamp + 1 WHERE id = stamped;
    RETURN NULL;
END
$$;

CREATE TRIGGER access_stamp_groups AFTER INSERT OR UPDATE OR DELETE ON groups
FOR EACH ROW EXECUTE FUNCTION access_stamp_raise();
CREATE TRIGGER access_stamp_roles AFTER INSERT OR UPDATE OR DELETE ON custom_roles
FOR EACH ROW EXECUTE FUNCTION access_stamp_raise();
CREATE TRIGGER access_stamp_grants AFTER INSERT OR UPDATE OR DELETE ON grants
FOR EACH ROW EXECUTE FUNCTION access_stamp_raise();
CREATE TRIGGER access_stamp_inboxes_insert AFTER INSERT ON inboxes
FOR EACH ROW EXECUTE FUNCTION access_stamp_raise();
CREATE TRIGGER access_stamp_inboxes_move AFTER UPDATE OF group_id ON inboxes
FOR EACH ROW WHEN (NEW.group_id IS DISTINCT FROM OLD.group_id)
EXECUTE FUNCTION access_stamp_raise();
