-- Routing: agents' availability and consoles, teams, the Unassigned queue,
-- the assignment history.
--
-- Every user whose role may answer (owner, admin, operator) is an agent.
-- Online means a console open on some node: a row in agent_sessions per
-- (user, node). offline_since is set when the last one goes (NULL while
-- online, and for an agent who never connected: their created_at counts).
ALTER TABLE users ADD COLUMN availability TEXT NOT NULL DEFAULT 'available'
    CHECK (availability IN ('available', 'away'));
ALTER TABLE users ADD COLUMN last_assigned_at INTEGER;
ALTER TABLE users ADD COLUMN offline_since INTEGER;

CREATE TABLE agent_sessions (
    user_id  BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    node_id  BLOB NOT NULL,
    since    INTEGER NOT NULL,
    PRIMARY KEY (user_id, node_id)
);
CREATE INDEX agent_sessions_node ON agent_sessions (node_id);

CREATE TABLE teams (
    id          BLOB PRIMARY KEY NOT NULL,
    account_id  BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (account_id, name)
);

CREATE TABLE team_members (
    team_id  BLOB NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id  BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id);

-- NULL: the inbox routes to every agent of the account.
ALTER TABLE inboxes ADD COLUMN team_id BLOB REFERENCES teams (id) ON DELETE SET NULL;

-- The Unassigned queue: an open conversation without an assignee has a
-- queue_key, taken when it entered the queue inside the serialized routing
-- transaction (one more than the account's largest), so keys order the
-- queue by arrival. NULL for every other conversation.
ALTER TABLE conversations ADD COLUMN queue_key INTEGER;
UPDATE conversations
   SET queue_key = ranked.n
  FROM (SELECT id, row_number() OVER (PARTITION BY account_id ORDER BY created_at, id) AS n
          FROM conversations
         WHERE status = 'open' AND assignee_id IS NULL) AS ranked
 WHERE conversations.id = ranked.id;
-- (Postgres checks this with a CHECK constraint; SQLite cannot add one to
-- an existing table.)
CREATE TRIGGER conversations_queued_are_open_unassigned
BEFORE UPDATE OF queue_key, status, assignee_id ON conversations
WHEN NEW.queue_key IS NOT NULL AND (NEW.status <> 'open' OR NEW.assignee_id IS NOT NULL)
BEGIN
    SELECT RAISE(ABORT, 'a queued conversation must be open and unassigned');
END;
CREATE INDEX conversations_queue
    ON conversations (account_id, queue_key)
    WHERE queue_key IS NOT NULL;
-- An agent's load: their open conversations, counted in the transaction.
CREATE INDEX conversations_open_assignee
    ON conversations (assignee_id)
    WHERE status = 'open' AND assignee_id IS NOT NULL;

CREATE TABLE assignment_log (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id  BLOB NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    kind             TEXT NOT NULL CHECK (kind IN
        ('auto', 'manual', 'forced', 'unassigned', 'requeued', 'resolved', 'reopened')),
    assignee_id      BLOB REFERENCES users (id) ON DELETE SET NULL,
    actor_id         BLOB REFERENCES users (id) ON DELETE SET NULL,
    at               INTEGER NOT NULL
);
CREATE INDEX assignment_log_conversation ON assignment_log (conversation_id, id);
