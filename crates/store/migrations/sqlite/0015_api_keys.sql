-- API keys for integrations (docs/MODULES.md, "API keys"): a key acts
-- with its own grants, like a user's but in a table of their own, so a
-- key takes no seat, is listed among no users and is assigned nothing.
-- The secret is kept only as its SHA-256; `prefix` is the few characters
-- a listing shows. A revoked key keeps its row (revoked_at set) and is
-- found by no lookup.

CREATE TABLE api_keys (
    id            BLOB PRIMARY KEY NOT NULL,
    account_id    BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    prefix        TEXT NOT NULL,
    key_hash      BLOB NOT NULL UNIQUE,
    -- NULL: an operator at the command line
    created_by    BLOB REFERENCES users (id) ON DELETE SET NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    revoked_at    INTEGER
);
CREATE INDEX api_keys_account ON api_keys (account_id);

-- role: a built-in role's id, or a custom role's id as text (as `grants`).
-- A live key's grant keeps its group and role from deletion, as a user's
-- does; a revoked key's go with the group.
CREATE TABLE api_key_grants (
    api_key_id  BLOB NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    role        TEXT NOT NULL,
    group_id    BLOB NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (api_key_id, role, group_id)
);
CREATE INDEX api_key_grants_group ON api_key_grants (group_id);
CREATE INDEX api_key_grants_role ON api_key_grants (role);

-- A key made or revoked is an access change (migration 0005): every node
-- reloads the account's access. A key's grants are written only with it,
-- in its transaction; recording a use changes no access.
CREATE TRIGGER access_stamp_api_keys_insert AFTER INSERT ON api_keys
BEGIN
    UPDATE accounts SET access_stamp = access_stamp + 1 WHERE id = NEW.account_id;
END;
CREATE TRIGGER access_stamp_api_keys_revoke AFTER UPDATE OF revoked_at ON api_keys
WHEN NEW.revoked_at IS NOT OLD.revoked_at
BEGIN
    UPDATE accounts SET access_stamp = access_stamp + 1 WHERE id = NEW.account_id;
END;
