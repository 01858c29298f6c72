//! The audit log: entries kept as recorded, read newest first a page at a
//! time, each account's apart.

use std::sync::Arc;

use switchboard_core::audit::{AuditAction, NewAuditEntry};
use switchboard_store::Store;

use crate::fixtures::{agent, tenant};

async fn audit_entries_are_kept_and_read_newest_first_per_account(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let globex = tenant(&store, "globex").await;
    let ann = agent(&store, &acme, "ann").await;
    let mut recorded = Vec::new();
    for (i, action) in [
        AuditAction::GrantsChanged,
        AuditAction::RoleCreated,
        AuditAction::UserDeactivated,
    ]
    .into_iter()
    .enumerate()
    {
        let entry = NewAuditEntry {
            account_id: acme.account.id,
            actor_id: (i != 1).then_some(acme.owner.id),
            action,
            target_user_id: (i != 1).then_some(ann.id),
            detail: format!("{{\"n\":{i}}}"),
        };
        let kept = store.record_audit(&entry).await.expect("record");
        assert_eq!(kept.entry, entry);
        recorded.push(kept);
    }
    let theirs = NewAuditEntry {
        account_id: globex.account.id,
        actor_id: None,
        action: AuditAction::PlanChanged,
        target_user_id: None,
        detail: "{}".into(),
    };
    store.record_audit(&theirs).await.expect("record");

    let newest_first: Vec<_> = recorded.iter().rev().cloned().collect();
    let all = store
        .audit_of(acme.account.id, None, 10)
        .await
        .expect("read");
    assert_eq!(all, newest_first);
    let page = store
        .audit_of(acme.account.id, None, 2)
        .await
        .expect("read");
    assert_eq!(page, newest_first[..2]);
    let rest = store
        .audit_of(acme.account.id, Some(page[1].id), 2)
        .await
        .expect("read");
    assert_eq!(rest, newest_first[2..]);
    let other = store
        .audit_of(globex.account.id, None, 10)
        .await
        .expect("read");
    assert_eq!(other.len(), 1);
    assert_eq!(other[0].entry, theirs);
}

contract_tests!(audit_entries_are_kept_and_read_newest_first_per_account);
