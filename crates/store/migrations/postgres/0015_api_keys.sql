-- API keys for integrations (docs/MODULES.md, "API keys"): a key acts
-- with its own grants, like a user's but in a table of their own, so a
-- key takes no seat, is listed among no users and is assigned nothing.
-- The secret is kept only as its SHA-256; `prefix` is the few characters
-- a listing shows. A revoked key keeps its row (revoked_at set) and is
-- found by no lookup.

CREATE TABLE api_keys (
    id            uuid PRIMARY KEY,
    account_id    uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name          text NOT NULL,
    prefix        text NOT NULL,
    key_hash      bytea NOT NULL UNIQUE,
    -- NULL: an operator at the command line
    created_by    uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL,
    last_used_at  timestamptz,
    revoked_at    timestamptz
);
CREATE INDEX api_keys_account ON api_keys (account_id);

-- role: a built-in role's id, or a custom role's id as text (as `grants`).
-- A live key's grant keeps its group and role from deletion, as a user's
-- does; a revoked key's go with the group.
CREATE TABLE api_key_grants (
    api_key_id  uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    role        text NOT NULL,
    group_id    uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (api_key_id, role, group_id)
);
CREATE INDEX api_key_grants_group ON api_key_grants (group_id);
CREATE INDEX api_key_grants_role ON api_key_grants (role);

-- A key made or revoked is an access change (migration 0005): every node
-- reloads the account's access. A key's grants are written only with it,
-- in its transaction; recording a use changes no access.
CREATE TRIGGER access_stamp_api_keys_insert AFTER INSERT ON api_keys
FOR EACH ROW EXECUTE FUNCTION access_stamp_raise();
CREATE TRIGGER access_stamp_api_keys_revoke AFTER UPDATE OF revoked_at ON api_keys
FOR EACH ROW WHEN (NEW.revoked_at IS DISTINCT FROM OLD.revoked_at)
EXECUTE FUNCTION access_stamp_raise();
