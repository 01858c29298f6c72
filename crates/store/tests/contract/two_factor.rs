//! Two-factor authentication and login throttling: a pending setup
//! replaced and confirmed, replay protection as a compare-and-set (of
//! concurrent claims of one step exactly one wins), backup codes used
//! once, the account's requirement, and failed logins counted per key
//! within a window on the store's clock.

use std::sync::Arc;
use std::time::Duration;

use switchboard_store::Store;

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

async fn failed_logins_are_counted_per_key_within_the_window(clocked: Clocked) {
    let Clocked { store, clock } = clocked;
    let window = Duration::from_secs(15 * 60);
    let email = "email:ann@acme.test".to_owned();
    let addr = "addr:127.0.0.1".to_owned();
    let both = [email.clone(), addr.clone()];
    assert_eq!(store.login_failures(&both, window).await.ok(), Some(vec![]));

    let first = clock.now();
    store
        .record_login_failure(&both, window)
        .await
        .expect("record");
    clock.advance(Duration::from_secs(5 * 60));
    store
        .record_login_failure(std::slice::from_ref(&addr), window)
        .await
        .expect("record");
    let counted = store.login_failures(&both, window).await.expect("count");
    let by_key: Vec<_> = counted
        .iter()
        .map(|f| (f.key.as_str(), f.count, f.oldest))
        .collect();
    assert_eq!(
        by_key,
        [(email.as_str(), 1, first), (addr.as_str(), 2, first)]
    );
    assert_eq!(counted[0].now, clock.now());

    // The first failures leave the window; the later one stays.
    clock.advance(Duration::from_secs(11 * 60));
    let counted = store.login_failures(&both, window).await.expect("count");
    let by_key: Vec<_> = counted.iter().map(|f| (f.key.as_str(), f.count)).collect();
    assert_eq!(by_key, [(addr.as_str(), 1)]);

    store
        .record_login_failure(std::slice::from_ref(&email), window)
        .await
        .expect("record");
    store.clear_login_failures(&email).await.expect("clear");
    let counted = store.login_failures(&both, window).await.expect("count");
    let keys: Vec<_> = counted.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(keys, [addr.as_str()], "cleared one key only");
}

contract_tests!(
    a_setup_is_pending_until_confirmed_and_then_active,
    a_step_is_accepted_once_and_backup_codes_once,
    an_account_requiring_2fa_holds_back_users_without_it,
    failed_logins_are_counted_per_key_within_the_window,
);
