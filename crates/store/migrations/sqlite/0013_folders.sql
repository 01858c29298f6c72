-- Personal folders (saved filters of the conversation list,
-- docs/MODULES.md): each belongs to one user and goes with them. The
-- filter is the JSON object the API takes; a name is unique per user.

CREATE TABLE folders (
    id          BLOB PRIMARY KEY NOT NULL,
    account_id  BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id     BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    filter      TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX folders_user_name ON folders (user_id, name);
