//! Invitations (docs/PEOPLE.md, "Invitations") against a real server and a
//! real SMTP server process: the mail arrives with its link, the link is
//! looked up and accepted once, the new user signs in with the
//! invitation's grants; resending and revoking kill links; an expired link
//! answers 410; of 100 concurrent acceptances one wins; a mail queued while
//! the SMTP server is down goes out, once, when it comes up.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::cluster::Database;
use crate::support::fault::sql;
use crate::support::server::{PASSWORD, Tenant};
use crate::support::smtp::{SmtpServer, mails_to, smtp_url, token_in};
use crate::support::{Fixture, TestServer};

/// A sender that tries often, so that tests wait little.
pub fn mail_env(smtp: &str) -> Vec<(&'static str, String)> {
    vec![
        ("SWITCHBOARD_SMTP_URL", smtp.to_owned()),
        ("SWITCHBOARD_MAIL_POLL_MS", "50".into()),
        ("SWITCHBOARD_MAIL_RETRY_BASE_MS", "100".into()),
        ("SWITCHBOARD_MAIL_MAX_ATTEMPTS", "100".into()),
        (
            "SWITCHBOARD_MAIL_FROM",
            "Acme Console <console@acme.test>".into(),
        ),
        ("SWITCHBOARD_PUBLIC_URL", "http://console.acme.test/".into()),
    ]
}

pub fn env_refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

pub async fn root_group(server: &TestServer, token: &str) -> Value {
    let (status, groups) = server.call(token, "GET", "/v1/groups", Value::Null).await;
    assert_eq!(status, 200, "{groups}");
    groups[0]["id"].clone()
}

pub async fn invite(
    server: &TestServer,
    token: &str,
    emails: &[&str],
    grants: Value,
) -> (u16, Value) {
    let body = json!({"emails": emails, "grants": grants});
    server.call(token, "POST", "/v1/invitations", body).await
}

pub async fn lookup(server: &TestServer, token: &str) -> (u16, Value) {
    let path = format!("/v1/invitations/lookup?token={token}");
    server.call("", "GET", &path, Value::Null).await
}

pub async fn accept(server: &TestServer, token: &str, name: &str) -> (u16, Value) {
    let body = json!({"token": token, "name": name, "password": PASSWORD});
    server
        .call("", "POST", "/v1/invitations/accept", body)
        .await
}

/// The caller's invitations (of `status`, if any).
pub async fn invitations(server: &TestServer, token: &str, status: &str) -> Vec<Value> {
    let path = match status {
        "" => "/v1/invitations".to_owned(),
        status => format!("/v1/invitations?status={status}"),
    };
    let (code, list) = server.call(token, "GET", &path, Value::Null).await;
    assert_eq!(code, 200, "{list}");
    list["invitations"].as_array().unwrap().clone()
}

