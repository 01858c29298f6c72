//! Accounts, users, login sessions and inboxes.

use std::sync::Arc;

use chrono::{Duration, Timelike};
use switchboard_core::Role;
use switchboard_core::ids::{AccountId, InboxId, UserId};
use switchboard_core::input::Name;
use switchboard_core::model::{NewAccount, NewInbox, NewUser};
use switchboard_store::{Store, StoreError};

use crate::fixtures::{HASH, agent, tenant};
use crate::harness::Clocked;

async fn ping_answers(store: Arc<dyn Store>) {
    store.ping().await.expect("ping");
}

async fn account_with_owner(store: Arc<dyn Store>) {
    let (account, owner) = store
        .create_account(NewAccount {
            name: "Acme",
            owner_email: "Ada@Acme.Example",
            owner_name: "Ada",
            owner_password_hash: HASH,
        })
        .await
        .expect("create account");
    assert_eq!(account.name, "Acme");
    assert_eq!(owner.account_id, account.id);
    assert_eq!(owner.role, Role::Owner);
    assert_eq!(
        owner.email, "ada@acme.example",
        "emails are stored lowercased"
    );
    assert_eq!(
        account.created_at.nanosecond() % 1_000_000,
        0,
        "millisecond precision"
    );

    let read = store.user(owner.id).await.expect("read user");
    assert_eq!(
        read.as_ref(),
        Some(&owner),
        "what is read equals what was returned"
    );

    let (by_email, hash) = store
        .user_by_email("ADA@acme.EXAMPLE")
        .await
        .expect("by email")
        .expect("found case-insensitively");
    assert_eq!(by_email, owner);
    assert_eq!(hash, HASH);

    assert_eq!(store.user(UserId::new()).await.expect("read"), None);
    assert!(
        store
            .user_by_email("nobody@acme.example")
            .await
            .expect("read")
            .is_none()
    );
}

async fn duplicate_email_conflicts(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let again = store
        .create_account(NewAccount {
            name: "Other",
            owner_email: "OWNER@acme.example",
            owner_name: "Someone",
            owner_password_hash: HASH,
        })
        .await;
    match again {
        Err(StoreError::Conflict(message)) => assert_eq!(message, "email already in use"),
        other => panic!("expected a conflict, got {other:?}"),
    }

    let user = store
        .create_user(NewUser {
            account_id: acme.account.id,
            email: "Owner@Acme.Example",
            name: "Twin",
            password_hash: HASH,
            role: Role::Operator,
            capacity: 1,
        })
        .await;
    assert!(matches!(user, Err(StoreError::Conflict(_))), "{user:?}");
}

async fn create_user_in_unknown_account(store: Arc<dyn Store>) {
    let user = store
        .create_user(NewUser {
            account_id: AccountId::new(),
            email: "ghost@nowhere.example",
            name: "Ghost",
            password_hash: HASH,
            role: Role::Viewer,
            capacity: 0,
        })
        .await;
    assert!(matches!(user, Err(StoreError::NotFound)), "{user:?}");
}

async fn users_keep_role_and_capacity(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let bob = agent(&store, &acme, "bob").await;
    let read = store.user(bob.id).await.expect("read").expect("exists");
    assert_eq!(read.role, Role::Operator);
    assert_eq!(read.capacity, 3);
    assert_eq!(read, bob);

    let big = store
        .create_user(NewUser {
            account_id: acme.account.id,
            email: "max@acme.example",
            name: "Max",
            password_hash: HASH,
            role: Role::Admin,
            capacity: u32::MAX,
        })
        .await
        .expect("capacity up to u32::MAX fits");
    assert_eq!(
        store
            .user(big.id)
            .await
            .expect("read")
            .expect("exists")
            .capacity,
        u32::MAX
    );
}

