-- Users' lifecycle, ownership and sessions (docs/PEOPLE.md).
--
-- A removed user keeps their row (their messages keep their author's
-- name) with removed_at set and their email rewritten to a tombstone, so
-- that the address may be used again.

ALTER TABLE users ADD COLUMN removed_at INTEGER;

-- A login session's id, for the sessions API (the token hash is never
-- shown). SQLite cannot add a column with a random default: a trigger
-- gives each new session one, and existing sessions get one here.
ALTER TABLE login_sessions ADD COLUMN id BLOB;
UPDATE login_sessions SET id = randomblob(16) WHERE id IS NULL;
CREATE UNIQUE INDEX login_sessions_id ON login_sessions (id);

CREATE TRIGGER login_sessions_id_given AFTER INSERT ON login_sessions
WHEN NEW.id IS NULL
BEGIN
    UPDATE login_sessions SET id = randomblob(16) WHERE token_hash = NEW.token_hash;
END;

-- Exactly one owner per account, held by the database: ownership is the
-- `owner` role granted at the account's root group. At most one such grant
-- per group (the index), only at a root group (the first trigger), so at
-- most one per account; and it is never deleted nor turned into another
-- grant (the other triggers), so never none: only its holder changes, in
-- one statement (a transfer).
CREATE UNIQUE INDEX grants_one_owner ON grants (group_id) WHERE role = 'owner';

CREATE TRIGGER grants_owner_at_root BEFORE INSERT ON grants
WHEN NEW.role = 'owner'
    AND NOT EXISTS (SELECT 1 FROM groups WHERE id = NEW.group_id AND parent_id IS NULL)
BEGIN
    SELECT RAISE(ABORT, 'ownership is the owner role at the root group');
END;

CREATE TRIGGER grants_owner_kept BEFORE DELETE ON grants
WHEN OLD.role = 'owner'
BEGIN
    SELECT RAISE(ABORT, 'an account keeps its owner: ownership is only transferred');
END;

CREATE TRIGGER grants_owner_moved BEFORE UPDATE ON grants
WHEN (OLD.role = 'owner' AND (NEW.role IS NOT 'owner' OR NEW.group_id IS NOT OLD.group_id))
    OR (NEW.role = 'owner' AND OLD.role IS NOT 'owner')
BEGIN
    SELECT RAISE(ABORT, 'an account keeps its owner: ownership is only transferred');
END;
