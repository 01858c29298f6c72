-- Switchboard schema, SQLite flavour.
-- Ids are 16-byte BLOBs (uuid v7), times INTEGER unix milliseconds (UTC).
-- The active role (lock_*) lives on the conversation row itself so that the
-- fencing check and the message insert touch one row in one transaction.

CREATE TABLE accounts (
    id          BLOB PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE users (
    id             BLOB PRIMARY KEY NOT NULL,
    account_id     BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- stored lowercased: emails are unique case-insensitively
    email          TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    role           TEXT NOT NULL,
    capacity       INTEGER NOT NULL DEFAULT 0 CHECK (capacity >= 0),
    -- an argon2 PHC string computed by the caller
    password_hash  TEXT NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX users_account ON users (account_id);

CREATE TABLE login_sessions (
    token_hash  BLOB PRIMARY KEY NOT NULL,
    user_id     BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX login_sessions_user ON login_sessions (user_id);

CREATE TABLE inboxes (
    id          BLOB PRIMARY KEY NOT NULL,
    account_id  BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    channel     TEXT NOT NULL,
    key_hash    BLOB NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);
CREATE INDEX inboxes_account ON inboxes (account_id);

CREATE TABLE contacts (
    id          BLOB PRIMARY KEY NOT NULL,
    account_id  BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    handle      TEXT NOT NULL,
    name        TEXT,
    created_at  INTEGER NOT NULL,
    UNIQUE (account_id, handle)
);

CREATE TABLE conversations (
    id               BLOB PRIMARY KEY NOT NULL,
    account_id       BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    inbox_id         BLOB NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
    contact_id       BLOB NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    status           TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    assignee_id      BLOB REFERENCES users (id) ON DELETE SET NULL,
    last_seq         INTEGER NOT NULL DEFAULT 0,
    last_message_at  INTEGER,
    created_at       INTEGER NOT NULL,
    -- the active role: holder, fencing epoch (only ever grows), granting node, lease end
    lock_holder      BLOB REFERENCES users (id) ON DELETE SET NULL,
    lock_epoch       INTEGER NOT NULL DEFAULT 0,
    lock_node        BLOB,
    lock_until       INTEGER,
    UNIQUE (inbox_id, contact_id)
);
CREATE INDEX conversations_account_activity
    ON conversations (account_id, last_message_at DESC, id DESC);
CREATE INDEX conversations_account_assignee
    ON conversations (account_id, assignee_id, last_message_at DESC)
    WHERE assignee_id IS NOT NULL;
CREATE INDEX conversations_lock_node
    ON conversations (lock_node)
    WHERE lock_node IS NOT NULL;

CREATE TABLE messages (
    conversation_id  BLOB NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq              INTEGER NOT NULL,
    id               BLOB NOT NULL UNIQUE,
    direction        TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    author_id        BLOB REFERENCES users (id) ON DELETE SET NULL,
    body             TEXT NOT NULL,
    client_msg_id    TEXT,
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);
CREATE UNIQUE INDEX messages_client_msg_id
    ON messages (conversation_id, client_msg_id)
    WHERE client_msg_id IS NOT NULL;
