//! API keys (docs/MODULES.md, "API keys") against real servers: a key acts
//! on the REST API with exactly its grants, is never more than its maker
//! could grant, is no person (no sessions, password, 2FA, agent state or
//! WebSocket), is shown once and stored as a hash, and once revoked is
//! refused on every node of a cluster within two seconds. The command line
//! makes, lists and revokes keys too.

use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::time::Instant;
use uuid::Uuid;

use crate::support::cluster::Cluster;
use crate::support::raw::RawClient;
use crate::support::server::TestServer;
use crate::support::{Fixture, fault};

fn id(value: &Value) -> Uuid {
    value.as_str().expect("an id").parse().expect("a uuid")
}

/// The account's root group, as `token` lists the groups.
async fn root_group(server: &TestServer, token: &str) -> Uuid {
    let (status, groups) = server.call(token, "GET", "/v1/groups", Value::Null).await;
    assert_eq!(status, 200, "{groups}");
    let root = groups.as_array().expect("groups").iter();
    id(&root
        .clone()
        .find(|g| g["parent_id"].is_null())
        .expect("root")["id"])
}

/// `token` makes a key named `name` holding `grants`; the status and answer.
async fn make_key(server: &TestServer, token: &str, name: &str, grants: Value) -> (u16, Value) {
    let body = json!({"name": name, "grants": grants});
    server.call(token, "POST", "/v1/api-keys", body).await
}

/// The secret of a key `token` makes (which must succeed).
async fn key(server: &TestServer, token: &str, name: &str, grants: Value) -> (Uuid, String) {
    let (status, made) = make_key(server, token, name, grants).await;
    assert_eq!(status, 201, "{made}");
    (
        id(&made["id"]),
        made["key"].as_str().expect("the key").to_owned(),
    )
}

/// The ids of the conversations a listing answered.
fn listed(page: &Value) -> Vec<Uuid> {
    page["conversations"]
        .as_array()
        .expect("a page")
        .iter()
        .map(|c| id(&c["id"]))
        .collect()
}

