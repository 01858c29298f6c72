-- Invitations, the mail outbox and seats (docs/PEOPLE.md, "Invitations"
-- and "Seats").

-- The plan's cap on active users plus pending invitations; NULL: unlimited.
ALTER TABLE accounts ADD COLUMN seat_limit INTEGER CHECK (seat_limit IS NULL OR seat_limit >= 0);

-- Mails waiting to go out, and what became of them. A sender claims a due
-- mail for a lease (`claim`, `lease_until`), so that of the nodes of a
-- cluster one sends it; a failed try waits until `next_attempt_at`. The
-- message (which holds an invitation's link) is erased once the mail is
-- sent, failed for good or cancelled.
CREATE TABLE mail_outbox (
    id               BLOB PRIMARY KEY NOT NULL,
    account_id       BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    recipient        TEXT NOT NULL,
    message          TEXT,
    status           TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed', 'cancelled')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    lease_until      INTEGER,
    claim            BLOB,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    sent_at          INTEGER
);
CREATE INDEX mail_outbox_due ON mail_outbox (status, next_attempt_at);

CREATE TABLE invitations (
    id           BLOB PRIMARY KEY NOT NULL,
    account_id   BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- stored lowercased
    email        TEXT NOT NULL,
    -- the SHA-256 of the link's token; the token itself is never stored
    token_hash   BLOB NOT NULL UNIQUE,
    -- the grants the new user gets: `role@group_id`, separated by spaces
    grants       TEXT NOT NULL,
    -- 'expired' is written only when a new invitation replaces one whose
    -- time is over; a pending row past `expires_at` reads as expired
    status       TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'revoked', 'expired')),
    -- NULL: an operator at the command line
    invited_by   BLOB,
    -- the latest mail of this invitation
    mail_id      BLOB REFERENCES mail_outbox (id) ON DELETE SET NULL,
    user_id      BLOB REFERENCES users (id) ON DELETE SET NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    accepted_at  INTEGER
);
CREATE INDEX invitations_account ON invitations (account_id, created_at);
-- one pending invitation per address in an account (each account knows
-- only its own: another account may invite the same address)
CREATE UNIQUE INDEX invitations_pending_email ON invitations (account_id, email) WHERE status = 'pending';
