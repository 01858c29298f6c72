//! The access model from the command line (README, "Commands"): groups,
//! custom roles, users created with several grants, grants added and taken
//! away, inboxes created in a group; and a running server that enforces a
//! change made by a command on its live connections.

use serde_json::{Value, json};
use switchboard_proto::ErrorCode;
use switchboard_proto::server::LockLostReason;
use uuid::Uuid;

use crate::support::Fixture;
use crate::support::server::PASSWORD;

fn id(value: &Value) -> Uuid {
    value.as_str().expect("an id").parse().expect("a uuid")
}

/// `(role, group)` of each grant printed.
fn grants(printed: &Value) -> Vec<(String, Uuid)> {
    let mut grants: Vec<(String, Uuid)> = printed
        .as_array()
        .expect("grants")
        .iter()
        .map(|g| (g["role"].as_str().unwrap().to_owned(), id(&g["group_id"])))
        .collect();
    grants.sort();
    grants
}

fn pair(role: &str, group: Uuid) -> (String, Uuid) {
    (role.to_owned(), group)
}

fn sorted(mut grants: Vec<(String, Uuid)>) -> Vec<(String, Uuid)> {
    grants.sort();
    grants
}

#[tokio::test]
async fn groups_roles_grants_and_inboxes_are_managed_from_the_command_line() {
    let fx = Fixture::with_roles(&[], &[]).await;
    let server = &fx.server;
    let account = fx.account.to_string();

    // Groups: a tree under the root.
    let listed = server
        .admin(&["group", "list", "--account", &account])
        .await;
    let root = id(&listed["groups"][0]["group_id"]);
    assert!(listed["groups"][0]["parent_id"].is_null(), "{listed}");
    let north = server
        .admin(&["group", "create", "--account", &account, "--name", "North"])
        .await;
    assert_eq!(id(&north["parent_id"]), root, "{north}");
    let north = id(&north["group_id"]);
    let north_text = north.to_string();
    let oslo = server
        .admin(&[
            "group",
            "create",
            "--account",
            &account,
            "--name",
            "Oslo",
            "--parent",
            &north_text,
        ])
        .await;
    assert_eq!(id(&oslo["parent_id"]), north, "{oslo}");
    let oslo = id(&oslo["group_id"]);
    let listed = server
        .admin(&["group", "list", "--account", &account])
        .await;
    assert_eq!(listed["groups"].as_array().unwrap().len(), 3, "{listed}");

    // A custom role from the catalogue's permissions.
    let role = server
        .admin(&[
            "role",
            "create",
            "--account",
            &account,
            "--name",
            "Field sales",
            "--permission",
            "conversations.view_assigned",
            "--permission",
            "conversations.answer",
        ])
        .await;
    assert_eq!(role["role"]["builtin"], false, "{role}");
    assert_eq!(
        role["role"]["permissions"],
        serde_json::json!(["conversations.view_assigned", "conversations.answer"]),
        "{role}"
    );
    let custom = role["role"]["role_id"].as_str().unwrap().to_owned();
    let error = server
        .admin_refused(&[
            "role",
            "create",
            "--account",
            &account,
            "--name",
            "X",
            "--permission",
            "wizardry",
        ])
        .await;
    assert!(error.contains("unknown permission"), "{error}");
    let roles = server.admin(&["role", "list", "--account", &account]).await;
    let ids: Vec<&str> = roles["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["role_id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"operator") && ids.contains(&custom.as_str()),
        "{roles}"
    );

    // A user with two roles at a group, one of them custom, named by name.
    let created = server
        .admin(&[
            "user",
            "create",
            "--account",
            &account,
            "--email",
            "ann@acme.test",
            "--name",
            "Ann",
            "--password",
            PASSWORD,
            "--role",
            "viewer",
            "--role",
            "field sales",
            "--group",
            &north_text,
        ])
        .await;
    assert_eq!(
        grants(&created["grants"]),
        sorted(vec![pair(&custom, north), pair("viewer", north)]),
        "{created}"
    );
    let ann = created["user_id"].as_str().unwrap().to_owned();
    let (_, log) = server
        .call(&fx.owner.token, "GET", "/v1/audit", Value::Null)
        .await;
    let entry = &log["entries"][0];
    assert_eq!(
        (
            &entry["action"],
            &entry["actor_id"],
            &entry["target_user_id"]
        ),
        (&json!("user.created"), &Value::Null, &json!(ann)),
        "the command line's user is recorded: {log}"
    );

    // Refused, with nothing created: an unknown role or group, the owner.
    let before = server.admin(&["user", "list", "--account", &account]).await;
    let unknown_group = Uuid::now_v7().to_string();
    for (role, group, expected) in [
        ("wizard", None, "unknown role"),
        ("operator", Some(unknown_group.as_str()), "no such group"),
        ("owner", None, "owner"),
    ] {
        let mut args = vec![
            "user",
            "create",
            "--account",
            &account,
            "--email",
            "bob@acme.test",
            "--name",
            "Bob",
            "--password",
            PASSWORD,
            "--role",
            role,
        ];
        if let Some(group) = group {
            args.extend(["--group", group]);
        }
        let error = server.admin_refused(&args).await;
        assert!(error.contains(expected), "{role}: {error}");
    }
    let after = server.admin(&["user", "list", "--account", &account]).await;
    assert_eq!(before, after, "a refused user create changes nothing");

    // Grants added and taken away, the others kept; the listing shows them.
    let granted = server
        .admin(&["user", "grant", "--user", &ann, "--role", "operator"])
        .await;
    let all = vec![
        pair(&custom, north),
        pair("operator", root),
        pair("viewer", north),
    ];
    assert_eq!(grants(&granted["grants"]), sorted(all), "{granted}");
    let revoked = server
        .admin(&[
            "user",
            "revoke",
            "--user",
            &ann,
            "--role",
            "viewer",
            "--group",
            &north_text,
        ])
        .await;
    let left = sorted(vec![pair(&custom, north), pair("operator", root)]);
    assert_eq!(grants(&revoked["grants"]), left, "{revoked}");
    let error = server
        .admin_refused(&["user", "revoke", "--user", &ann, "--role", "viewer"])
        .await;
    assert!(error.contains("does not hold"), "{error}");
    let users = server.admin(&["user", "list", "--account", &account]).await;
    let listed = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["user_id"] == ann.as_str())
        .expect("ann is listed");
    assert_eq!(grants(&listed["grants"]), left, "{users}");
    assert_eq!(listed["role"], "operator", "the role at the root: {users}");
    let owner = &users["users"][0];
    assert_eq!(
        (owner["role"].as_str(), grants(&owner["grants"])),
        (Some("owner"), vec![pair("owner", root)])
    );
    let error = server
        .admin_refused(&[
            "user",
            "revoke",
            "--user",
            &fx.owner.id.to_string(),
            "--role",
            "owner",
        ])
        .await;
    assert!(error.contains("owner"), "{error}");

    // An inbox in a group.
    let oslo_text = oslo.to_string();
    let inbox = server
        .admin(&[
            "inbox",
            "create",
            "--account",
            &account,
            "--name",
            "Oslo SMS",
            "--group",
            &oslo_text,
        ])
        .await;
    assert_eq!(id(&inbox["group_id"]), oslo, "{inbox}");
    let inboxes = server
        .admin(&["inbox", "list", "--account", &account])
        .await;
    let listed = inboxes["inboxes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["inbox_id"] == inbox["inbox_id"])
        .expect("listed");
    assert_eq!(id(&listed["group_id"]), oslo, "{inboxes}");
}

