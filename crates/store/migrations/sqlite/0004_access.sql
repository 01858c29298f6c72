-- Access (DESIGN §6.3): each account a tree of groups, custom roles, and
-- grants (user, role, group); every inbox in a group.
--
-- users.role stays for now (the server still reads it); the store keeps it
-- and the user's root grant consistent for the users it creates.

CREATE TABLE groups (
    id          BLOB PRIMARY KEY NOT NULL,
    account_id  BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    -- NULL for the account's root group, created with the account
    parent_id   BLOB REFERENCES groups (id),
    created_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX groups_one_root ON groups (account_id) WHERE parent_id IS NULL;
CREATE INDEX groups_account ON groups (account_id);
CREATE INDEX groups_parent ON groups (parent_id);

CREATE TABLE custom_roles (
    id           BLOB PRIMARY KEY NOT NULL,
    account_id   BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    -- the permission ids of the catalogue, separated by spaces
    permissions  TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (account_id, name)
);

-- role: a built-in role's id, or a custom role's id as text
CREATE TABLE grants (
    user_id   BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role      TEXT NOT NULL,
    group_id  BLOB NOT NULL REFERENCES groups (id),
    PRIMARY KEY (user_id, role, group_id)
);
CREATE INDEX grants_group ON grants (group_id);
CREATE INDEX grants_role ON grants (role);

-- SQLite cannot add a NOT NULL reference to a table with rows: the
-- column is added, filled, and the triggers below keep it filled.
ALTER TABLE inboxes ADD COLUMN group_id BLOB REFERENCES groups (id);
CREATE INDEX inboxes_group ON inboxes (group_id);

-- Backfill: a root group per account (named after it, with a random id),
-- one grant at the root per user matching their old role, every inbox at
-- the root.
INSERT INTO groups (id, account_id, name, parent_id, created_at)
SELECT randomblob(16), id, name, NULL, created_at FROM accounts;

INSERT INTO grants (user_id, role, group_id)
SELECT u.id, CASE u.role WHEN 'admin' THEN 'administrator' ELSE u.role END, g.id
FROM users u JOIN groups g ON g.account_id = u.account_id AND g.parent_id IS NULL;

UPDATE inboxes SET group_id = (
    SELECT g.id FROM groups g WHERE g.account_id = inboxes.account_id AND g.parent_id IS NULL
);

CREATE TRIGGER inboxes_group_required_insert BEFORE INSERT ON inboxes
WHEN NEW.group_id IS NULL
BEGIN
    SELECT RAISE(ABORT, 'inboxes.group_id may not be NULL');
END;

CREATE TRIGGER inboxes_group_required_update BEFORE UPDATE OF group_id ON inboxes
WHEN NEW.group_id IS NULL
BEGIN
    SELECT RAISE(ABORT, 'inboxes.group_id may not be NULL');
END;
