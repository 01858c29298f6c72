-- Each agent's load (their open conversations) kept as a counter on the
-- user, so that routing reads a snapshot whose cost does not grow with the
-- conversations agents hold. A trigger keeps it in the transaction of every
-- change of a conversation's assignee or status, whichever statement makes
-- it (routing, resolution, reopening, removal, deletion); a message's
-- update of the conversation names neither column and fires none.

ALTER TABLE users ADD COLUMN open_load bigint NOT NULL DEFAULT 0;

UPDATE users u SET open_load = (
    SELECT count(*) FROM conversations c
     WHERE c.assignee_id = u.id AND c.status = 'open'
);

CREATE FUNCTION agent_load() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 'open' AND OLD.assignee_id IS NOT NULL THEN
        UPDATE users SET open_load = open_load - 1 WHERE id = OLD.assignee_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status = 'open' AND NEW.assignee_id IS NOT NULL THEN
        UPDATE users SET open_load = open_load + 1 WHERE id = NEW.assignee_id;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER agent_load_created AFTER INSERT ON conversations
    FOR EACH ROW WHEN (NEW.assignee_id IS NOT NULL AND NEW.status = 'open')
    EXECUTE FUNCTION agent_load();

CREATE TRIGGER agent_load_moved AFTER UPDATE OF assignee_id, status ON conversations
    FOR EACH ROW WHEN (OLD.assignee_id IS DISTINCT FROM NEW.assignee_id
                       OR OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION agent_load();

CREATE TRIGGER agent_load_deleted AFTER DELETE ON conversations
    FOR EACH ROW WHEN (OLD.assignee_id IS NOT NULL AND OLD.status = 'open')
    EXECUTE FUNCTION agent_load();
