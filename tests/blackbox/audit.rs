//! The audit log (docs/PEOPLE.md, "Audit log") against a real server:
//! changes to access are recorded with who, what, to whom and when, read
//! newest first a page at a time, by those who manage users account-wide
//! only, and never across accounts.

use serde_json::{Value, json};

use crate::support::Fixture;

#[tokio::test]
async fn changes_to_access_are_recorded_and_read_newest_first_by_managers_only() {
    let fx = Fixture::with_roles(&["operator"], &[]).await;
    let server = &fx.server;
    let owner = &fx.owner.token;
    let agent = &fx.agents[0];

    let (_, groups) = server.call(owner, "GET", "/v1/groups", Value::Null).await;
    let root = groups[0]["id"].clone();
    let (status, group) = server
        .call(
            owner,
            "POST",
            "/v1/groups",
            json!({"name": "North", "parent_id": root}),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    let role = json!({"name": "Triage", "permissions": ["conversations.view"]});
    let (status, role) = server.call(owner, "POST", "/v1/roles", role).await;
    assert_eq!(status, 201, "{role}");
    let grants = json!([{"role": "viewer", "group_id": group["id"]}]);
    let path = format!("/v1/users/{}/grants", agent.id);
    let (status, _) = server.call(owner, "PUT", &path, grants.clone()).await;
    assert_eq!(status, 200);

    let (status, log) = server.call(owner, "GET", "/v1/audit", Value::Null).await;
    assert_eq!(status, 200, "{log}");
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "grants.changed",
            "role.created",
            "group.created",
            // The fixture's agent, made with the command line.
            "user.created"
        ],
        "newest first: {log}"
    );
    assert!(log["entries"][3]["actor_id"].is_null(), "{log}");
    let change = &log["entries"][0];
    assert_eq!(change["actor_id"], fx.owner.id.to_string());
    assert_eq!(change["target_user_id"], agent.id.to_string());
    assert_eq!(
        change["detail"]["before"],
        json!([{"role": "operator", "group_id": root}])
    );
    assert_eq!(change["detail"]["after"], grants);
    assert!(
        change["at"].as_str().is_some_and(|at| !at.is_empty()),
        "{change}"
    );
    assert_eq!(log["entries"][1]["detail"]["name"], "Triage");
    assert!(log["next_cursor"].is_null(), "one page: {log}");

    // A page at a time, by the cursor.
    let (_, first) = server
        .call(owner, "GET", "/v1/audit?limit=2", Value::Null)
        .await;
    assert_eq!(first["entries"].as_array().unwrap().len(), 2, "{first}");
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let rest = format!("/v1/audit?limit=2&cursor={cursor}");
    let (_, second) = server.call(owner, "GET", &rest, Value::Null).await;
    assert_eq!(second["entries"][0]["action"], "group.created", "{second}");
    assert_eq!(second["entries"][1]["action"], "user.created", "{second}");
    assert!(second["next_cursor"].is_null(), "{second}");

    // Only who manages users at the root reads it; another account sees
    // nothing of this one's.
    let (status, refused) = server
        .call(&agent.token, "GET", "/v1/audit", Value::Null)
        .await;
    assert_eq!(
        (status, &refused["error"]["code"]),
        (403, &json!("forbidden")),
        "{refused}"
    );
    server.create_rival_account().await;
    let eve = server.login("eve@rival.test").await;
    let (status, theirs) = server.call(&eve, "GET", "/v1/audit", Value::Null).await;
    assert_eq!(status, 200, "{theirs}");
    assert_eq!(theirs["entries"], json!([]), "{theirs}");
    let (status, _) = server.call(&eve, "GET", &rest, Value::Null).await;
    assert_eq!(
        status, 200,
        "a cursor of another account's log shows nothing of it"
    );
}
