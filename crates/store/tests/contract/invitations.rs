//! Invitations, seats and the mail outbox on every backend: an invitation
//! is accepted once into a user holding its grants, and expires with the
//! store's clock; seats cap users plus pending invitations; a due mail is
//! claimed by one of several nodes, retried after its backoff, and never
//! sent once cancelled. A pending invitation's groups and custom roles are
//! not deleted under it, nor is a user made of its address; each account
//! knows only its own invitations; an inviter who is deactivated takes
//! their invitations with them.

use std::sync::Arc;
use std::time::Duration;

use switchboard_core::StoreError;
use switchboard_core::access::{BuiltinRole, CustomRole, Grant, Permission, PermissionSet, RoleId};
use switchboard_core::invitations::{
    Acceptance, InvitationStatus, MailStatus, NewInvitation, NewInvitations, NewMail,
};
use switchboard_core::{Role, model::NewUser};
use switchboard_store::Store;

use crate::fixtures::{HASH, Tenant, agent, group, name, tenant};
use crate::harness::Clocked;

const TTL: Duration = Duration::from_secs(3600);

fn invitations(
    tenant: &Tenant,
    root: switchboard_core::GroupId,
    emails: &[&str],
) -> NewInvitations {
    NewInvitations {
        account_id: tenant.account.id,
        invited_by: Some(tenant.owner.id),
        grants: vec![Grant::new(RoleId::Builtin(BuiltinRole::Viewer), root)],
        ttl: TTL,
        invitations: emails
            .iter()
            .map(|email| NewInvitation {
                email: (*email).to_owned(),
                token_hash: token(email),
                mail: NewMail {
                    recipient: (*email).to_owned(),
                    message: format!("To: {email}\r\n\r\nhello"),
                },
            })
            .collect(),
    }
}

fn token(email: &str) -> [u8; 32] {
    let mut hash = [0u8; 32];
    for (i, b) in email.bytes().enumerate() {
        hash[i % 32] ^= b;
    }
    hash[31] = email.len() as u8;
    hash
}

fn acceptance(email: &str) -> Acceptance {
    Acceptance {
        token_hash: token(email),
        name: "New".into(),
        password_hash: HASH.into(),
        capacity: 2,
    }
}

async fn root(store: &Arc<dyn Store>, tenant: &Tenant) -> switchboard_core::GroupId {
    store.groups_of(tenant.account.id).await.unwrap()[0].id
}

async fn an_invitation_is_accepted_once_and_expires_with_the_clock(
    Clocked { store, clock }: Clocked,
) {
    let acme = tenant(&store, "acme").await;
    let root = root(&store, &acme).await;
    let made = store
        .create_invitations(&invitations(
            &acme,
            root,
            &["a@acme.example", "b@acme.example"],
        ))
        .await
        .unwrap();
    assert_eq!(made.len(), 2);
    assert_eq!(made[0].status, InvitationStatus::Pending);
    assert_eq!(made[0].mail_status, Some(MailStatus::Queued));
    assert_eq!(made[0].account_name, "acme");
    let again = store
        .create_invitations(&invitations(
            &acme,
            root,
            &["c@acme.example", "A@acme.example".to_lowercase().as_str()],
        ))
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    assert_eq!(
        store
            .invitations_of(acme.account.id, None)
            .await
            .unwrap()
            .len(),
        2
    );

    let (accepted, user) = store
        .accept_invitation(&acceptance("a@acme.example"), Role::Viewer)
        .await
        .unwrap();
    assert_eq!(accepted.status, InvitationStatus::Accepted);
    assert_eq!(accepted.user_id, Some(user.id));
    assert_eq!(accepted.mail_status, Some(MailStatus::Cancelled));
    assert_eq!(store.grants_of(user.id).await.unwrap(), accepted.grants);
    let twice = store
        .accept_invitation(&acceptance("a@acme.example"), Role::Viewer)
        .await;
    assert!(matches!(twice, Err(StoreError::NotFound)), "{twice:?}");

    clock.advance(TTL + Duration::from_secs(1));
    let late = store
        .accept_invitation(&acceptance("b@acme.example"), Role::Viewer)
        .await;
    assert!(matches!(late, Err(StoreError::Expired)), "{late:?}");
    let expired = store
        .invitations_of(acme.account.id, Some(InvitationStatus::Expired))
        .await
        .unwrap();
    assert_eq!(expired.len(), 1);
    // Its address may be invited again (with a new token).
    let mut again = invitations(&acme, root, &["b2@acme.example", "b@acme.example"]);
    for invitation in &mut again.invitations {
        invitation.token_hash[0] ^= 0xff;
    }
    store
        .create_invitations(&again)
        .await
        .map(drop)
        .unwrap_or_else(|e| panic!("{e}"));
}

