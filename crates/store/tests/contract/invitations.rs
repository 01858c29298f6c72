//! Invitations, seats and the mail outbox on every backend: an invitation
//! is accepted once into a user holding its grants, and expires with the
//! store's clock; seats cap users plus pending invitations; a due mail is
//! claimed by one of several nodes, retried after its backoff, and never
//! sent once cancelled.

use std::sync::Arc;
use std::time::Duration;

use switchboard_core::StoreError;
use switchboard_core::access::{BuiltinRole, Grant, RoleId};
use switchboard_core::invitations::{
    Acceptance, InvitationStatus, MailStatus, NewInvitation, NewInvitations, NewMail,
};
use switchboard_core::{Role, model::NewUser};
use switchboard_store::Store;

use crate::fixtures::{HASH, Tenant, tenant};
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

contract_tests!(
    an_invitation_is_accepted_once_and_expires_with_the_clock,
    seats_cap_users_and_pending_invitations,
    a_due_mail_is_claimed_once_retried_later_and_never_sent_cancelled,
);
