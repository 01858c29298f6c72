//! What an invitation answers to (docs/PEOPLE.md, "Invitations"), against
//! a real server: its inviter's rights (deactivated, they take their
//! pending invitations along; a resender gives only what they could give),
//! its own account (another account may invite the same address and learns
//! nothing of it; an address that has a user anywhere is refused at
//! acceptance), and the writes that would strand it (deleting a group it
//! names, `user create` of its address).

use serde_json::{Value, json};

use crate::invitations::{
    accept, env_refs, invitations, invite, invite_by_command, lookup, mail_env, root_group,
};
use crate::support::Fixture;
use crate::support::server::PASSWORD;
use crate::support::smtp::{SmtpServer, token_in};

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

/// The actions of the account's audit log, newest first.
async fn audited(fx: &Fixture) -> Vec<Value> {
    let owner = &fx.owner.token;
    let (status, log) = fx.server.call(owner, "GET", "/v1/audit", Value::Null).await;
    assert_eq!(status, 200, "{log}");
    log["entries"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_deactivated_inviters_pending_invitation_is_revoked() {
    let smtp = SmtpServer::start().await;
    let env = mail_env(&smtp.url());
    let fx = Fixture::with_roles(&["admin"], &env_refs(&env)).await;
    let server = &fx.server;
    let (owner, inviter) = (&fx.owner.token, &fx.agents[0]);
    let root = root_group(server, owner).await;
    let viewer = json!([{"role": "viewer", "group_id": root}]);
    let (status, created) = invite(server, &inviter.token, &["kept@acme.test"], viewer).await;
    assert_eq!(status, 201, "{created}");
    let id = created["invitations"][0]["id"].clone();
    let token = token_in(&smtp.expect_mail_to("kept@acme.test").await);
    assert_eq!(lookup(server, &token).await.0, 200);

    let path = format!("/v1/users/{}/deactivate", inviter.id);
    let (status, answer) = server.call(owner, "POST", &path, Value::Null).await;
    assert_eq!(status, 200, "{answer}");

    let (status, dead) = lookup(server, &token).await;
    assert_eq!((status, code(&dead)), (404, "not_found"), "{dead}");
    let (status, dead) = accept(server, &token, "Kept Kim").await;
    assert_eq!((status, code(&dead)), (404, "not_found"), "{dead}");
    let revoked = invitations(server, owner, "revoked").await;
    assert_eq!(revoked.len(), 1, "{revoked:?}");
    assert_eq!(revoked[0]["id"], id);
    assert!(invitations(server, owner, "pending").await.is_empty());
    // Recorded as a revocation, by who deactivated the inviter.
    let log = audited(&fx).await;
    let entry = log
        .iter()
        .find(|e| e["action"] == "invitation.revoked")
        .unwrap_or_else(|| panic!("no revocation recorded: {log:?}"));
    assert_eq!(entry["detail"]["invitation_id"], id, "{entry}");
    assert_eq!(entry["actor_id"], fx.owner.id.to_string(), "{entry}");
}

#[tokio::test]
async fn a_resender_may_give_only_what_they_could_give() {
    let fx = Fixture::with_roles(&["operator"], &[]).await;
    let server = &fx.server;
    let owner = &fx.owner.token;
    let manager = &fx.agents[0];
    let root = root_group(server, owner).await;
    let body = json!({"name": "North", "parent_id": root});
    let (status, north) = server.call(owner, "POST", "/v1/groups", body).await;
    assert_eq!(status, 201, "{north}");
    let north = north["id"].clone();
    // A user manager of North who is no administrator there.
    let people = json!({"name": "People", "permissions": ["users.manage"]});
    let (status, people) = server.call(owner, "POST", "/v1/roles", people).await;
    assert_eq!(status, 201, "{people}");
    let grants = json!([{"role": people["id"], "group_id": north}]);
    let path = format!("/v1/users/{}/grants", manager.id);
    let (status, granted) = server.call(owner, "PUT", &path, grants).await;
    assert_eq!(status, 200, "{granted}");

    let admin_at = |group: &Value| json!([{"role": "administrator", "group_id": group}]);
    let (status, north_admin) = invite(server, owner, &["na@acme.test"], admin_at(&north)).await;
    assert_eq!(status, 201, "{north_admin}");
    let (status, root_admin) = invite(server, owner, &["ra@acme.test"], admin_at(&root)).await;
    assert_eq!(status, 201, "{root_admin}");
    let resend = |created: &Value| {
        let id = created["invitations"][0]["id"].as_str().unwrap().to_owned();
        async move {
            let path = format!("/v1/invitations/{id}/resend");
            server
                .call(&manager.token, "POST", &path, Value::Null)
                .await
        }
    };
    let before = invitations(server, owner, "pending").await;

    // North's administrator invitation is within their reach, but they
    // could not make anyone an administrator there.
    let (status, refused) = resend(&north_admin).await;
    assert_eq!((status, code(&refused)), (403, "forbidden"), "{refused}");
    // The root's is out of their reach altogether.
    let (status, refused) = resend(&root_admin).await;
    assert_eq!((status, code(&refused)), (404, "not_found"), "{refused}");
    assert_eq!(
        invitations(server, owner, "pending").await,
        before,
        "nothing resent"
    );
    // The grants they could give, they may resend.
    let (status, mine) = invite(server, owner, &["p@acme.test"], granted["grants"].clone()).await;
    assert_eq!(status, 201, "{mine}");
    let (status, resent) = resend(&mine).await;
    assert_eq!(status, 200, "{resent}");
}

#[tokio::test]
async fn another_account_may_invite_an_address_and_learns_nothing_of_it() {
    let smtp = SmtpServer::start().await;
    let env = mail_env(&smtp.url());
    let fx = Fixture::with_roles(&["operator"], &env_refs(&env)).await;
    let server = &fx.server;
    let owner = &fx.owner.token;
    let acme_viewer = json!([{"role": "viewer", "group_id": root_group(server, owner).await}]);
    server.create_rival_account().await;
    let eve = server.login("eve@rival.test").await;
    let rival_viewer = json!([{"role": "viewer", "group_id": root_group(server, &eve).await}]);

    // Pending in Acme, the address may be invited by Rival too.
    let (status, created) = invite(server, owner, &["both@x.test"], acme_viewer).await;
    assert_eq!(status, 201, "{created}");
    let (status, created) = invite(server, &eve, &["both@x.test"], rival_viewer.clone()).await;
    assert_eq!(status, 201, "{created}");
    // Acme's user's address answers as any other: Rival learns nothing.
    let acme_user = fx.agents[0].email.as_str();
    let (status, created) = invite(server, &eve, &[acme_user], rival_viewer.clone()).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["invitations"][0]["status"], "pending");
    // Within Rival, a pending address is refused still.
    let (status, refused) = invite(server, &eve, &["both@x.test"], rival_viewer).await;
    assert_eq!((status, code(&refused)), (409, "conflict"), "{refused}");

    // Accepting the link to Acme's user's address is refused, and nothing
    // is made: Rival's invitation stays pending, the user is Acme's.
    let token = token_in(&smtp.expect_mail_to(acme_user).await);
    let (status, refused) = accept(server, &token, "Taken Tom").await;
    assert_eq!((status, code(&refused)), (409, "conflict"), "{refused}");
    let said = refused["error"]["message"].as_str().unwrap_or("");
    assert!(said.contains("sign in instead"), "{refused}");
    let pending = invitations(server, &eve, "pending").await;
    assert_eq!(pending.len(), 2, "{pending:?}");
    let (status, me) = server
        .call(&fx.agents[0].token, "GET", "/v1/me", Value::Null)
        .await;
    assert_eq!(status, 200, "{me}");

    // Of the two accounts' links to one address, the first accepted
    // makes the user; the other is then refused.
    let mails = smtp.expect_mails_to("both@x.test", 2).await;
    let (status, first) = accept(server, &token_in(&mails[0]), "Both Bo").await;
    assert_eq!(status, 201, "{first}");
    let (status, second) = accept(server, &token_in(&mails[1]), "Both Bo").await;
    assert_eq!((status, code(&second)), (409, "conflict"), "{second}");
}

#[tokio::test]
async fn a_pending_invitation_keeps_its_group_and_its_address() {
    let fx = Fixture::with_roles(&[], &[]).await;
    let server = &fx.server;
    let owner = &fx.owner.token;
    let root = root_group(server, owner).await;
    let body = json!({"name": "North", "parent_id": root});
    let (_, north) = server.call(owner, "POST", "/v1/groups", body).await;
    let north = north["id"].as_str().expect("a group").to_owned();
    let grants = json!([{"role": "viewer", "group_id": north}]);
    let (status, created) = invite(server, owner, &["n@acme.test"], grants).await;
    assert_eq!(status, 201, "{created}");
    let id = created["invitations"][0]["id"].as_str().unwrap().to_owned();

    // The group the invitation names is not deleted under it.
    let group_path = format!("/v1/groups/{north}");
    let (status, refused) = server.call(owner, "DELETE", &group_path, Value::Null).await;
    assert_eq!((status, code(&refused)), (409, "conflict"), "{refused}");
    // Nor is a user made of an address pending in the account.
    let pending = invite_by_command(server, fx.account, "cli@acme.test").await;
    assert_eq!(lookup(server, &pending).await.0, 200);
    let account = fx.account.to_string();
    let create = [
        "user",
        "create",
        "--account",
        &account,
        "--email",
        "cli@acme.test",
        "--name",
        "Cli Cleo",
        "--password",
        PASSWORD,
        "--role",
        "operator",
    ];
    let error = server.admin_refused(&create).await;
    assert!(error.contains("pending invitation"), "{error}");

    // Revoked, both may go ahead.
    let (status, _) = server
        .call(
            owner,
            "DELETE",
            &format!("/v1/invitations/{id}"),
            Value::Null,
        )
        .await;
    assert_eq!(status, 200);
    let (status, deleted) = server.call(owner, "DELETE", &group_path, Value::Null).await;
    assert_eq!(status, 204, "{deleted}");
    let revoked = invitations(server, owner, "pending").await;
    let cli = revoked.iter().find(|i| i["email"] == "cli@acme.test");
    let cli_id = cli.expect("the command line's invitation")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = server
        .call(
            owner,
            "DELETE",
            &format!("/v1/invitations/{cli_id}"),
            Value::Null,
        )
        .await;
    assert_eq!(status, 200);
    let created = server.admin(&create).await;
    assert!(created["user_id"].is_string(), "{created}");
}
