-- Personal folders (saved filters of the conversation list,
-- docs/MODULES.md): each belongs to one user and goes with them. The
-- filter is the JSON object the API takes; a name is unique per user.

CREATE TABLE folders (
    id          uuid PRIMARY KEY,
    account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        text NOT NULL,
    filter      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now())
);
CREATE UNIQUE INDEX folders_user_name ON folders (user_id, name);