/// Sessions expire on the store's clock (here the test's manual clock).
async fn login_sessions(Clocked { store, clock }: Clocked) {
    let acme = tenant(&store, "acme").await;
    let owner = acme.owner.id;
    store
        .create_login_session(b"valid", owner, clock.now() + Duration::hours(1))
        .await
        .expect("create valid");
    store
        .create_login_session(b"expired", owner, clock.now() - Duration::seconds(1))
        .await
        .expect("create expired");

    let user = store.login_session_user(b"valid").await.expect("read");
    assert_eq!(user.map(|u| u.id), Some(owner));
    assert_eq!(
        store.login_session_user(b"expired").await.expect("read"),
        None
    );
    assert_eq!(
        store.login_session_user(b"unknown").await.expect("read"),
        None
    );

    store.delete_login_session(b"valid").await.expect("delete");
    assert_eq!(
        store.login_session_user(b"valid").await.expect("read"),
        None
    );
    store
        .delete_login_session(b"valid")
        .await
        .expect("deleting twice is fine");

    let duplicate = store
        .create_login_session(b"expired", owner, clock.now() + Duration::hours(1))
        .await;
    assert!(
        matches!(duplicate, Err(StoreError::Conflict(_))),
        "{duplicate:?}"
    );
    let orphan = store
        .create_login_session(b"orphan", UserId::new(), clock.now() + Duration::hours(1))
        .await;
    assert!(matches!(orphan, Err(StoreError::NotFound)), "{orphan:?}");
}

