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
    id              uuid PRIMARY KEY,
    account_id      uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    url             text NOT NULL,
    -- the events subscribed to, separated by single spaces
    events          text NOT NULL,
    -- the signing secret sealed with the server's key (never in clear)
    secret_sealed   text NOT NULL,
    -- whether the creator held messages.read_bodies at the root
    include_bodies  boolean NOT NULL,
    active          boolean NOT NULL DEFAULT true,
    created_by      uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL
);
CREATE INDEX webhooks_account ON webhooks (account_id);

-- `seq` orders the events as they happened (a conversation's events are
-- written under its row's lock, so in the order they commit); `rank` puts
-- a conversation's creation before everything else of it (a statement
-- that creates a conversation with its first message fires both in no set
-- order).
CREATE TABLE webhook_deliveries (
    seq              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id               uuid NOT NULL UNIQUE,
    webhook_id       uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event            text NOT NULL,
    rank             integer NOT NULL,
    conversation_id  uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    message_id       uuid,
    -- the conversation's status and assignee when the event happened
    status_then      text NOT NULL,
    assignee_then    uuid,
    state            text NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts         bigint NOT NULL DEFAULT 0,
    -- NULL: due at once
    next_attempt_at  timestamptz,
    lease_until      timestamptz,
    claim            uuid,
    created_at       timestamptz NOT NULL,
    finished_at      timestamptz
);
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook_id, seq);
CREATE INDEX webhook_deliveries_pending
    ON webhook_deliveries (webhook_id, conversation_id, rank, seq)
    WHERE state = 'pending';
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (seq) WHERE state = 'pending';

CREATE TABLE webhook_attempts (
    delivery_id  uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    n            bigint NOT NULL,
    at           timestamptz NOT NULL,
    http_status  bigint,
    error        text,
    duration_ms  bigint NOT NULL,
    PRIMARY KEY (delivery_id, n)
);

-- One delivery of `event` per active webhook of the account subscribed to it.
CREATE FUNCTION webhook_enqueue(p_account uuid, p_event text, p_conversation uuid,
                                p_message uuid, p_status text, p_assignee uuid,
                                p_at timestamptz) RETURNS void LANGUAGE sql AS $$
    INSERT INTO webhook_deliveries (id, webhook_id, event, rank, conversation_id, message_id,
                                    status_then, assignee_then, created_at)
    SELECT gen_random_uuid(), w.id, p_event,
           CASE WHEN p_event = 'conversation.created' THEN 0 ELSE 1 END,
           p_conversation, p_message, p_status, p_assignee, p_at
      FROM webhooks w
     WHERE w.account_id = p_account AND w.active
       AND (' ' || w.events || ' ') LIKE '% ' || p_event || ' %';
$$;

CREATE FUNCTION webhooks_message_created() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    c conversations%ROWTYPE;
BEGIN
    SELECT * INTO c FROM conversations WHERE id = NEW.conversation_id;
    PERFORM webhook_enqueue(c.account_id, 'message.created', c.id, NEW.id,
                            c.status, c.assignee_id, NEW.created_at);
    RETURN NULL;
END;
$$;
CREATE TRIGGER webhooks_message_created AFTER INSERT ON messages
FOR EACH ROW EXECUTE FUNCTION webhooks_message_created();

-- One function for the four changes, so that a change that reopens and
-- assigns at once tells them in that order.
CREATE FUNCTION webhooks_conversation_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    at timestamptz := date_trunc('milliseconds', now());
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM webhook_enqueue(NEW.account_id, 'conversation.created', NEW.id, NULL,
                                NEW.status, NEW.assignee_id, NEW.created_at);
        RETURN NULL;
    END IF;
    IF OLD.status = 'resolved' AND NEW.status = 'open' THEN
        PERFORM webhook_enqueue(NEW.account_id, 'conversation.reopened', NEW.id, NULL,
                                NEW.status, NEW.assignee_id, at);
    END IF;
    IF OLD.status = 'open' AND NEW.status = 'resolved' THEN
        PERFORM webhook_enqueue(NEW.account_id, 'conversation.resolved', NEW.id, NULL,
                                NEW.status, NEW.assignee_id, at);
    END IF;
    IF NEW.assignee_id IS NOT NULL AND NEW.assignee_id IS DISTINCT FROM OLD.assignee_id THEN
        PERFORM webhook_enqueue(NEW.account_id, 'conversation.assigned', NEW.id, NULL,
                                NEW.status, NEW.assignee_id, at);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER webhooks_conversation_changed
AFTER INSERT OR UPDATE OF status, assignee_id ON conversations
FOR EACH ROW EXECUTE FUNCTION webhooks_conversation_changed();
