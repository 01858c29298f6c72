-- Outbound webhooks (docs/MODULES.md, "Webhooks"): an account's
-- subscriptions, and the durable outbox of their deliveries.
--
-- A delivery is written by the triggers below, in the transaction of the
-- change that causes it (a message stored, a conversation created,
-- assigned, resolved or reopened), so a crash cannot lose one; and only
-- when the account has an active webhook subscribed to the event (one
-- indexed look-up otherwise). Senders claim due deliveries for a lease,
-- as for mails (`claim`, `lease_until`).

CREATE TABLE webhooks (
    id              BLOB PRIMARY KEY NOT NULL,
    account_id      BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    url             TEXT NOT NULL,
    -- the events subscribed to, separated by single spaces
    events          TEXT NOT NULL,
    -- the signing secret sealed with the server's key (never in clear)
    secret_sealed   TEXT NOT NULL,
    -- whether the creator held messages.read_bodies at the root
    include_bodies  INTEGER NOT NULL,
    active          INTEGER NOT NULL DEFAULT 1,
    created_by      BLOB REFERENCES users (id) ON DELETE SET NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX webhooks_account ON webhooks (account_id);

-- `seq` orders the events as they happened; `rank` puts a conversation's
-- creation before everything else of it (a statement that creates a
-- conversation with its first message fires both in no set order).
CREATE TABLE webhook_deliveries (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               BLOB NOT NULL UNIQUE,
    webhook_id       BLOB NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event            TEXT NOT NULL,
    rank             INTEGER NOT NULL,
    conversation_id  BLOB NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    message_id       BLOB,
    -- the conversation's status and assignee when the event happened
    status_then      TEXT NOT NULL,
    assignee_then    BLOB,
    state            TEXT NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    -- NULL: due at once
    next_attempt_at  INTEGER,
    lease_until      INTEGER,
    claim            BLOB,
    created_at       INTEGER NOT NULL,
    finished_at      INTEGER
);
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook_id, seq);
CREATE INDEX webhook_deliveries_pending
    ON webhook_deliveries (webhook_id, conversation_id, rank, seq)
    WHERE state = 'pending';
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (seq) WHERE state = 'pending';

CREATE TABLE webhook_attempts (
    delivery_id  BLOB NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    n            INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    http_status  INTEGER,
    error        TEXT,
    duration_ms  INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, n)
);

CREATE TRIGGER webhooks_message_created AFTER INSERT ON messages
BEGIN
    INSERT INTO webhook_deliveries (id, webhook_id, event, rank, conversation_id, message_id,
                                    status_then, assignee_then, created_at)
    SELECT randomblob(16), w.id, 'message.created', 1, c.id, NEW.id,
           c.status, c.assignee_id, NEW.created_at
      FROM conversations c JOIN webhooks w ON w.account_id = c.account_id
     WHERE c.id = NEW.conversation_id AND w.active = 1
       AND (' ' || w.events || ' ') LIKE '% message.created %';
END;

CREATE TRIGGER webhooks_conversation_created AFTER INSERT ON conversations
BEGIN
    INSERT INTO webhook_deliveries (id, webhook_id, event, rank, conversation_id,
                                    status_then, assignee_then, created_at)
    SELECT randomblob(16), w.id, 'conversation.created', 0, NEW.id,
           NEW.status, NEW.assignee_id, NEW.created_at
      FROM webhooks w
     WHERE w.account_id = NEW.account_id AND w.active = 1
       AND (' ' || w.events || ' ') LIKE '% conversation.created %';
END;

-- One trigger for the three changes, so that a change that reopens and
-- assigns at once tells them in that order.
CREATE TRIGGER webhooks_conversation_changed AFTER UPDATE OF status, assignee_id ON conversations
BEGIN
    INSERT INTO webhook_deliveries (id, webhook_id, event, rank, conversation_id,
                                    status_then, assignee_then, created_at)
    SELECT randomblob(16), w.id, 'conversation.reopened', 1, NEW.id,
           NEW.status, NEW.assignee_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
      FROM webhooks w
     WHERE OLD.status = 'resolved' AND NEW.status = 'open'
       AND w.account_id = NEW.account_id AND w.active = 1
       AND (' ' || w.events || ' ') LIKE '% conversation.reopened %';
    INSERT INTO webhook_deliveries (id, webhook_id, event, rank, conversation_id,
                                    status_then, assignee_then, created_at)
    SELECT randomblob(16), w.id, 'conversation.resolved', 1, NEW.id,
           NEW.status, NEW.assignee_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
      FROM webhooks w
     WHERE OLD.status = 'open' AND NEW.status = 'resolved'
       AND w.account_id = NEW.account_id AND w.active = 1
       AND (' ' || w.events || ' ') LIKE '% conversation.resolved %';
    INSERT INTO webhook_deliveries (id, webhook_id, event, rank, conversation_id,
                                    status_then, assignee_then, created_at)
    SELECT randomblob(16), w.id, 'conversation.assigned', 1, NEW.id,
           NEW.status, NEW.assignee_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
      FROM webhooks w
     WHERE NEW.assignee_id IS NOT NULL
       AND (OLD.assignee_id IS NULL OR OLD.assignee_id <> NEW.assignee_id)
       AND w.account_id = NEW.account_id AND w.active = 1
       AND (' ' || w.events || ' ') LIKE '% conversation.assigned %';
END;