/// Waits until the invitation to `email` shows `mail_status`.
async fn expect_mail_status(server: &TestServer, token: &str, email: &str, wanted: &str) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let all = invitations(server, token, "").await;
        let shown = all.iter().find(|i| i["email"] == email).cloned();
        if shown.as_ref().is_some_and(|i| i["mail_status"] == wanted) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "mail_status of {email} never became {wanted}: {shown:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn an_invitation_travels_by_mail_and_its_link_makes_a_signed_in_user() {
    let smtp = SmtpServer::start().await;
    let env = mail_env(&smtp.url());
    let fx = Fixture::with_roles(&["operator"], &env_refs(&env)).await;
    let server = &fx.server;
    let owner = &fx.owner.token;
    let root = root_group(server, owner).await;
    let grants = json!([{"role": "operator", "group_id": root}]);

    let (status, created) = invite(server, owner, &["New.Person@Acme.test"], grants.clone()).await;
    assert_eq!(status, 201, "{created}");
    let invitation = &created["invitations"][0];
    assert_eq!(invitation["email"], "new.person@acme.test");
    assert_eq!(invitation["status"], "pending");
    assert_eq!(invitation["grants"], grants);
    assert!(invitation["expires_at"].is_string(), "{invitation}");

    let mail = smtp.expect_mail_to("new.person@acme.test").await;
    assert_eq!(mail["from"], "console@acme.test");
    assert!(mail["subject"].as_str().unwrap().contains("Acme"), "{mail}");
    let token = token_in(&mail);
    assert!(token.len() >= 26, "at least 128 random bits: {token}");
    let link = format!("http://console.acme.test/accept?token={token}");
    assert!(mail["text"].as_str().unwrap().contains(&link), "{mail}");
    assert!(mail["html"].as_str().unwrap().contains(&link), "{mail}");
    assert!(
        mail["text"].as_str().unwrap().contains("Olive Owner"),
        "{mail}"
    );
    expect_mail_status(server, owner, "new.person@acme.test", "sent").await;

    let (status, found) = lookup(server, &token).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["email"], "new.person@acme.test");
    assert_eq!(found["account"]["name"], "Acme");

    let (status, session) = accept(server, &token, "Nora New").await;
    assert_eq!(status, 201, "{session}");
    let new_token = session["token"].as_str().unwrap().to_owned();
    assert_eq!(session["user"]["email"], "new.person@acme.test");
    assert_eq!(session["user"]["name"], "Nora New");
    let (status, me) = server.call(&new_token, "GET", "/v1/me", Value::Null).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["grants"], grants, "the invitation's grants");
    // The password chosen signs in too.
    server.login("new.person@acme.test").await;

    // The link worked once.
    let (status, again) = accept(server, &token, "Nora Twice").await;
    assert_eq!((status, code(&again)), (404, "not_found"), "{again}");
    assert_eq!(lookup(server, &token).await.0, 404);
    let accepted = invitations(server, owner, "accepted").await;
    assert_eq!(accepted.len(), 1, "{accepted:?}");
    assert_eq!(accepted[0]["user_id"], session["user"]["id"]);

    let (_, log) = server.call(owner, "GET", "/v1/audit", Value::Null).await;
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions[..2],
        ["invitation.accepted", "invitation.created"],
        "{log}"
    );
    assert_eq!(log["entries"][0]["target_user_id"], session["user"]["id"]);
}

#[tokio::test]
async fn refused_invitations_create_nothing() {
    let fx = Fixture::with_roles(&["operator"], &[]).await;
    let server = &fx.server;
    let owner = &fx.owner.token;
    let root = root_group(server, owner).await;
    let operator = json!([{"role": "operator", "group_id": root}]);

    // An operator manages nobody: they may not invite.
    let (status, refused) = invite(
        server,
        &fx.agents[0].token,
        &["x@acme.test"],
        operator.clone(),
    )
    .await;
    assert_eq!((status, code(&refused)), (403, "forbidden"), "{refused}");
    // Nobody gives the owner role.
    let owner_role = json!([{"role": "owner", "group_id": root}]);
    let (status, refused) = invite(server, owner, &["x@acme.test"], owner_role).await;
    assert_eq!(status, 403, "{refused}");
    // A malformed address among good ones: nothing is created.
    let (status, refused) = invite(
        server,
        owner,
        &["ok@acme.test", "not-an-address"],
        operator.clone(),
    )
    .await;
    assert_eq!((status, code(&refused)), (400, "bad_request"), "{refused}");
    // An address that is a user's.
    let (status, refused) = invite(
        server,
        owner,
        &["ok@acme.test", "agent0@acme.test"],
        operator.clone(),
    )
    .await;
    assert_eq!((status, code(&refused)), (409, "conflict"), "{refused}");
    assert!(
        invitations(server, owner, "").await.is_empty(),
        "all or nothing"
    );
    // An address with a pending invitation.
    assert_eq!(
        invite(server, owner, &["ok@acme.test"], operator.clone())
            .await
            .0,
        201
    );
    let (status, refused) = invite(
        server,
        owner,
        &["second@acme.test", "OK@acme.test"],
        operator,
    )
    .await;
    assert_eq!((status, code(&refused)), (409, "conflict"), "{refused}");
    let all = invitations(server, owner, "").await;
    assert_eq!(all.len(), 1, "{all:?}");
    // Without SMTP the mail waits in the outbox and the link is logged.
    server
        .expect_log(&["invitation link", "ok@acme.test"])
        .await;

    // Another account sees nothing of them.
    server.create_rival_account().await;
    let rival = server.login("eve@rival.test").await;
    assert!(invitations(server, &rival, "").await.is_empty());
    let id = all[0]["id"].as_str().unwrap();
    let path = format!("/v1/invitations/{id}");
    assert_eq!(
        server.call(&rival, "DELETE", &path, Value::Null).await.0,
        404
    );
}

