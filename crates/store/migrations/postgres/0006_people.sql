-- People (docs/PEOPLE.md): a user may be deactivated (NULL: active), and
-- every change to people and access is recorded in the account's audit log.

ALTER TABLE users ADD COLUMN deactivated_at timestamptz;

CREATE TABLE audit_log (
    -- a UUIDv7: ids grow with time, so the log reads newest first by id
    id              uuid PRIMARY KEY,
    account_id      uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    at              timestamptz NOT NULL,
    -- NULL: an operator at the command line; no reference, so that the
    -- entries of a removed user stay
    actor_id        uuid,
    action          text NOT NULL,
    target_user_id  uuid,
    -- a JSON object
    detail          text NOT NULL
);
CREATE INDEX audit_log_account ON audit_log (account_id, id);
