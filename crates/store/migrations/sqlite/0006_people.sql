-- People (docs/PEOPLE.md): a user may be deactivated (NULL: active), and
-- every change to people and access is recorded in the account's audit log.

ALTER TABLE users ADD COLUMN deactivated_at INTEGER;

CREATE TABLE audit_log (
    -- a UUIDv7: ids grow with time, so the log reads newest first by id
    id              BLOB PRIMARY KEY NOT NULL,
    account_id      BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    at              INTEGER NOT NULL,
    -- NULL: an operator at the command line
    actor_id        BLOB,
    action          TEXT NOT NULL,
    target_user_id  BLOB,
    -- a JSON object
    detail          TEXT NOT NULL
);
CREATE INDEX audit_log_account ON audit_log (account_id, id);