async fn inboxes_by_id_and_key(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let inbox = store
        .create_inbox(NewInbox {
            account_id: acme.account.id,
            name: "WhatsApp",
            channel: "whatsapp",
            key_hash: &[7; 32],
        })
        .await
        .expect("create inbox");
    assert_eq!(inbox.account_id, acme.account.id);
    assert_eq!(inbox.channel, "whatsapp");
    assert_eq!(
        store.inbox(inbox.id).await.expect("read"),
        Some(inbox.clone())
    );
    assert_eq!(
        store.inbox_by_key(&[7; 32]).await.expect("read"),
        Some(inbox)
    );
    assert_eq!(store.inbox_by_key(&[8; 32]).await.expect("read"), None);
    assert_eq!(store.inbox(InboxId::new()).await.expect("read"), None);

    let same_key = store
        .create_inbox(NewInbox {
            account_id: acme.account.id,
            name: "Copy",
            channel: "sms",
            key_hash: &[7; 32],
        })
        .await;
    match same_key {
        Err(StoreError::Conflict(message)) => assert_eq!(message, "inbox key already in use"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    let orphan = store
        .create_inbox(NewInbox {
            account_id: AccountId::new(),
            name: "Orphan",
            channel: "sms",
            key_hash: &[9; 32],
        })
        .await;
    assert!(matches!(orphan, Err(StoreError::NotFound)), "{orphan:?}");
}

/// What the admin commands list: accounts, and each account's users and
/// inboxes, oldest first, nothing of another account's.
async fn accounts_users_and_inboxes_are_listed(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let globex = tenant(&store, "globex").await;
    let ann = agent(&store, &acme, "ann").await;
    let ids = |accounts: Vec<switchboard_core::model::Account>| {
        accounts.into_iter().map(|a| a.id).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(store.accounts().await.expect("accounts")),
        [acme.account.id, globex.account.id]
    );
    assert_eq!(
        store.account(acme.account.id).await.expect("account"),
        Some(acme.account.clone())
    );
    assert_eq!(store.account(AccountId::new()).await.expect("none"), None);
    assert_eq!(
        store.users_of(acme.account.id).await.expect("users"),
        [acme.owner.clone(), ann]
    );
    assert_eq!(
        store.inboxes_of(globex.account.id).await.expect("inboxes"),
        [globex.inbox]
    );
    assert!(
        store
            .users_of(AccountId::new())
            .await
            .expect("users")
            .is_empty()
    );
}

/// A new password ends the user's login sessions (and nobody else's); a
/// new inbox key replaces the old one at once.
async fn passwords_and_inbox_keys_are_replaced(clocked: Clocked) {
    let Clocked { store, clock } = clocked;
    let acme = tenant(&store, "acme").await;
    let ann = agent(&store, &acme, "ann").await;
    let later = clock.now() + Duration::hours(1);
    for (token, user) in [(b"owner".as_slice(), acme.owner.id), (b"ann", ann.id)] {
        store
            .create_login_session(token, user, later)
            .await
            .expect("session");
    }
    store
        .set_password(ann.id, "new-hash")
        .await
        .expect("set password");
    let (_, hash) = store
        .user_by_email(&ann.email)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(hash, "new-hash");
    assert_eq!(store.login_session_user(b"ann").await.expect("read"), None);
    assert!(
        store
            .login_session_user(b"owner")
            .await
            .expect("read")
            .is_some()
    );
    assert!(matches!(
        store.set_password(UserId::new(), "x").await,
        Err(StoreError::NotFound)
    ));

    let rotated = store
        .set_inbox_key(acme.inbox.id, b"rotated")
        .await
        .expect("set key");
    assert_eq!(rotated, acme.inbox);
    assert_eq!(
        store.inbox_by_key(b"rotated").await.expect("read"),
        Some(acme.inbox.clone())
    );
    assert_eq!(
        store.inbox_by_key(b"acme").await.expect("read"),
        None,
        "the old key is gone"
    );
    assert!(matches!(
        store.set_inbox_key(InboxId::new(), b"other").await,
        Err(StoreError::NotFound)
    ));
}

/// A new name is kept, and answered; an unknown user is not found.
async fn users_are_renamed(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let ann = agent(&store, &acme, "ann").await;
    let name = Name::parse("name", "Ann Smith").expect("a name");
    let renamed = store.rename_user(ann.id, &name).await.expect("rename");
    assert_eq!(renamed.name, "Ann Smith");
    assert_eq!((renamed.id, &renamed.email), (ann.id, &ann.email));
    let read = store.user(ann.id).await.expect("read").expect("found");
    assert_eq!(read, renamed);
    let owner = store
        .user(acme.owner.id)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(owner.name, acme.owner.name, "nobody else is renamed");
    assert!(matches!(
        store.rename_user(UserId::new(), &name).await,
        Err(StoreError::NotFound)
    ));
}

/// A new inbox name is kept and answered; the key, group and other inboxes
/// stay; an unknown inbox is not found.
async fn inboxes_are_renamed(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let globex = tenant(&store, "globex").await;
    let name = Name::parse("name", "Support (EU)").expect("a name");
    let renamed = store
        .rename_inbox(acme.inbox.id, &name)
        .await
        .expect("rename");
    assert_eq!(renamed.name, "Support (EU)");
    assert_eq!(
        (renamed.id, renamed.account_id, renamed.group_id),
        (acme.inbox.id, acme.inbox.account_id, acme.inbox.group_id)
    );
    let read = store
        .inbox(acme.inbox.id)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(read, renamed);
    let theirs = store
        .inbox(globex.inbox.id)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(theirs, globex.inbox, "nobody else's inbox is renamed");
    assert!(matches!(
        store.rename_inbox(InboxId::new(), &name).await,
        Err(StoreError::NotFound)
    ));
}

/// The first-run setup's account: made on an empty database, and never
/// once any account exists (whoever made it).
async fn only_the_first_account_is_made_by_the_first_run(store: Arc<dyn Store>) {
    let first = |email: &'static str| NewAccount {
        name: "Acme",
        owner_email: email,
        owner_name: "Ada",
        owner_password_hash: HASH,
    };
    assert!(!store.has_accounts().await.expect("read"));
    let (account, owner) = store
        .create_first_account(first("ada@acme.example"))
        .await
        .expect("create")
        .expect("made on an empty database");
    assert_eq!(owner.account_id, account.id);
    assert_eq!(owner.role, Role::Owner);
    assert!(store.has_accounts().await.expect("read"));
    let second = store
        .create_first_account(first("eve@acme.example"))
        .await
        .expect("create");
    assert_eq!(second, None, "a second first account is not made");
    assert_eq!(store.accounts().await.expect("list").len(), 1);
    assert!(
        store
            .user_by_email("eve@acme.example")
            .await
            .expect("read")
            .is_none()
    );
}

contract_tests!(
    only_the_first_account_is_made_by_the_first_run,
    inboxes_are_renamed,
    users_are_renamed,
    accounts_users_and_inboxes_are_listed,
    passwords_and_inbox_keys_are_replaced,
    ping_answers,
    account_with_owner,
    duplicate_email_conflicts,
    create_user_in_unknown_account,
    users_keep_role_and_capacity,
    login_sessions,
    inboxes_by_id_and_key,
);