async fn seats_cap_users_and_pending_invitations(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let root = root(&store, &acme).await;
    assert_eq!(store.seats(acme.account.id).await.unwrap().used, 1);
    store
        .set_seat_limit(acme.account.id, Some(2))
        .await
        .unwrap();
    let two = store
        .create_invitations(&invitations(
            &acme,
            root,
            &["a@acme.example", "b@acme.example"],
        ))
        .await;
    assert!(
        matches!(
            two,
            Err(StoreError::SeatLimit {
                limit: 2,
                used: 1,
                wanted: 2
            })
        ),
        "{two:?}"
    );
    let one = store
        .create_invitations(&invitations(&acme, root, &["a@acme.example"]))
        .await
        .unwrap();
    let user = store
        .create_user(NewUser {
            account_id: acme.account.id,
            email: "c@acme.example",
            name: "C",
            password_hash: HASH,
            role: Role::Operator,
            capacity: 1,
        })
        .await;
    assert!(
        matches!(user, Err(StoreError::SeatLimit { .. })),
        "{user:?}"
    );
    let lower = store.set_seat_limit(acme.account.id, Some(1)).await;
    assert!(matches!(lower, Err(StoreError::Conflict(_))), "{lower:?}");
    store.revoke_invitation(one[0].id).await.unwrap();
    assert_eq!(store.seats(acme.account.id).await.unwrap().used, 1);
    let lifted = store.set_seat_limit(acme.account.id, None).await.unwrap();
    assert_eq!(lifted.limit, None);
}

async fn a_due_mail_is_claimed_once_retried_later_and_never_sent_cancelled(
    Clocked { store, clock }: Clocked,
) {
    let acme = tenant(&store, "acme").await;
    let root = root(&store, &acme).await;
    let made = store
        .create_invitations(&invitations(
            &acme,
            root,
            &["a@acme.example", "b@acme.example"],
        ))
        .await
        .unwrap();
    let lease = Duration::from_secs(60);
    let claimed = store.claim_mails(lease, 10).await.unwrap();
    assert_eq!(claimed.len(), 2);
    assert!(
        claimed
            .iter()
            .all(|m| m.attempts == 1 && m.message.contains("hello"))
    );
    assert!(
        store.claim_mails(lease, 10).await.unwrap().is_empty(),
        "leased"
    );

    let (a, b) = (&claimed[0], &claimed[1]);
    store.mail_sent(a).await.unwrap();
    store
        .mail_failed(b, "connection refused", Some(Duration::from_secs(5)))
        .await
        .unwrap();
    assert!(
        store.claim_mails(lease, 10).await.unwrap().is_empty(),
        "not yet due"
    );
    clock.advance(Duration::from_secs(6));
    let retried = store.claim_mails(lease, 10).await.unwrap();
    assert_eq!(retried.len(), 1);
    assert_eq!((retried[0].id, retried[0].attempts), (b.id, 2));
    // A stale claim reports nothing.
    store.mail_sent(b).await.unwrap();
    store
        .mail_failed(&retried[0], "refused again", None)
        .await
        .unwrap();
    let shown = store.invitations_of(acme.account.id, None).await.unwrap();
    let status = |email: &str| shown.iter().find(|i| i.email == email).unwrap().mail_status;
    assert_eq!(status("a@acme.example"), Some(MailStatus::Sent));
    assert_eq!(status("b@acme.example"), Some(MailStatus::Failed));

    // A resent invitation's mail replaces the old; a revoked one's is not sent.
    let mail = NewMail {
        recipient: "b@acme.example".into(),
        message: "again".into(),
    };
    let b_id = made
        .iter()
        .find(|i| i.email == "b@acme.example")
        .unwrap()
        .id;
    store
        .resend_invitation(b_id, &[7u8; 32], TTL, &mail)
        .await
        .unwrap();
    store.revoke_invitation(b_id).await.unwrap();
    assert!(
        store.claim_mails(lease, 10).await.unwrap().is_empty(),
        "cancelled"
    );
}