#[tokio::test]
async fn a_key_with_an_operator_grant_reads_conversations_but_manages_no_users() {
    let fx = Fixture::with_roles(&["operator"], &[]).await;
    let server = &fx.server;
    let owner = &fx.owner.token;
    let root = root_group(server, owner).await;
    let grants = json!([{"role": "operator", "group_id": root}]);
    let (status, made) = make_key(server, owner, "Zapier", grants.clone()).await;
    assert_eq!(status, 201, "{made}");
    let secret = made["key"].as_str().expect("the key shown once").to_owned();
    let key_id = id(&made["id"]);
    assert!(secret.starts_with("sba_") && secret.len() > 40, "{secret}");
    assert_eq!(made["prefix"], json!(&secret[..12]), "{made}");
    assert_eq!(made["grants"], grants);
    assert_eq!(made["created_by"], json!(fx.owner.id));

    // It reads conversations as an operator does.
    let conversation = fx.conversation("+15550100").await;
    let (status, page) = server
        .call(&secret, "GET", "/v1/conversations", Value::Null)
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(listed(&page), [conversation]);
    let messages = format!("/v1/conversations/{conversation}/messages");
    let (status, read) = server.call(&secret, "GET", &messages, Value::Null).await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read[0]["body"], json!("hello, anyone there?"));

    // Managing users is not an operator's.
    let user = format!("/v1/users/{}", fx.agents[0].id);
    let (status, refused) = server
        .call(&secret, "PATCH", &user, json!({"name": "Renamed"}))
        .await;
    assert_eq!(
        (status, &refused["error"]["code"]),
        (403, &json!("forbidden"))
    );
    let (status, refused) = server
        .call(&secret, "POST", "/v1/teams", json!({"name": "Night"}))
        .await;
    assert_eq!(status, 403, "{refused}");
    let grants_path = format!("{user}/grants");
    let (status, _) = server
        .call(
            &secret,
            "PUT",
            &grants_path,
            json!([{"role": "viewer", "group_id": root}]),
        )
        .await;
    assert_eq!(status, 403);

    // A key is no user: not listed, not assignable.
    let (_, users) = server.call(owner, "GET", "/v1/users", Value::Null).await;
    let ids: Vec<Uuid> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| id(&u["id"]))
        .collect();
    assert!(!ids.contains(&key_id), "{users}");
    let assign = format!("/v1/conversations/{conversation}/assign");
    let (status, refused) = server
        .call(owner, "POST", &assign, json!({"user_id": key_id}))
        .await;
    assert_ne!(status, 200, "a key is assigned nothing: {refused}");

    // Where only a person acts: refused, saying why.
    for (method, path, body) in [
        ("GET", "/v1/me", Value::Null),
        ("GET", "/v1/me/sessions", Value::Null),
        (
            "PUT",
            "/v1/me/password",
            json!({"current": "x", "new": "yyyyyyyyyy"}),
        ),
        ("POST", "/v1/me/2fa/setup", Value::Null),
        ("DELETE", "/v1/me/2fa", json!({"code": "123456"})),
        ("GET", "/v1/agents/me", Value::Null),
        (
            "PUT",
            "/v1/agents/me/availability",
            json!({"status": "away"}),
        ),
        ("POST", "/v1/auth/logout", Value::Null),
        ("GET", "/v1/folders", Value::Null),
        ("POST", "/v1/folders", json!({"name": "Mine"})),
    ] {
        let (status, refused) = server.call(&secret, method, path, body).await;
        assert_eq!(status, 403, "{method} {path}: {refused}");
        let message = refused["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("api key"), "{method} {path}: {refused}");
    }
    let refused = RawClient::upgrade(&server.addr, &secret)
        .await
        .expect_err("a key opens no websocket");
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert!(refused.body.contains("api key"), "{}", refused.body);

    // Listed without its secret; another account neither sees nor revokes it.
    let (status, keys) = server.call(owner, "GET", "/v1/api-keys", Value::Null).await;
    assert_eq!(status, 200, "{keys}");
    assert_eq!(keys[0]["id"], json!(key_id));
    assert_eq!(keys[0]["prefix"], json!(&secret[..12]));
    assert!(keys[0].get("key").is_none(), "{keys}");
    assert!(!keys.to_string().contains(&secret[12..]), "{keys}");
    assert!(
        keys[0]["last_used_at"].is_string(),
        "its use recorded: {keys}"
    );
    server.create_rival_account().await;
    let eve = server.login("eve@rival.test").await;
    let (_, theirs) = server.call(&eve, "GET", "/v1/api-keys", Value::Null).await;
    assert_eq!(theirs, json!([]));
    let path = format!("/v1/api-keys/{key_id}");
    let (status, _) = server.call(&eve, "DELETE", &path, Value::Null).await;
    assert_eq!(status, 404);
    let (status, _) = server
        .call(&secret, "GET", "/v1/conversations", Value::Null)
        .await;
    assert_eq!(status, 200, "still live");
    let (status, _) = server.call(owner, "DELETE", &path, Value::Null).await;
    assert_eq!(status, 204);
    let (status, refused) = server
        .call(&secret, "GET", "/v1/conversations", Value::Null)
        .await;
    assert_eq!(
        (status, &refused["error"]["code"]),
        (401, &json!("unauthorized"))
    );
    let (status, _) = server.call(owner, "DELETE", &path, Value::Null).await;
    assert_eq!(status, 404, "already revoked");
    let unknown = format!("/v1/api-keys/{}", Uuid::now_v7());
    assert_eq!(
        server.call(owner, "DELETE", &unknown, Value::Null).await.0,
        404
    );

    // Both are in the audit log, naming the key and never its secret.
    let (_, audit) = server.call(owner, "GET", "/v1/audit", Value::Null).await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .filter(|a| a.starts_with("api_key."))
        .collect();
    assert_eq!(actions, ["api_key.revoked", "api_key.created"], "{audit}");
    assert!(!audit.to_string().contains(&secret[12..]));
}

