-- Two-factor authentication and login throttling (docs/PEOPLE.md).

-- Whether every user of the account must have 2FA on (0: no).
ALTER TABLE accounts ADD COLUMN require_2fa INTEGER NOT NULL DEFAULT 0;

-- A user's TOTP secret: pending until confirmed (confirmed_at NULL), then
-- active. The secret is sealed by the server's key (never stored in the
-- clear); last_step is the last TOTP step accepted, so a code works once.
CREATE TABLE two_factor (
    user_id       BLOB PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    secret        TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    confirmed_at  INTEGER,
    last_step     INTEGER
);

-- The backup codes of an active 2FA, as SHA-256 hashes; each is deleted
-- when used.
CREATE TABLE two_factor_backup_codes (
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  BLOB NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);

-- Failed logins, one row per key (an email, a source address) and
-- failure; rows older than the throttling window are pruned as new ones come.
CREATE TABLE login_failures (
    key  TEXT NOT NULL,
    at   INTEGER NOT NULL
);
CREATE INDEX login_failures_key ON login_failures (key, at);
CREATE INDEX login_failures_at ON login_failures (at);
