//! Ownership (docs/PEOPLE.md, "Ownership"): exactly one owner per account,
//! held by the store; only the owner hands it over, re-entering their
//! password; the owner is never deactivated, removed or downgraded.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::cluster::Cluster;
use crate::support::server::PASSWORD;

/// Who holds the `owner` role, as the store says (the admin command reads
/// the database, not a server).
async fn owners_in_store(c: &Cluster) -> Vec<Uuid> {
    let account = c.account.to_string();
    let listed = c
        .node(0)
        .admin(&["user", "list", "--account", &account])
        .await;
    owners_of(&listed["users"])
}

/// Who holds the `owner` role in a list of users with their grants (the
/// API's `id`, the command's `user_id`).
fn owners_of(users: &Value) -> Vec<Uuid> {
    users
        .as_array()
        .unwrap_or_else(|| panic!("a list of users: {users}"))
        .iter()
        .filter(|u| {
            u["grants"]
                .as_array()
                .is_some_and(|g| g.iter().any(|g| g["role"] == "owner"))
        })
        .map(|u| {
            let id = u.get("id").or_else(|| u.get("user_id")).expect("an id");
            id.as_str().unwrap().parse().unwrap()
        })
        .collect()
}

async fn transfer(c: &Cluster, node: usize, token: &str, to: Uuid, password: &str) -> (u16, Value) {
    let body = json!({"user_id": to, "password": password});
    c.node(node)
        .call(token, "POST", "/v1/account/transfer-ownership", body)
        .await
}

#[tokio::test]
async fn two_concurrent_transfers_leave_exactly_one_owner() {
    let c = Cluster::start(2, 2, &[]).await;
    let (a, b) = (c.agents[0].id, c.agents[1].id);
    let token = c.owner.token.clone();

    // A wrong password transfers nothing.
    let (status, refused) = transfer(&c, 0, &token, a, "not the password").await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    assert_eq!(owners_in_store(&c).await, vec![c.owner.id]);

    // The owner hands it to A through node 1 and to B through node 2 at
    // the same moment: one wins.
    let (first, second) = tokio::join!(
        transfer(&c, 0, &token, a, PASSWORD),
        transfer(&c, 1, &token, b, PASSWORD)
    );
    let statuses = [first.0, second.0];
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "exactly one transfer succeeds: {first:?} {second:?}"
    );
    let loser = if first.0 == 200 { &second } else { &first };
    assert!(
        matches!(loser.0, 403 | 409),
        "the other is refused: {loser:?}"
    );
    let winner = if first.0 == 200 { a } else { b };

    // One owner, in the store and through the API of either node.
    assert_eq!(owners_in_store(&c).await, vec![winner]);
    let new_owner = &c.agents[if winner == a { 0 } else { 1 }];
    for node in 0..2 {
        let (status, users) = c
            .node(node)
            .call(&new_owner.token, "GET", "/v1/users", Value::Null)
            .await;
        assert_eq!(status, 200, "{users}");
        assert_eq!(owners_of(&users), vec![winner]);
        // The old owner is an administrator now.
        let old = users
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["id"] == json!(c.owner.id))
            .expect("the old owner is listed");
        assert!(
            old["grants"]
                .as_array()
                .unwrap()
                .iter()
                .any(|g| g["role"] == "administrator"),
            "{old}"
        );
    }

    // The old owner can no longer transfer it.
    let (status, refused) = transfer(&c, 1, &token, a, PASSWORD).await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(owners_in_store(&c).await, vec![winner]);
}

#[tokio::test]
async fn the_owner_cannot_be_deactivated_removed_or_downgraded() {
    let c = Cluster::start(1, 0, &[]).await;
    // An administrator, who manages every user.
    let account = c.account.to_string();
    c.node(0)
        .admin(&[
            "user",
            "create",
            "--account",
            &account,
            "--email",
            "ada@acme.test",
            "--name",
            "Ada Admin",
            "--role",
            "admin",
            "--password",
            PASSWORD,
        ])
        .await;
    let admin = c.node(0).login("ada@acme.test").await;
    let owner = c.owner.id;
    // The running node learns of her grants from the access stamp.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let (_, users) = c
            .node(0)
            .call(&admin, "GET", "/v1/users", Value::Null)
            .await;
        if owners_of(&users) == vec![owner] {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "ada never manages the owner: {users}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let root = {
        let (_, groups) = c
            .node(0)
            .call(&admin, "GET", "/v1/groups", Value::Null)
            .await;
        let root = groups
            .as_array()
            .and_then(|all| all.iter().find(|g| g["parent_id"].is_null()));
        root.unwrap_or_else(|| panic!("the root group in {groups}"))["id"].clone()
    };
    let attempts = [
        ("POST", format!("/v1/users/{owner}/deactivate"), Value::Null),
        ("DELETE", format!("/v1/users/{owner}"), Value::Null),
        (
            "PUT",
            format!("/v1/users/{owner}/grants"),
            json!([{"role": "administrator", "group_id": root}]),
        ),
    ];
    for (method, path, body) in attempts {
        for token in [&admin, &c.owner.token] {
            let (status, answer) = c.node(0).call(token, method, &path, body.clone()).await;
            assert_eq!(status, 409, "{method} {path}: {answer}");
            assert_eq!(answer["error"]["code"], "conflict", "{method} {path}");
        }
    }
    // Nor from the command line.
    let refused = c
        .node(0)
        .admin_refused(&["user", "deactivate", "--user", &owner.to_string()])
        .await;
    assert!(refused.contains("owner"), "{refused}");
    assert_eq!(owners_in_store(&c).await, vec![owner]);
    let (status, _) = c
        .node(0)
        .call(&c.owner.token, "GET", "/v1/me", Value::Null)
        .await;
    assert_eq!(status, 200, "the owner is still signed in");
}