/// Invitations of `emails` in `tenant` with `grants`, each token made
/// unique to the tenant (two accounts may invite one address).
fn granting(tenant: &Tenant, grants: Vec<Grant>, emails: &[&str]) -> NewInvitations {
    let mut new = invitations(tenant, tenant.inbox.group_id, emails);
    new.grants = grants;
    let salt = tenant.account.name.len() as u8 ^ tenant.account.name.as_bytes()[0];
    for invitation in &mut new.invitations {
        invitation.token_hash[30] ^= salt;
    }
    new
}

fn acceptance_in(tenant: &Tenant, email: &str) -> Acceptance {
    let mut accepting = acceptance(email);
    accepting.token_hash[30] ^= tenant.account.name.len() as u8 ^ tenant.account.name.as_bytes()[0];
    accepting
}

fn conflict<T: std::fmt::Debug>(outcome: Result<T, StoreError>) {
    assert!(
        matches!(outcome, Err(StoreError::Conflict(_))),
        "{outcome:?}"
    );
}

async fn a_pending_invitation_keeps_its_group_and_custom_role(Clocked { store, clock }: Clocked) {
    let acme = tenant(&store, "acme").await;
    let account = acme.account.id;
    let root = root(&store, &acme).await;
    let north = group(&store, &acme, "North", root).await;
    let sales = store
        .create_custom_role(
            account,
            &CustomRole {
                name: name("Field sales"),
                permissions: PermissionSet::of(&[Permission::ConversationsViewAssigned]),
            },
        )
        .await
        .unwrap();
    let at_north = Grant::new(RoleId::Builtin(BuiltinRole::Viewer), north);
    let sales_at_root = Grant::new(RoleId::Custom(sales), root);
    store
        .create_invitations(&granting(&acme, vec![at_north], &["n@acme.example"]))
        .await
        .unwrap();
    let selling = store
        .create_invitations(&granting(&acme, vec![sales_at_root], &["s@acme.example"]))
        .await
        .unwrap();
    // Nobody holds either: only the invitations name them.
    conflict(store.delete_group(account, north).await);
    conflict(store.delete_custom_role(account, sales).await);

    // Revoked, an invitation names nothing any more.
    store.revoke_invitation(selling[0].id).await.unwrap();
    store.delete_custom_role(account, sales).await.unwrap();
    conflict(store.delete_group(account, north).await);
    // Expired, neither.
    clock.advance(TTL + Duration::from_secs(1));
    store.delete_group(account, north).await.unwrap();
}

async fn a_user_is_not_made_of_an_address_with_a_pending_invitation(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let root = root(&store, &acme).await;
    let viewer = vec![Grant::new(RoleId::Builtin(BuiltinRole::Viewer), root)];
    let made = store
        .create_invitations(&granting(&acme, viewer, &["p@acme.example"]))
        .await
        .unwrap();
    let create = || {
        store.create_user(NewUser {
            account_id: acme.account.id,
            email: "P@acme.example",
            name: "P",
            password_hash: HASH,
            role: Role::Operator,
            capacity: 1,
        })
    };
    conflict(create().await);
    store.revoke_invitation(made[0].id).await.unwrap();
    create().await.expect("once revoked");
}

