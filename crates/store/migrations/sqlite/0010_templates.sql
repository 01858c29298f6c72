-- Message templates (canned replies, docs/MODULES.md): each in a group of
-- its account, usable in that group's subtree; a shortcut is unique in
-- the account.

CREATE TABLE templates (
    id          BLOB PRIMARY KEY NOT NULL,
    account_id  BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    group_id    BLOB NOT NULL REFERENCES groups (id),
    name        TEXT NOT NULL,
    shortcut    TEXT,
    body        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX templates_account ON templates (account_id);
CREATE INDEX templates_group ON templates (group_id);
CREATE UNIQUE INDEX templates_shortcut ON templates (account_id, shortcut)
    WHERE shortcut IS NOT NULL;
