-- Each agent's load (their open conversations) kept as a counter on the
-- user, so that routing reads a snapshot whose cost does not grow with the
-- conversations agents hold. Triggers keep it in the transaction of every
-- change of a conversation's assignee or status, whichever statement makes
-- it (routing, resolution, reopening, removal, deletion); a message's
-- update of the conversation names neither column and fires none.

ALTER TABLE users ADD COLUMN open_load INTEGER NOT NULL DEFAULT 0;

UPDATE users SET open_load = (
    SELECT count(*) FROM conversations c
     WHERE c.assignee_id = users.id AND c.status = 'open'
);

CREATE TRIGGER agent_load_created AFTER INSERT ON conversations
    WHEN NEW.assignee_id IS NOT NULL AND NEW.status = 'open'
BEGIN
    UPDATE users SET open_load = open_load + 1 WHERE id = NEW.assignee_id;
END;

CREATE TRIGGER agent_load_moved AFTER UPDATE OF assignee_id, status ON conversations
    WHEN OLD.assignee_id IS NOT NEW.assignee_id OR OLD.status IS NOT NEW.status
BEGIN
    UPDATE users SET open_load = open_load - 1
     WHERE OLD.status = 'open' AND id = OLD.assignee_id;
    UPDATE users SET open_load = open_load + 1
     WHERE NEW.status = 'open' AND id = NEW.assignee_id;
END;

CREATE TRIGGER agent_load_deleted AFTER DELETE ON conversations
    WHEN OLD.assignee_id IS NOT NULL AND OLD.status = 'open'
BEGIN
    UPDATE users SET open_load = open_load - 1 WHERE id = OLD.assignee_id;
END;
