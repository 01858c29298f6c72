//! Two-factor authentication and login throttling: a pending setup
//! replaced and confirmed, replay protection as a compare-and-set (of
//! concurrent claims of one step exactly one wins), backup codes used
//! once, the account's requirement, and login attempts reserved per key
//! within a window on the store's clock (refused beyond the limit,
//! counting nothing; never more than the limit of concurrent ones).

use std::sync::Arc;
use std::time::Duration;

use switchboard_core::two_factor::{Reservation, ThrottlePolicy};
use switchboard_store::Store;
use uuid::Uuid;

use crate::fixtures::{agent, tenant};
use crate::harness::Clocked;

async fn a_setup_is_pending_until_confirmed_and_then_active(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let ann = agent(&store, &acme, "ann").await;
    assert_eq!(store.two_factor(ann.id).await.expect("read"), None);

    store
        .begin_two_factor(ann.id, "first")
        .await
        .expect("begin");
    store
        .begin_two_factor(ann.id, "second")
        .await
        .expect("replace");
    let pending = store
        .two_factor(ann.id)
        .await
        .expect("read")
        .expect("pending");
    assert_eq!(
        (pending.sealed_secret.as_str(), pending.confirmed),
        ("second", false)
    );
    // The replaced secret cannot be confirmed any more.
    let codes = [[1u8; 32], [2u8; 32]];
    let stale = store.confirm_two_factor(ann.id, "first", 10, &codes).await;
    assert_eq!(stale.ok(), Some(false));
    let confirmed = store.confirm_two_factor(ann.id, "second", 10, &codes).await;
    assert_eq!(confirmed.ok(), Some(true));
    let active = store
        .two_factor(ann.id)
        .await
        .expect("read")
        .expect("active");
    assert_eq!((active.confirmed, active.last_step), (true, Some(10)));
    assert_eq!(
        store
            .confirm_two_factor(ann.id, "second", 11, &codes)
            .await
            .ok(),
        Some(false),
        "confirmed once"
    );
    let again = store.begin_two_factor(ann.id, "third").await;
    assert!(
        matches!(again, Err(switchboard_core::StoreError::Conflict(_))),
        "{again:?}"
    );

    assert_eq!(store.disable_two_factor(ann.id).await.ok(), Some(true));
    assert_eq!(store.two_factor(ann.id).await.expect("read"), None);
    assert_eq!(
        store.use_backup_code(ann.id, &codes[0]).await.ok(),
        Some(false)
    );
    assert_eq!(store.disable_two_factor(ann.id).await.ok(), Some(false));
    let unknown = store
        .begin_two_factor(switchboard_core::UserId::new(), "x")
        .await;
    assert!(
        matches!(unknown, Err(switchboard_core::StoreError::NotFound)),
        "{unknown:?}"
    );
}

async fn a_step_is_accepted_once_and_backup_codes_once(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let ann = agent(&store, &acme, "ann").await;
    let codes = [[7u8; 32], [8u8; 32]];
    // Nothing to claim before 2FA is on.
    assert_eq!(store.claim_totp_step(ann.id, 100).await.ok(), Some(false));
    store.begin_two_factor(ann.id, "s").await.expect("begin");
    assert_eq!(
        store.claim_totp_step(ann.id, 100).await.ok(),
        Some(false),
        "pending"
    );
    store
        .confirm_two_factor(ann.id, "s", 100, &codes)
        .await
        .expect("confirm");
    assert_eq!(
        store.claim_totp_step(ann.id, 100).await.ok(),
        Some(false),
        "used"
    );
    assert_eq!(
        store.claim_totp_step(ann.id, 99).await.ok(),
        Some(false),
        "older"
    );

    let claims: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.claim_totp_step(ann.id, 101).await.ok() })
        })
        .collect();
    let mut won = 0;
    for claim in claims {
        if claim.await.expect("task").expect("claim") {
            won += 1;
        }
    }
    assert_eq!(won, 1, "of concurrent claims of one step, one wins");

    assert_eq!(
        store.use_backup_code(ann.id, &codes[0]).await.ok(),
        Some(true)
    );
    assert_eq!(
        store.use_backup_code(ann.id, &codes[0]).await.ok(),
        Some(false)
    );
    assert_eq!(
        store.use_backup_code(ann.id, &[9u8; 32]).await.ok(),
        Some(false)
    );
    let bob = agent(&store, &acme, "bob").await;
    assert_eq!(
        store.use_backup_code(bob.id, &codes[1]).await.ok(),
        Some(false)
    );
    assert_eq!(
        store.use_backup_code(ann.id, &codes[1]).await.ok(),
        Some(true)
    );
}

