-- Invitations, the mail outbox and seats (docs/PEOPLE.md, "Invitations"
-- and "Seats").

-- The plan's cap on active users plus pending invitations; NULL: unlimited.
ALTER TABLE accounts ADD COLUMN seat_limit bigint CHECK (seat_limit IS NULL OR seat_limit >= 0);

-- Mails waiting to go out, and what became of them. A sender claims a due
-- mail for a lease (`claim`, `lease_until`), so that of the nodes of a
-- cluster one sends it; a failed try waits until `next_attempt_at`. The
-- message (which holds an invitation's link) is erased once the mail is
-- sent, failed for good or cancelled.
CREATE TABLE mail_outbox (
    id               uuid PRIMARY KEY,
    account_id       uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    recipient        text NOT NULL,
    message          text,
    status           text NOT NULL CHECK (status IN ('queued', 'sent', 'failed', 'cancelled')),
    attempts         bigint NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    lease_until      timestamptz,
    claim            uuid,
    last_error       text,
    created_at       timestamptz NOT NULL,
    sent_at          timestamptz
);
CREATE INDEX mail_outbox_due ON mail_outbox (status, next_attempt_at);

CREATE TABLE invitations (
    id           uuid PRIMARY KEY,
    account_id   uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- stored lowercased
    email        text NOT NULL,
    -- the SHA-256 of the link's token; the token itself is never stored
    token_hash   bytea NOT NULL UNIQUE,
    -- the grants the new user gets: `role@group_id`, separated by spaces
    grants       text NOT NULL,
    -- 'expired' is written only when a new invitation replaces one whose
    -- time is over; a pending row past `expires_at` reads as expired
    status       text NOT NULL CHECK (status IN ('pending', 'accepted', 'revoked', 'expired')),
    -- NULL: an operator at the command line
    invited_by   uuid,
    -- the latest mail of this invitation
    mail_id      uuid REFERENCES mail_outbox (id) ON DELETE SET NULL,
    user_id      uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    accepted_at  timestamptz
);
CREATE INDEX invitations_account ON invitations (account_id, created_at);
-- one pending invitation per address in an account (each account knows
-- only its own: another account may invite the same address)
CREATE UNIQUE INDEX invitations_pending_email ON invitations (account_id, email) WHERE status = 'pending';
