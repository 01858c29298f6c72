-- Switchboard schema, Postgres flavour.
-- Times are timestamptz truncated to milliseconds when written, so both
-- backends hand callers identical values. Lease times (lock_until) are on the
-- database clock only: every comparison uses now(), never the process clock.
-- The active role (lock_*) lives on the conversation row itself so that the
-- fencing check and the message insert touch one row in one transaction.

CREATE TABLE accounts (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now())
);

CREATE TABLE users (
    id             uuid PRIMARY KEY,
    account_id     uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- stored lowercased: emails are unique case-insensitively
    email          text NOT NULL,
    name           text NOT NULL,
    role           text NOT NULL,
    capacity       bigint NOT NULL DEFAULT 0 CHECK (capacity >= 0),
    -- an argon2 PHC string computed by the caller
    password_hash  text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
    CONSTRAINT users_email_key UNIQUE (email)
);
CREATE INDEX users_account ON users (account_id);

CREATE TABLE login_sessions (
    token_hash  bytea PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX login_sessions_user ON login_sessions (user_id);

CREATE TABLE inboxes (
    id          uuid PRIMARY KEY,
    account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name        text NOT NULL,
    channel     text NOT NULL,
    key_hash    bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
    CONSTRAINT inboxes_key_hash_key UNIQUE (key_hash)
);
CREATE INDEX inboxes_account ON inboxes (account_id);

CREATE TABLE contacts (
    id          uuid PRIMARY KEY,
    account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    handle      text NOT NULL,
    name        text,
    created_at  timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
    CONSTRAINT contacts_account_handle_key UNIQUE (account_id, handle)
);

CREATE TABLE conversations (
    id               uuid PRIMARY KEY,
    account_id       uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    inbox_id         uuid NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
    contact_id       uuid NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    status           text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    assignee_id      uuid REFERENCES users (id) ON DELETE SET NULL,
    last_seq         bigint NOT NULL DEFAULT 0,
    last_message_at  timestamptz,
    created_at       timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
    -- the active role: holder, fencing epoch (only ever grows), granting node, lease end
    lock_holder      uuid REFERENCES users (id) ON DELETE SET NULL,
    lock_epoch       bigint NOT NULL DEFAULT 0,
    lock_node        uuid,
    lock_until       timestamptz,
    CONSTRAINT conversations_inbox_contact_key UNIQUE (inbox_id, contact_id)
);
CREATE INDEX conversations_account_activity
    ON conversations (account_id, last_message_at DESC NULLS LAST, id DESC);
CREATE INDEX conversations_account_assignee
    ON conversations (account_id, assignee_id, last_message_at DESC NULLS LAST)
    WHERE assignee_id IS NOT NULL;
CREATE INDEX conversations_lock_node
    ON conversations (lock_node)
    WHERE lock_node IS NOT NULL;

CREATE TABLE messages (
    conversation_id  uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq              bigint NOT NULL,
    id               uuid NOT NULL,
    direction        text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    author_id        uuid REFERENCES users (id) ON DELETE SET NULL,
    body             text NOT NULL,
    client_msg_id    text,
    created_at       timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
    PRIMARY KEY (conversation_id, seq),
    CONSTRAINT messages_id_key UNIQUE (id)
);
CREATE UNIQUE INDEX messages_client_msg_id
    ON messages (conversation_id, client_msg_id)
    WHERE client_msg_id IS NOT NULL;
