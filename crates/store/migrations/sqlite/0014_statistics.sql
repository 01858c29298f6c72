-- Message statistics (docs/MODULES.md, "Statistics").
--
-- A conversation is one row per (inbox, contact) that is resolved and opens
-- again, so the figures are kept per *spell*: one row from each opening
-- (the conversation created, or reopened by its customer or by a person)
-- to its resolution. Triggers keep it as messages and the assignment log
-- are written, whichever statement writes them, so no write path has to
-- remember it:
--   opened_at          the conversation created, or reopened
--   first_inbound_at   the spell's first message from the customer
--   first_response_at  the first message an agent wrote after that, and
--   responder_id       who wrote it
--   resolved_at        the resolution that ended the spell, and
--   resolved_assignee_id  who the conversation was assigned to then
-- A spell's row is the conversation's newest (the largest id).

CREATE TABLE conversation_spells (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id       BLOB NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    inbox_id              BLOB NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
    opened_at             INTEGER NOT NULL,
    first_inbound_at      INTEGER,
    first_response_at     INTEGER,
    responder_id          BLOB REFERENCES users (id) ON DELETE SET NULL,
    resolved_at           INTEGER,
    resolved_assignee_id  BLOB REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX conversation_spells_conversation ON conversation_spells (conversation_id, id);
CREATE INDEX conversation_spells_opened ON conversation_spells (inbox_id, opened_at);
CREATE INDEX conversation_spells_resolved ON conversation_spells (inbox_id, resolved_at)
    WHERE resolved_at IS NOT NULL;
-- an agent's first responses and the resolutions counted for them
CREATE INDEX conversation_spells_responder ON conversation_spells (responder_id, opened_at)
    WHERE responder_id IS NOT NULL;
CREATE INDEX conversation_spells_resolved_assignee
    ON conversation_spells (resolved_assignee_id, resolved_at)
    WHERE resolved_assignee_id IS NOT NULL;

-- The statistics' message counts read, per conversation of the inboxes
-- counted that was active in the window (by inbox, last activity and
-- creation, all in the index), its
-- messages of the window from one index that holds every column they
-- need: the work grows with the account's traffic in the window, never
-- with other accounts'.
CREATE INDEX conversations_inbox_activity
    ON conversations (inbox_id, last_message_at, created_at);
CREATE INDEX messages_statistics ON messages (conversation_id, created_at, direction, author_id);

-- Backfill: a spell from each creation and each reopening logged, in time
-- order per conversation (so ids grow with time within a conversation).
INSERT INTO conversation_spells (conversation_id, inbox_id, opened_at)
SELECT conversation_id, inbox_id, opened_at FROM (
    SELECT c.id AS conversation_id, c.inbox_id, c.created_at AS opened_at, 0 AS log_id
      FROM conversations c
    UNION ALL
    SELECT c.id, c.inbox_id, l.at, l.id
      FROM assignment_log l JOIN conversations c ON c.id = l.conversation_id
     WHERE l.kind = 'reopened'
) ORDER BY conversation_id, opened_at, log_id;

-- the first resolution logged before the next spell opens
UPDATE conversation_spells SET resolved_at = (
    SELECT min(l.at) FROM assignment_log l
     WHERE l.conversation_id = conversation_spells.conversation_id
       AND l.kind = 'resolved'
       AND l.at >= conversation_spells.opened_at
       AND l.at < COALESCE((SELECT min(n.opened_at) FROM conversation_spells n
                             WHERE n.conversation_id = conversation_spells.conversation_id
                               AND n.id > conversation_spells.id), 9223372036854775807)
);
-- who was assigned then: the assignee of the last routing line before it
UPDATE conversation_spells SET resolved_assignee_id = (
    SELECT p.assignee_id FROM assignment_log p
     WHERE p.conversation_id = conversation_spells.conversation_id
       AND p.kind <> 'resolved' AND p.at <= conversation_spells.resolved_at
     ORDER BY p.at DESC, p.id DESC LIMIT 1
) WHERE resolved_at IS NOT NULL;
-- the customer's first message after the previous spell's resolution and
-- before this one's end
UPDATE conversation_spells SET first_inbound_at = (
    SELECT min(m.created_at) FROM messages m
     WHERE m.conversation_id = conversation_spells.conversation_id
       AND m.direction = 'inbound'
       AND m.created_at >= COALESCE((SELECT p.resolved_at FROM conversation_spells p
                                      WHERE p.conversation_id = conversation_spells.conversation_id
                                        AND p.id < conversation_spells.id
                                      ORDER BY p.id DESC LIMIT 1), -9223372036854775807)
       AND m.created_at < COALESCE(conversation_spells.resolved_at,
                                   (SELECT min(n.opened_at) FROM conversation_spells n
                                     WHERE n.conversation_id = conversation_spells.conversation_id
                                       AND n.id > conversation_spells.id),
                                   9223372036854775807)
);
-- an agent's first message after that, before the spell's end
UPDATE conversation_spells SET first_response_at = (
    SELECT min(m.created_at) FROM messages m
     WHERE m.conversation_id = conversation_spells.conversation_id
       AND m.direction = 'outbound' AND m.author_id IS NOT NULL
       AND m.created_at >= conversation_spells.first_inbound_at
       AND m.created_at < COALESCE(conversation_spells.resolved_at,
                                   (SELECT min(n.opened_at) FROM conversation_spells n
                                     WHERE n.conversation_id = conversation_spells.conversation_id
                                       AND n.id > conversation_spells.id),
                                   9223372036854775807)
) WHERE first_inbound_at IS NOT NULL;
UPDATE conversation_spells SET responder_id = (
    SELECT m.author_id FROM messages m
     WHERE m.conversation_id = conversation_spells.conversation_id
       AND m.direction = 'outbound' AND m.author_id IS NOT NULL
       AND m.created_at = conversation_spells.first_response_at
     ORDER BY m.seq LIMIT 1
) WHERE first_response_at IS NOT NULL;

-- From now on the triggers keep it.
CREATE TRIGGER conversation_spells_created AFTER INSERT ON conversations
BEGIN
    INSERT INTO conversation_spells (conversation_id, inbox_id, opened_at)
    VALUES (NEW.id, NEW.inbox_id, NEW.created_at);
END;

-- A customer writing to a resolved conversation opens a spell (before the
-- routing that reopens it logs `reopened`); the spell's first customer
-- message is noted.
CREATE TRIGGER conversation_spells_inbound AFTER INSERT ON messages
WHEN NEW.direction = 'inbound'
BEGIN
    INSERT INTO conversation_spells (conversation_id, inbox_id, opened_at, first_inbound_at)
    SELECT s.conversation_id, s.inbox_id, NEW.created_at, NEW.created_at
      FROM conversation_spells s
     WHERE s.id = (SELECT max(id) FROM conversation_spells WHERE conversation_id = NEW.conversation_id)
       AND s.resolved_at IS NOT NULL;
    UPDATE conversation_spells SET first_inbound_at = NEW.created_at
     WHERE id = (SELECT max(id) FROM conversation_spells WHERE conversation_id = NEW.conversation_id)
       AND first_inbound_at IS NULL;
END;

CREATE TRIGGER conversation_spells_outbound AFTER INSERT ON messages
WHEN NEW.direction = 'outbound' AND NEW.author_id IS NOT NULL
BEGIN
    UPDATE conversation_spells
       SET first_response_at = NEW.created_at, responder_id = NEW.author_id
     WHERE id = (SELECT max(id) FROM conversation_spells WHERE conversation_id = NEW.conversation_id)
       AND first_inbound_at IS NOT NULL AND first_response_at IS NULL AND resolved_at IS NULL;
END;

-- A resolution ends the spell; the conversation keeps its assignee when
-- resolved, which is who the resolution counts for.
CREATE TRIGGER conversation_spells_resolved AFTER INSERT ON assignment_log
WHEN NEW.kind = 'resolved'
BEGIN
    UPDATE conversation_spells
       SET resolved_at = NEW.at,
           resolved_assignee_id = (SELECT assignee_id FROM conversations WHERE id = NEW.conversation_id)
     WHERE id = (SELECT max(id) FROM conversation_spells WHERE conversation_id = NEW.conversation_id)
       AND resolved_at IS NULL;
END;

-- A person reopening a resolved conversation opens a spell (one its
-- customer reopened has one already).
CREATE TRIGGER conversation_spells_reopened AFTER INSERT ON assignment_log
WHEN NEW.kind = 'reopened'
BEGIN
    INSERT INTO conversation_spells (conversation_id, inbox_id, opened_at)
    SELECT s.conversation_id, s.inbox_id, NEW.at
      FROM conversation_spells s
     WHERE s.id = (SELECT max(id) FROM conversation_spells WHERE conversation_id = NEW.conversation_id)
       AND s.resolved_at IS NOT NULL;
END;
