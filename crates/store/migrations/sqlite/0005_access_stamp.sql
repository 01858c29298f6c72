-- An account's access stamp: a counter that every change of its groups,
-- custom roles, grants or inbox placement raises, in the same transaction
-- (the triggers below), whoever makes it: a server node or the command
-- line. A server compares the stamp it loaded an account's access with
-- against the stored one to learn of changes nobody told it about.

ALTER TABLE accounts ADD COLUMN access_stamp INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER access_stamp_groups_insert AFTER INSERT ON groups
BEGIN
    UPDATE accounts SET access_stamp = access_stamp + 1 WHERE id = NEW.account_id;
END;
CREATE TRIGGER access_stamp_groups_update AFTER UPDATE ON groups
BEGIN
    UPDATE accounts SET access_stamp = access_stamp + 1 WHERE id = NEW.account_id;
END;
CREATE TRIGGER access_stamp_groups_delete AFTER DELETE ON groups
BEGIN
    UPDATE accounts SET access_stamp = access_stamp + 1 WHERE id = OLD.account_id;
END;

CREATE TRIGGER access_stamp_roles_insert AFTER INSERT ON custom_roles
BEGIN
    UPDATE accounts SET access_stamp = access_stamp + 1 WHERE id = NEW.account_id;
END;
CREATE TRIGGER access_stamp_roles_update AFTER UPDATE ON custom_roles
BEGIN
    UPDATE accounts SET access_stamp = access_stamp + 1 WHERE id = NEW.account_id;
END;
CREATE TRIGGER access_stamp_roles_delete AFTER DELETE ON custom_roles
BEGIN
    UPDATE accounts SET access_stamp = access_stamp + 1 WHERE id = OLD.account_id;
END;

CREATE TRIGGER access_stamp_grants_insert AFTER INSERT ON grants
BEGIN
    UPDATE accounts SET access_stamp = access_stamp + 1
    WHERE id = (SELECT account_id FROM users WHERE id = NEW.user_id);
END;
CREATE TRIGGER access_stamp_grants_update AFTER UPDATE ON grants
BEGIN
    UPDATE accounts SET access_stamp = access_stamp + 1
    WHERE id = (SELECT account_id FROM users WHERE id = NEW.user_id);
END;
CREATE TRIGGER access_stamp_grants_delete AFTER DELETE ON grants
BEGIN
    UPDATE accounts SET access_stamp = access_stamp + 1
    WHERE id = (SELECT account_id FROM users WHERE id = OLD.user_id);
END;

CREATE TRIGGER access_stamp_inboxes_insert AFTER INSERT ON inboxes
BEGIN
    UPDATE accounts SET access_stamp = access_stamp + 1 WHERE id = NEW.account_id;
END;
CREATE TRIGGER access_stamp_inboxes_move AFTER UPDATE OF group_id ON inboxes
WHEN NEW.group_id IS NOT OLD.group_id
BEGIN
    UPDATE accounts SET access_stamp = access_stamp + 1 WHERE id = NEW.account_id;
END;