#[tokio::test]
async fn resending_kills_the_old_link_and_revoking_kills_the_link() {
    let smtp = SmtpServer::start().await;
    let env = mail_env(&smtp.url());
    let fx = Fixture::with_roles(&[], &env_refs(&env)).await;
    let server = &fx.server;
    let owner = &fx.owner.token;
    let root = root_group(server, owner).await;
    let grants = json!([{"role": "viewer", "group_id": root}]);
    let (status, created) = invite(server, owner, &["late@acme.test"], grants).await;
    assert_eq!(status, 201, "{created}");
    let id = created["invitations"][0]["id"].as_str().unwrap().to_owned();
    let first = token_in(&smtp.expect_mail_to("late@acme.test").await);

    let (status, resent) = server
        .call(
            owner,
            "POST",
            &format!("/v1/invitations/{id}/resend"),
            Value::Null,
        )
        .await;
    assert_eq!(status, 200, "{resent}");
    assert_eq!(resent["status"], "pending");
    let mails = smtp.expect_mails_to("late@acme.test", 2).await;
    let second = token_in(&mails[1]);
    assert_ne!(first, second);
    assert_eq!(lookup(server, &first).await.0, 404, "the old link is dead");
    assert_eq!(accept(server, &first, "Old Link").await.0, 404);
    assert_eq!(lookup(server, &second).await.0, 200, "the new link works");

    let (status, revoked) = server
        .call(
            owner,
            "DELETE",
            &format!("/v1/invitations/{id}"),
            Value::Null,
        )
        .await;
    assert_eq!(status, 200, "{revoked}");
    assert_eq!(revoked["status"], "revoked");
    assert_eq!(
        lookup(server, &second).await.0,
        404,
        "a revoked link is dead"
    );
    assert_eq!(accept(server, &second, "Too Late").await.0, 404);
    let listed = invitations(server, owner, "revoked").await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    // Nothing more to revoke or resend.
    assert_eq!(
        server
            .call(
                owner,
                "DELETE",
                &format!("/v1/invitations/{id}"),
                Value::Null
            )
            .await
            .0,
        404
    );

    let (_, log) = server.call(owner, "GET", "/v1/audit", Value::Null).await;
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "invitation.revoked",
            "invitation.resent",
            "invitation.created"
        ],
        "{log}"
    );
}

/// A server on a Postgres database of its own (so the test may move time
/// with SQL), its tenant, and a mail directory nobody reads.
async fn on_postgres(roles: &[&str]) -> (TestServer, Tenant, Database, tempfile::TempDir) {
    let database = Database::create().await;
    let mail_dir = tempfile::tempdir().unwrap();
    let dir = mail_dir.path().display().to_string();
    let server = TestServer::start_with(&database.url, &[("SWITCHBOARD_MAIL_DIR", &dir)]).await;
    let tenant = Tenant::create(&server, roles).await;
    (server, tenant, database, mail_dir)
}

/// Invites with the command line, which prints the link when no SMTP
/// server is configured; returns the token.
pub async fn invite_by_command(server: &TestServer, account: Uuid, email: &str) -> String {
    let printed = server
        .admin(&[
            "invite",
            "--account",
            &account.to_string(),
            "--email",
            email,
            "--role",
            "operator",
        ])
        .await;
    let link = printed["invitations"][0]["link"]
        .as_str()
        .expect("a link")
        .to_owned();
    link.split("token=").nth(1).expect("a token").to_owned()
}

#[tokio::test]
async fn an_expired_link_answers_410() {
    let (server, tenant, database, _mail) = on_postgres(&[]).await;
    let token = invite_by_command(&server, tenant.account, "slow@acme.test").await;
    assert_eq!(lookup(&server, &token).await.0, 200);

    sql(
        &database.url,
        "UPDATE invitations SET expires_at = now() - interval '1 minute' \
         WHERE email = 'slow@acme.test' RETURNING 1",
    )
    .await;
    let (status, expired) = lookup(&server, &token).await;
    assert_eq!((status, code(&expired)), (410, "expired"), "{expired}");
    let (status, expired) = accept(&server, &token, "Slow Sam").await;
    assert_eq!((status, code(&expired)), (410, "expired"), "{expired}");
    let owner = &tenant.owner.token;
    let listed = invitations(&server, owner, "expired").await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert!(invitations(&server, owner, "pending").await.is_empty());
    let users = sql(
        &database.url,
        "SELECT count(*) FROM users WHERE email = 'slow@acme.test'",
    )
    .await;
    assert_eq!(users, "0");
}

