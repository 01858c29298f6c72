-- Routing: agents' availability and consoles, teams, the Unassigned queue,
-- the assignment history.
--
-- Every user whose role may answer (owner, admin, operator) is an agent.
-- Online means a console open on some node: a row in agent_sessions per
-- (user, node). offline_since is set when the last one goes (NULL while
-- online, and for an agent who never connected: their created_at counts).
-- Times here are on the database clock, shared by every node.
--
-- Every routing write of an account runs under that account's lock (a
-- transaction-level advisory lock keyed by the account id, see the store's
-- postgres/routing.rs), which is what keeps loads within capacity and the
-- queue in order across nodes.
ALTER TABLE users ADD COLUMN availability text NOT NULL DEFAULT 'available'
    CHECK (availability IN ('available', 'away'));
ALTER TABLE users ADD COLUMN last_assigned_at timestamptz;
ALTER TABLE users ADD COLUMN offline_since timestamptz;

CREATE TABLE agent_sessions (
    user_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    node_id  uuid NOT NULL,
    since    timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
    PRIMARY KEY (user_id, node_id)
);
CREATE INDEX agent_sessions_node ON agent_sessions (node_id);

CREATE TABLE teams (
    id          uuid PRIMARY KEY,
    account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
    CONSTRAINT teams_account_name_key UNIQUE (account_id, name)
);

CREATE TABLE team_members (
    team_id  uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id);

-- NULL: the inbox routes to every agent of the account.
ALTER TABLE inboxes ADD COLUMN team_id uuid REFERENCES teams (id) ON DELETE SET NULL;

-- The Unassigned queue: an open conversation without an assignee has a
-- queue_key, taken when it entered the queue inside the serialized routing
-- transaction (one more than the account's largest), so keys order the
-- queue by arrival. NULL for every other conversation.
ALTER TABLE conversations ADD COLUMN queue_key bigint;
UPDATE conversations
   SET queue_key = ranked.n
  FROM (SELECT id, row_number() OVER (PARTITION BY account_id ORDER BY created_at, id) AS n
          FROM conversations
         WHERE status = 'open' AND assignee_id IS NULL) AS ranked
 WHERE conversations.id = ranked.id;
ALTER TABLE conversations ADD CONSTRAINT conversations_queued_are_open_unassigned
    CHECK (queue_key IS NULL OR (status = 'open' AND assignee_id IS NULL));
CREATE INDEX conversations_queue
    ON conversations (account_id, queue_key)
    WHERE queue_key IS NOT NULL;
-- An agent's load: their open conversations, counted in the transaction.
CREATE INDEX conversations_open_assignee
    ON conversations (assignee_id)
    WHERE status = 'open' AND assignee_id IS NOT NULL;

CREATE TABLE assignment_log (
    id               bigserial PRIMARY KEY,
    conversation_id  uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    kind             text NOT NULL CHECK (kind IN
        ('auto', 'manual', 'forced', 'unassigned', 'requeued', 'resolved', 'reopened')),
    assignee_id      uuid REFERENCES users (id) ON DELETE SET NULL,
    actor_id         uuid REFERENCES users (id) ON DELETE SET NULL,
    at               timestamptz NOT NULL
);
CREATE INDEX assignment_log_conversation ON assignment_log (conversation_id, id);