/// A running server enforces a grant changed by a command on its live
/// connections, although nobody told it: it finds the account's stored
/// access stamp moved (every `SWITCHBOARD_ACCESS_CHECK_MS`). The operator
/// answering is downgraded to viewer: `lock_lost` reason `permission`, and
/// their next `send` is refused.
#[tokio::test]
async fn a_running_server_enforces_a_grant_changed_by_a_command() {
    let fx = Fixture::with_roles(&["operator"], &[("SWITCHBOARD_ACCESS_CHECK_MS", "100")]).await;
    let conversation = fx.conversation("+4790000001").await;
    let agent = &fx.agents[0];
    let mut ann = fx.connect(agent).await;
    ann.join(conversation).await;
    ann.take(conversation).await.expect("the operator takes it");

    let user = agent.id.to_string();
    fx.server
        .admin(&["user", "grant", "--user", &user, "--role", "viewer"])
        .await;
    fx.server
        .admin(&["user", "revoke", "--user", &user, "--role", "operator"])
        .await;

    let lost = ann.expect_lock_lost().await;
    assert_eq!(
        (lost.conversation_id, lost.reason),
        (conversation, LockLostReason::Permission)
    );
    let refused = ann.say(conversation, "after", "still here?").await;
    assert_eq!(
        refused.expect_err("a viewer may not send").code,
        ErrorCode::Forbidden
    );
}