async fn an_account_requiring_2fa_holds_back_users_without_it(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let globex = tenant(&store, "globex").await;
    let ann = agent(&store, &acme, "ann").await;
    let account = acme.account.id;
    assert_eq!(store.two_factor_required(account).await.ok(), Some(false));
    assert_eq!(store.must_enroll_two_factor(ann.id).await.ok(), Some(false));

    assert_eq!(
        store.set_two_factor_required(account, true).await.ok(),
        Some(true)
    );
    assert_eq!(
        store.set_two_factor_required(account, true).await.ok(),
        Some(false)
    );
    assert_eq!(store.two_factor_required(account).await.ok(), Some(true));
    assert_eq!(
        store.two_factor_required(globex.account.id).await.ok(),
        Some(false)
    );
    assert_eq!(store.must_enroll_two_factor(ann.id).await.ok(), Some(true));
    assert_eq!(
        store.must_enroll_two_factor(globex.owner.id).await.ok(),
        Some(false)
    );

    store.begin_two_factor(ann.id, "s").await.expect("begin");
    assert_eq!(
        store.must_enroll_two_factor(ann.id).await.ok(),
        Some(true),
        "pending"
    );
    store
        .confirm_two_factor(ann.id, "s", 1, &[])
        .await
        .expect("confirm");
    assert_eq!(store.must_enroll_two_factor(ann.id).await.ok(), Some(false));

    assert_eq!(
        store.set_two_factor_required(account, false).await.ok(),
        Some(true)
    );
    let unknown = switchboard_core::AccountId::new();
    let refused = store.set_two_factor_required(unknown, true).await;
    assert!(
        matches!(refused, Err(switchboard_core::StoreError::NotFound)),
        "{refused:?}"
    );
    assert_eq!(
        store
            .must_enroll_two_factor(switchboard_core::UserId::new())
            .await
            .ok(),
        Some(false)
    );
}

/// A reservation under these keys with this policy, as the store answers it.
async fn reserve(
    store: &Arc<dyn Store>,
    keys: &[&str],
    policy: ThrottlePolicy,
) -> (Uuid, Reservation) {
    let attempt = Uuid::now_v7();
    let keys: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
    let answer = store
        .reserve_login_attempt(attempt, &keys, policy)
        .await
        .expect("reserve");
    (attempt, answer)
}

async fn login_attempts_are_reserved_per_key_within_the_window(clocked: Clocked) {
    let Clocked { store, clock } = clocked;
    let policy = ThrottlePolicy {
        max_failures: 2,
        window: Duration::from_secs(15 * 60),
    };
    let email = "email:ann@acme.test";
    let addr = "addr:127.0.0.1";
    let reserved = Reservation::Reserved;

    let (_, answer) = reserve(&store, &[email, addr], policy).await;
    assert_eq!(answer, reserved);
    clock.advance(Duration::from_secs(5 * 60));
    let (second, answer) = reserve(&store, &[addr], policy).await;
    assert_eq!(answer, reserved);
    // The address has two attempts: the next one is refused, waiting
    // until the first leaves the window, and counts nowhere.
    let (_, answer) = reserve(&store, &[email, addr], policy).await;
    let wait = Duration::from_secs(10 * 60);
    assert_eq!(answer, Reservation::Refused { wait });
    let (alone, answer) = reserve(&store, &[email], policy).await;
    assert_eq!(answer, reserved, "the refused attempt was not counted");
    let (_, answer) = reserve(&store, &[email], policy).await;
    assert!(matches!(answer, Reservation::Refused { .. }), "{answer:?}");

    // A released attempt is forgotten under its keys only.
    store.release_login_attempt(alone).await.expect("release");
    let (_, answer) = reserve(&store, &[email], policy).await;
    assert_eq!(answer, reserved, "room for one more");
    store.release_login_attempt(second).await.expect("release");
    let (_, answer) = reserve(&store, &[addr], policy).await;
    assert_eq!(answer, reserved, "the address had one left");
    let (_, answer) = reserve(&store, &[addr], policy).await;
    assert!(matches!(answer, Reservation::Refused { .. }), "{answer:?}");

    // Clearing a key forgets its attempts, not another key's.
    store.clear_login_failures(email).await.expect("clear");
    let (_, answer) = reserve(&store, &[email], policy).await;
    assert_eq!(answer, reserved);
    let (_, answer) = reserve(&store, &[addr], policy).await;
    assert!(matches!(answer, Reservation::Refused { .. }), "{answer:?}");

    // The first attempts leave the window; the later ones stay.
    clock.advance(Duration::from_secs(11 * 60));
    let (_, answer) = reserve(&store, &[addr], policy).await;
    assert_eq!(answer, reserved, "the first left the window");
    let (_, answer) = reserve(&store, &[addr], policy).await;
    assert!(matches!(answer, Reservation::Refused { .. }), "{answer:?}");
}

/// Many attempts at one key at once, through every node's store: exactly
/// the limit are reserved, however they interleave (each counted before
/// the next one is looked at).
async fn concurrent_attempts_never_pass_the_limit(stores: Vec<Arc<dyn Store>>) {
    let policy = ThrottlePolicy {
        max_failures: 5,
        window: Duration::from_secs(15 * 60),
    };
    let attempts = (0..30).map(|i| {
        let store = stores[i % stores.len()].clone();
        let addr = format!("addr:10.0.0.{i}");
        tokio::spawn(async move {
            reserve(&store, &["email:ann@acme.test", &addr], policy)
                .await
                .1
        })
    });
    let mut reserved = 0;
    for attempt in attempts.collect::<Vec<_>>() {
        match attempt.await.expect("attempt") {
            Reservation::Reserved => reserved += 1,
            Reservation::Refused { wait } => assert!(wait > Duration::ZERO),
        }
    }
    assert_eq!(reserved, 5, "reserved beyond the limit of 5");
}

contract_tests!(
    a_setup_is_pending_until_confirmed_and_then_active,
    a_step_is_accepted_once_and_backup_codes_once,
    an_account_requiring_2fa_holds_back_users_without_it,
    login_attempts_are_reserved_per_key_within_the_window,
);

node_contract_tests!(2; concurrent_attempts_never_pass_the_limit);
