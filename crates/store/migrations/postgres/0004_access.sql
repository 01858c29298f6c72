-- Access (DESIGN §6.3): each account a tree of groups, custom roles, and
-- grants (user, role, group); every inbox in a group.
--
-- users.role stays for now (the server still reads it); the store keeps it
-- and the user's root grant consistent for the users it creates.

CREATE TABLE groups (
    id          uuid PRIMARY KEY,
    account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name        text NOT NULL,
    -- NULL for the account's root group, created with the account
    parent_id   uuid REFERENCES groups (id),
    created_at  timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now())
);
CREATE UNIQUE INDEX groups_one_root ON groups (account_id) WHERE parent_id IS NULL;
CREATE INDEX groups_account ON groups (account_id);
CREATE INDEX groups_parent ON groups (parent_id);

CREATE TABLE custom_roles (
    id           uuid PRIMARY KEY,
    account_id   uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name         text NOT NULL,
    -- the permission ids of the catalogue, separated by spaces
    permissions  text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
    CONSTRAINT custom_roles_name_key UNIQUE (account_id, name)
);

-- role: a built-in role's id, or a custom role's id as text
CREATE TABLE grants (
    user_id   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role      text NOT NULL,
    group_id  uuid NOT NULL REFERENCES groups (id),
    PRIMARY KEY (user_id, role, group_id)
);
CREATE INDEX grants_group ON grants (group_id);
CREATE INDEX grants_role ON grants (role);

ALTER TABLE inboxes ADD COLUMN group_id uuid REFERENCES groups (id);
CREATE INDEX inboxes_group ON inboxes (group_id);

-- Backfill: a root group per account, one grant at the root per user
-- matching their old role, every inbox at the root.
INSERT INTO groups (id, account_id, name, parent_id, created_at)
SELECT gen_random_uuid(), id, name, NULL, created_at FROM accounts;

INSERT INTO grants (user_id, role, group_id)
SELECT u.id, CASE u.role WHEN 'admin' THEN 'administrator' ELSE u.role END, g.id
FROM users u JOIN groups g ON g.account_id = u.account_id AND g.parent_id IS NULL;

UPDATE inboxes i SET group_id = g.id
FROM groups g WHERE g.account_id = i.account_id AND g.parent_id IS NULL;

ALTER TABLE inboxes ALTER COLUMN group_id SET NOT NULL;
