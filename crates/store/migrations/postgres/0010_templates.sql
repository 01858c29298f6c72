-- Message templates (canned replies, docs/MODULES.md): each in a group of
-- its account, usable in that group's subtree; a shortcut is unique in
-- the account.

CREATE TABLE templates (
    id          uuid PRIMARY KEY,
    account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    group_id    uuid NOT NULL REFERENCES groups (id),
    name        text NOT NULL,
    shortcut    text,
    body        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now())
);
CREATE INDEX templates_account ON templates (account_id);
CREATE INDEX templates_group ON templates (group_id);
CREATE UNIQUE INDEX templates_shortcut ON templates (account_id, shortcut)
    WHERE shortcut IS NOT NULL;
