//! Seats (docs/PEOPLE.md, "Seats") against a real server on Postgres: the
//! plan caps active users plus pending invitations; an invitation beyond
//! it is refused with `seat_limit` and nothing is created, also when many
//! race for the last seat; revoked, expired and deactivated free theirs,
//! and reactivating a user takes one again.

use serde_json::{Value, json};

use crate::invitations::{accept, invitations, invite, invite_by_command, root_group};
use crate::support::TestServer;
use crate::support::cluster::Database;
use crate::support::fault::sql;
use crate::support::server::{PASSWORD, Tenant};

async fn on_postgres() -> (TestServer, Tenant, Database, tempfile::TempDir) {
    let database = Database::create().await;
    let mail_dir = tempfile::tempdir().unwrap();
    let dir = mail_dir.path().display().to_string();
    let server = TestServer::start_with(&database.url, &[("SWITCHBOARD_MAIL_DIR", &dir)]).await;
    let tenant = Tenant::create(&server, &["operator"]).await;
    (server, tenant, database, mail_dir)
}

async fn account(server: &TestServer, token: &str) -> Value {
    let (status, account) = server.call(token, "GET", "/v1/account", Value::Null).await;
    assert_eq!(status, 200, "{account}");
    account
}

async fn set_limit(server: &TestServer, token: &str, limit: Value) -> (u16, Value) {
    let body = json!({"seat_limit": limit});
    server.call(token, "PUT", "/v1/account/plan", body).await
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn beyond_the_cap_invitations_are_refused_and_freed_seats_come_back() {
    let (server, tenant, database, _mail) = on_postgres().await;
    let owner = &tenant.owner.token;
    let operator = &tenant.agents[0].token;
    let root = root_group(&server, owner).await;
    let viewer = json!([{"role": "viewer", "group_id": root}]);

    let seen = account(&server, operator).await;
    assert_eq!(seen["name"], "Acme");
    assert_eq!(seen["seat_limit"], Value::Null);
    assert_eq!(seen["seats_used"], 2, "the owner and the operator");

    // Only billing.manage at the root sets the plan.
    let (status, refused) = set_limit(&server, operator, json!(3)).await;
    assert_eq!((status, code(&refused)), (403, "forbidden"), "{refused}");
    let (status, plan) = set_limit(&server, owner, json!(3)).await;
    assert_eq!(status, 200, "{plan}");
    assert_eq!(
        (plan["seat_limit"].clone(), plan["seats_used"].clone()),
        (json!(3), json!(2))
    );

    // The third seat goes to an invitation; the fourth is refused, and a
    // request for two when one is left creates neither.
    let (status, two) = invite(
        &server,
        owner,
        &["a@acme.test", "b@acme.test"],
        viewer.clone(),
    )
    .await;
    assert_eq!((status, code(&two)), (409, "seat_limit"), "{two}");
    assert!(
        invitations(&server, owner, "").await.is_empty(),
        "nothing created"
    );
    let (status, third) = invite(&server, owner, &["a@acme.test"], viewer.clone()).await;
    assert_eq!(status, 201, "{third}");
    let (status, fourth) = invite(&server, owner, &["b@acme.test"], viewer.clone()).await;
    assert_eq!((status, code(&fourth)), (409, "seat_limit"), "{fourth}");
    assert_eq!(invitations(&server, owner, "").await.len(), 1);
    assert_eq!(account(&server, owner).await["seats_used"], 3);
    // Nor does the command line create a user beyond it.
    let refused = server
        .admin_refused(&[
            "user",
            "create",
            "--account",
            &tenant.account.to_string(),
            "--email",
            "c@acme.test",
            "--name",
            "C",
            "--password",
            PASSWORD,
        ])
        .await;
    assert!(refused.contains("seats"), "{refused}");
    // The cap cannot go below the seats in use.
    let (status, refused) = set_limit(&server, owner, json!(2)).await;
    assert_eq!((status, code(&refused)), (409, "conflict"), "{refused}");

    // Revoking frees a seat.
    let id = invitations(&server, owner, "").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/v1/invitations/{id}");
    assert_eq!(
        server.call(owner, "DELETE", &path, Value::Null).await.0,
        200
    );
    assert_eq!(account(&server, owner).await["seats_used"], 2);

    // An expired invitation frees its seat.
    let token = invite_by_command(&server, tenant.account, "d@acme.test").await;
    assert_eq!(account(&server, owner).await["seats_used"], 3);
    sql(
        &database.url,
        "UPDATE invitations SET expires_at = now() - interval '1 minute' \
         WHERE email = 'd@acme.test' RETURNING 1",
    )
    .await;
    assert_eq!(account(&server, owner).await["seats_used"], 2);
    assert_eq!(accept(&server, &token, "Dee").await.0, 410);

    // An accepted invitation's seat is its user's; deactivating the user
    // frees it.
    let token = invite_by_command(&server, tenant.account, "e@acme.test").await;
    let (status, session) = accept(&server, &token, "Eve Early").await;
    assert_eq!(status, 201, "{session}");
    assert_eq!(account(&server, owner).await["seats_used"], 3);
    let (status, full) = invite(&server, owner, &["f@acme.test"], viewer.clone()).await;
    assert_eq!((status, code(&full)), (409, "seat_limit"), "{full}");
    let eve = session["user"]["id"].as_str().expect("the new user's id");
    let deactivate = format!("/v1/users/{eve}/deactivate");
    let (status, answer) = server.call(owner, "POST", &deactivate, Value::Null).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(account(&server, owner).await["seats_used"], 2);
    let (status, freed) = invite(&server, owner, &["f@acme.test"], viewer).await;
    assert_eq!(status, 201, "{freed}");

    // Reactivating takes a seat again: none is left.
    let reactivate = format!("/v1/users/{eve}/reactivate");
    let (status, full) = server.call(owner, "POST", &reactivate, Value::Null).await;
    assert_eq!((status, code(&full)), (409, "seat_limit"), "{full}");
    assert_eq!(account(&server, owner).await["seats_used"], 3);

    // The command line lifts the cap.
    let lifted = server
        .admin(&[
            "account",
            "set-plan",
            "--account",
            &tenant.account.to_string(),
            "--unlimited",
        ])
        .await;
    assert_eq!(lifted["seat_limit"], Value::Null, "{lifted}");
    assert_eq!(account(&server, owner).await["seat_limit"], Value::Null);
    let (status, back) = server.call(owner, "POST", &reactivate, Value::Null).await;
    assert_eq!(status, 200, "{back}");
    assert_eq!(account(&server, owner).await["seats_used"], 4);

    let (_, log) = server.call(owner, "GET", "/v1/audit", Value::Null).await;
    let changes: Vec<&Value> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "plan.changed")
        .collect();
    assert_eq!(changes.len(), 2, "{log}");
    assert_eq!(
        changes[0]["detail"]["seat_limit"],
        json!({"before": 3, "after": null})
    );
}

#[tokio::test]
async fn of_many_racing_for_the_last_seat_one_gets_it() {
    let (server, tenant, database, _mail) = on_postgres().await;
    let owner = tenant.owner.token.clone();
    let root = root_group(&server, &owner).await;
    assert_eq!(set_limit(&server, &owner, json!(3)).await.0, 200);
    let server = std::sync::Arc::new(server);
    let racers: Vec<_> = (0..20)
        .map(|i| {
            let (server, owner, root) = (server.clone(), owner.clone(), root.clone());
            tokio::spawn(async move {
                let grants = json!([{"role": "viewer", "group_id": root}]);
                let email = format!("racer{i}@acme.test");
                invite(&server, &owner, &[email.as_str()], grants).await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for racer in racers {
        answers.push(racer.await.unwrap());
    }
    let won = answers.iter().filter(|(status, _)| *status == 201).count();
    assert_eq!(won, 1, "{answers:?}");
    assert!(
        answers
            .iter()
            .all(|(status, body)| *status == 201 || code(body) == "seat_limit"),
        "{answers:?}"
    );
    let pending = sql(
        &database.url,
        "SELECT count(*) FROM invitations WHERE status = 'pending'",
    )
    .await;
    assert_eq!(pending, "1");
}