#[tokio::test]
async fn a_key_scoped_to_a_sub_group_sees_only_that_subtree() {
    let fx = Fixture::with_roles(&[], &[]).await;
    let server = &fx.server;
    let owner = &fx.owner.token;
    let root = root_group(server, owner).await;
    let body = json!({"name": "North", "parent_id": root});
    let (_, north) = server.call(owner, "POST", "/v1/groups", body).await;
    let north = id(&north["id"]);
    let body = json!({"name": "Oslo", "parent_id": north});
    let (_, oslo) = server.call(owner, "POST", "/v1/groups", body).await;
    let oslo = id(&oslo["id"]);
    let body = json!({"name": "Oslo SMS", "channel": "sms", "group_id": oslo});
    let (status, inbox) = server.call(owner, "POST", "/v1/inboxes", body).await;
    assert_eq!(status, 201, "{inbox}");
    let below = server
        .inbound(
            inbox["api_key"].as_str().unwrap(),
            id(&inbox["id"]),
            "+4790000001",
            "hei",
        )
        .await;
    let below = id(&below["conversation_id"]);
    let at_root = fx.conversation("+15550200").await;

    let (_, secret) = key(
        server,
        owner,
        "North desk",
        json!([{"role": "operator", "group_id": north}]),
    )
    .await;
    let (status, page) = server
        .call(&secret, "GET", "/v1/conversations", Value::Null)
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(listed(&page), [below], "only the subtree's");
    let (status, _) = server
        .call(
            &secret,
            "GET",
            &format!("/v1/conversations/{below}"),
            Value::Null,
        )
        .await;
    assert_eq!(status, 200);
    let (status, refused) = server
        .call(
            &secret,
            "GET",
            &format!("/v1/conversations/{at_root}"),
            Value::Null,
        )
        .await;
    assert_eq!(
        (status, &refused["error"]["code"]),
        (404, &json!("not_found"))
    );
    // Account-wide things need a grant at the root.
    let (status, _) = server.call(&secret, "GET", "/v1/audit", Value::Null).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn nobody_puts_in_a_key_what_they_could_not_grant() {
    let fx = Fixture::with_roles(&["administrator", "developer", "viewer"], &[]).await;
    let server = &fx.server;
    let (admin, developer, viewer) = (&fx.agents[0], &fx.agents[1], &fx.agents[2]);
    let root = root_group(server, &fx.owner.token).await;
    let grant = |role: &str| json!([{"role": role, "group_id": root}]);

    // An administrator lacks `billing.manage`: no accountant key.
    let (status, refused) = make_key(server, &admin.token, "Books", grant("accountant")).await;
    assert_eq!(
        (status, &refused["error"]["code"]),
        (403, &json!("forbidden"))
    );
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("billing.manage"),
        "{refused}"
    );
    // A developer (`developers.manage`, no `users.manage`) puts in a key
    // what they hold, and nothing they lack.
    let (status, made) = make_key(server, &developer.token, "Bot", grant("operator")).await;
    assert_eq!(status, 201, "{made}");
    let (status, refused) =
        make_key(server, &developer.token, "Boss", grant("inbox_manager")).await;
    assert_eq!(status, 403, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("inbox_manager"),
        "the role named: {refused}"
    );
    let path = format!("/v1/api-keys/{}", made["id"].as_str().unwrap());
    let (status, _) = server
        .call(&developer.token, "DELETE", &path, Value::Null)
        .await;
    assert_eq!(status, 204);
    // A viewer may not make keys at all; nor may anyone grant `owner`.
    let (status, _) = make_key(server, &viewer.token, "Bot", grant("viewer")).await;
    assert_eq!(status, 403);
    let (status, _) = make_key(server, &fx.owner.token, "Bot", grant("owner")).await;
    assert_eq!(status, 403);
    let (status, _) = make_key(server, &fx.owner.token, "Bot", json!([])).await;
    assert_eq!(status, 400, "a key needs a grant");
    let (status, _) = make_key(server, &fx.owner.token, "Bot", grant("wizard")).await;
    assert_eq!(status, 400, "no such role id");
    let (_, keys) = server
        .call(&fx.owner.token, "GET", "/v1/api-keys", Value::Null)
        .await;
    assert_eq!(keys, json!([]), "nothing refused was made");

    // What the administrator holds, they may put in a key; that key acts
    // with it, is recorded in the audit log, and makes no keys itself.
    let (key_id, secret) = key(server, &admin.token, "Admin bot", grant("administrator")).await;
    let body = json!({"name": "Made by a key", "parent_id": root});
    let (status, made) = server.call(&secret, "POST", "/v1/groups", body).await;
    assert_eq!(status, 201, "{made}");
    let (status, refused) = make_key(server, &secret, "Child", grant("viewer")).await;
    assert_eq!(status, 403, "{refused}");
    let (_, audit) = server
        .call(&fx.owner.token, "GET", "/v1/audit", Value::Null)
        .await;
    let entries = audit["entries"].as_array().expect("entries");
    let by_key = entries
        .iter()
        .find(|e| e["action"] == json!("group.created"))
        .expect("the key's change recorded");
    assert_eq!(by_key["actor_id"], json!(key_id), "{by_key}");
    let created = entries
        .iter()
        .find(|e| e["action"] == json!("api_key.created"))
        .expect("the key's making recorded");
    assert_eq!(created["actor_id"], json!(admin.id), "{created}");
}