async fn each_account_knows_only_its_own_invitations(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let globex = tenant(&store, "globex").await;
    let acme_root = root(&store, &acme).await;
    let globex_root = root(&store, &globex).await;
    let viewer = |group| vec![Grant::new(RoleId::Builtin(BuiltinRole::Viewer), group)];
    store
        .create_invitations(&granting(&acme, viewer(acme_root), &["both@x.example"]))
        .await
        .unwrap();
    // Pending in acme: globex invites it too; acme's own user: globex too.
    let acme_user = agent(&store, &acme, "ann").await;
    store
        .create_invitations(&granting(
            &globex,
            viewer(globex_root),
            &["both@x.example", &acme_user.email],
        ))
        .await
        .unwrap();
    // Twice in one account is refused still.
    conflict(
        store
            .create_invitations(&granting(&globex, viewer(globex_root), &["both@x.example"]))
            .await,
    );

    // The address of acme's user is refused at acceptance, and nothing
    // is made: the invitation stays pending.
    conflict(
        store
            .accept_invitation(&acceptance_in(&globex, &acme_user.email), Role::Viewer)
            .await,
    );
    let pending = store
        .invitations_of(globex.account.id, Some(InvitationStatus::Pending))
        .await
        .unwrap();
    assert_eq!(pending.len(), 2, "{pending:?}");
    let found = store.user_by_email(&acme_user.email).await.unwrap();
    assert_eq!(found.map(|(u, _)| u.id), Some(acme_user.id));

    // Accepted in acme, the other account's invitation to it is refused.
    store
        .accept_invitation(&acceptance_in(&acme, "both@x.example"), Role::Viewer)
        .await
        .unwrap();
    conflict(
        store
            .accept_invitation(&acceptance_in(&globex, "both@x.example"), Role::Viewer)
            .await,
    );
}

async fn a_deactivated_inviter_takes_their_invitations_along(Clocked { store, clock }: Clocked) {
    let acme = tenant(&store, "acme").await;
    let root = root(&store, &acme).await;
    let ann = agent(&store, &acme, "ann").await;
    let bob = agent(&store, &acme, "bob").await;
    let viewer = vec![Grant::new(RoleId::Builtin(BuiltinRole::Viewer), root)];
    let by = |who: &switchboard_core::model::User, emails: &[&str]| {
        let mut new = granting(&acme, viewer.clone(), emails);
        new.invited_by = Some(who.id);
        new
    };
    let early = store
        .create_invitations(&by(&ann, &["old@acme.example"]))
        .await
        .unwrap();
    clock.advance(TTL + Duration::from_secs(1));
    let anns = store
        .create_invitations(&by(&ann, &["a1@acme.example", "a2@acme.example"]))
        .await
        .unwrap();
    let bobs = store
        .create_invitations(&by(&bob, &["b1@acme.example"]))
        .await
        .unwrap();
    let used = store.seats(acme.account.id).await.unwrap().used;

    let ended = store.deactivate_user(ann.id).await.unwrap();
    let mut revoked: Vec<_> = ended.revoked_invitations.iter().map(|i| i.id).collect();
    revoked.sort();
    let mut wanted = vec![early[0].id, anns[0].id, anns[1].id];
    wanted.sort();
    assert_eq!(revoked, wanted, "the pending ones and the expired one");
    for invitation in &ended.revoked_invitations {
        assert_eq!(invitation.status, InvitationStatus::Revoked);
        assert_eq!(invitation.mail_status, Some(MailStatus::Cancelled));
    }
    // ann's seat and her two pending invitations' seats are free
    assert_eq!(store.seats(acme.account.id).await.unwrap().used, used - 3);
    let late = store
        .accept_invitation(&acceptance_in(&acme, "a1@acme.example"), Role::Viewer)
        .await;
    assert!(matches!(late, Err(StoreError::NotFound)), "{late:?}");
    let still = store.invitation(bobs[0].id).await.unwrap().unwrap();
    assert_eq!(still.status, InvitationStatus::Pending, "bob's stays");

    // Removing a user does the same.
    let removed = store.remove_user(bob.id).await.unwrap();
    assert_eq!(removed.revoked_invitations.len(), 1);
    assert_eq!(removed.revoked_invitations[0].id, bobs[0].id);
}

contract_tests!(
    an_invitation_is_accepted_once_and_expires_with_the_clock,
    seats_cap_users_and_pending_invitations,
    a_due_mail_is_claimed_once_retried_later_and_never_sent_cancelled,
    a_pending_invitation_keeps_its_group_and_custom_role,
    a_user_is_not_made_of_an_address_with_a_pending_invitation,
    each_account_knows_only_its_own_invitations,
    a_deactivated_inviter_takes_their_invitations_along,
);