#[tokio::test]
async fn of_100_concurrent_acceptances_of_one_link_one_makes_a_user() {
    let (server, tenant, database, _mail) = on_postgres(&[]).await;
    let token = invite_by_command(&server, tenant.account, "popular@acme.test").await;
    let server = std::sync::Arc::new(server);
    let tries: Vec<_> = (0..100)
        .map(|i| {
            let server = server.clone();
            let token = token.clone();
            tokio::spawn(async move { accept(&server, &token, &format!("Taker {i}")).await })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tries {
        answers.push(task.await.unwrap());
    }
    let won: Vec<_> = answers
        .iter()
        .filter(|(status, _)| *status == 201)
        .collect();
    assert_eq!(won.len(), 1, "exactly one acceptance wins");
    let lost: Vec<_> = answers
        .iter()
        .filter(|(status, _)| *status != 201)
        .collect();
    assert!(
        lost.iter()
            .all(|(status, body)| *status == 404 && code(body) == "not_found"),
        "the others are told the link is used: {lost:?}"
    );
    let users = sql(
        &database.url,
        "SELECT count(*) FROM users WHERE email = 'popular@acme.test'",
    )
    .await;
    assert_eq!(users, "1");
    let name = sql(
        &database.url,
        "SELECT name FROM users WHERE email = 'popular@acme.test'",
    )
    .await;
    assert_eq!(won[0].1["user"]["name"], name.as_str());
}

#[tokio::test]
async fn a_mail_queued_while_smtp_is_down_goes_out_once_when_it_comes_up() {
    let port = switchboard_testkit::free_port();
    let env = mail_env(&smtp_url(port));
    let fx = Fixture::with_roles(&[], &env_refs(&env)).await;
    let server = &fx.server;
    let owner = &fx.owner.token;
    let root = root_group(server, owner).await;
    let grants = json!([{"role": "viewer", "group_id": root}]);
    let (status, created) = invite(server, owner, &["patient@acme.test"], grants.clone()).await;
    assert_eq!(status, 201, "{created}");

    // The first tries fail: nobody listens.
    server
        .expect_log(&["mail not sent", "\"attempts\":2"])
        .await;
    let shown = invitations(server, owner, "").await;
    assert_eq!(shown[0]["mail_status"], "queued", "{shown:?}");

    let smtp = SmtpServer::start_on(port).await;
    let mail = smtp.expect_mail_to("patient@acme.test").await;
    expect_mail_status(server, owner, "patient@acme.test", "sent").await;
    // A later mail through the same outbox: by the time it arrives, a
    // second copy of the first would have too.
    assert_eq!(
        invite(server, owner, &["after@acme.test"], grants).await.0,
        201
    );
    smtp.expect_mail_to("after@acme.test").await;
    let received = smtp.received();
    assert_eq!(
        mails_to(&received, "patient@acme.test").len(),
        1,
        "{received:#?}"
    );
    assert_eq!(received.len(), 2, "{received:#?}");
    let token = token_in(&mail);
    assert_eq!(accept(server, &token, "Pat Patient").await.0, 201);
}

/// An SMTP server that accepts the connection and then says nothing is a
/// failed try once `SWITCHBOARD_SMTP_TIMEOUT_MS` passes, not a sender
/// stuck for good: when a real server takes its place, the mail goes out.
#[tokio::test]
async fn a_silent_smtp_server_is_a_failed_try_not_a_stuck_sender() {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let port = silent.local_addr().expect("its address").port();
    // Holds every connection open without a word.
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let mut env = mail_env(&smtp_url(port));
    env.push(("SWITCHBOARD_SMTP_TIMEOUT_MS", "300".into()));
    let fx = Fixture::with_roles(&[], &env_refs(&env)).await;
    let server = &fx.server;
    let owner = &fx.owner.token;
    let root = root_group(server, owner).await;
    let grants = json!([{"role": "viewer", "group_id": root}]);
    assert_eq!(
        invite(server, owner, &["quiet@acme.test"], grants).await.0,
        201
    );
    server
        .expect_log(&[
            "mail not sent",
            "did not finish within 300 ms",
            "\"attempts\":2",
        ])
        .await;

    holder.abort();
    let _ = holder.await;
    let smtp = SmtpServer::start_on(port).await;
    smtp.expect_mail_to("quiet@acme.test").await;
    expect_mail_status(server, owner, "quiet@acme.test", "sent").await;
}