/// Cluster tests settle faster than the defaults allow.
const FAST: &[(&str, &str)] = &[
    ("SWITCHBOARD_NODE_TIMEOUT_MS", "2000"),
    ("SWITCHBOARD_DISCONNECT_GRACE_SECS", "1"),
];

/// The "within 2 seconds", counted from the revocation's answer.
const REFUSED_WITHIN: Duration = Duration::from_secs(2);

#[tokio::test]
async fn a_revoked_key_is_refused_on_every_node_within_two_seconds() {
    let c = Cluster::start(2, 0, FAST).await;
    let owner = &c.owner.token;
    let root = root_group(c.node(0), owner).await;
    let grants = json!([{"role": "operator", "group_id": root}]);
    let (key_id, secret) = key(c.node(0), owner, "Zapier", grants).await;

    // Stored only as its hash.
    let query = format!(
        "SELECT encode(key_hash, 'hex') || ' ' || prefix FROM api_keys WHERE id = '{key_id}'"
    );
    let stored = fault::sql(&c.database.url, &query).await;
    let hash = hex::encode(Sha256::digest(secret.as_bytes()));
    assert_eq!(stored, format!("{hash} {}", &secret[..12]));

    for node in 0..2 {
        let (status, page) = c
            .node(node)
            .call(&secret, "GET", "/v1/conversations", Value::Null)
            .await;
        assert_eq!(status, 200, "node {node}: {page}");
    }
    let path = format!("/v1/api-keys/{key_id}");
    let (status, _) = c.node(0).call(owner, "DELETE", &path, Value::Null).await;
    assert_eq!(status, 204);
    let deadline = Instant::now() + REFUSED_WITHIN;
    for node in [1, 0] {
        loop {
            let (status, _) = c
                .node(node)
                .call(&secret, "GET", "/v1/conversations", Value::Null)
                .await;
            if status == 401 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "node {node} still answers {status} to a revoked key"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let (_, keys) = c
        .node(1)
        .call(owner, "GET", "/v1/api-keys", Value::Null)
        .await;
    assert_eq!(keys, json!([]));
}

#[tokio::test]
async fn keys_are_made_listed_and_revoked_from_the_command_line() {
    let fx = Fixture::with_roles(&[], &[]).await;
    let server = &fx.server;
    let account = fx.account.to_string();
    let made = server
        .admin(&[
            "api-key",
            "create",
            "--account",
            &account,
            "--name",
            "Importer",
            "--grant",
            "operator@root",
        ])
        .await;
    let secret = made["key"]
        .as_str()
        .expect("the key printed once")
        .to_owned();
    let key_id = id(&made["api_key_id"]);
    let root = root_group(server, &fx.owner.token).await;
    assert_eq!(
        made["grants"],
        json!([{"role": "operator", "group_id": root}])
    );
    let conversation = fx.conversation("+15550300").await;
    let (status, page) = server
        .call(&secret, "GET", "/v1/conversations", Value::Null)
        .await;
    assert_eq!(status, 200, "the running server takes it: {page}");
    assert_eq!(listed(&page), [conversation]);

    let refused = server
        .admin_refused(&[
            "api-key",
            "create",
            "--account",
            &account,
            "--name",
            "X",
            "--grant",
            "operator",
        ])
        .await;
    assert!(refused.contains("<role>@"), "{refused}");
    let listed_keys = server
        .admin(&["api-key", "list", "--account", &account])
        .await;
    assert_eq!(listed_keys["api_keys"][0]["api_key_id"], json!(key_id));
    assert!(
        !listed_keys.to_string().contains(&secret[12..]),
        "{listed_keys}"
    );

    let key = key_id.to_string();
    let revoked = server
        .admin(&["api-key", "revoke", "--account", &account, "--key", &key])
        .await;
    assert_eq!(revoked["revoked"], json!(true));
    let (status, _) = server
        .call(&secret, "GET", "/v1/conversations", Value::Null)
        .await;
    assert_eq!(status, 401, "refused at once by the running server");
    let again = server
        .admin_refused(&["api-key", "revoke", "--account", &account, "--key", &key])
        .await;
    assert!(again.contains("no such api key"), "{again}");
}
