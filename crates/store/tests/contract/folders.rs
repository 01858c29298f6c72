//! Personal folders: kept per user (a name once per user, a bounded
//! number), changed only by their owner; and the store's folder listing
//! and open count agree with the one rule the hub applies live
//! (`FolderMatch::admits`) for every combination of conditions.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use switchboard_core::access::ConversationFilter as AccessFilter;
use switchboard_core::folders::{AssigneeCondition, Folder, FolderFilter, FolderMatch};
use switchboard_core::ids::{FolderId, NodeId, UserId};
use switchboard_core::model::{ConversationStatus, ManualAssignment};
use switchboard_store::{Store, StoreError};

use crate::fixtures::{Tenant, agent, grant, inbound, inbox, root_of, tenant};

fn folder(t: &Tenant, user: UserId, name: &str, filter: FolderFilter) -> Folder {
    Folder {
        id: FolderId::new(),
        account_id: t.account.id,
        user_id: user,
        name: name.into(),
        filter,
        created_at: chrono::Utc::now(),
    }
}

async fn folders_are_their_owners_and_bounded(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let ann = agent(&store, &acme, "ann").await;
    let bob = agent(&store, &acme, "bob").await;
    let mine = FolderFilter {
        assignee: Some(AssigneeCondition::Me),
        ..FolderFilter::default()
    };
    let created = store
        .create_folder(&folder(&acme, ann.id, "Mine", mine.clone()), 2)
        .await
        .expect("create")
        .expect("under the cap");
    assert_eq!(
        (created.user_id, created.name.as_str(), &created.filter),
        (ann.id, "Mine", &mine)
    );
    assert_eq!(
        store.folder(created.id).await.expect("read"),
        Some(created.clone())
    );
    assert!(matches!(
        store
            .create_folder(&folder(&acme, ann.id, "Mine", FolderFilter::default()), 2)
            .await,
        Err(StoreError::Conflict(_))
    ));
    store
        .create_folder(&folder(&acme, bob.id, "Mine", FolderFilter::default()), 2)
        .await
        .expect("another user may use the name")
        .expect("under bob's cap");
    let all = store
        .create_folder(&folder(&acme, ann.id, "All", FolderFilter::default()), 2)
        .await
        .expect("create")
        .expect("the second of two");
    assert_eq!(
        store
            .create_folder(&folder(&acme, ann.id, "Third", FolderFilter::default()), 2)
            .await
            .expect("no error"),
        None,
        "the cap holds"
    );
    assert_eq!(
        store.folders_of(ann.id).await.expect("list"),
        [all.clone(), created.clone()],
        "by name, only ann's"
    );

    let open = FolderFilter {
        status: Some(ConversationStatus::Open),
        ..FolderFilter::default()
    };
    assert!(matches!(
        store
            .update_folder(bob.id, created.id, "Stolen", &open)
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.update_folder(ann.id, created.id, "All", &open).await,
        Err(StoreError::Conflict(_))
    ));
    let renamed = store
        .update_folder(ann.id, created.id, "Open", &open)
        .await
        .expect("update");
    assert_eq!((renamed.name.as_str(), &renamed.filter), ("Open", &open));
    assert!(matches!(
        store.delete_folder(bob.id, created.id).await,
        Err(StoreError::NotFound)
    ));
    store
        .delete_folder(ann.id, created.id)
        .await
        .expect("delete");
    assert_eq!(store.folder(created.id).await.expect("read"), None);
    assert!(matches!(
        store.delete_folder(ann.id, created.id).await,
        Err(StoreError::NotFound)
    ));
}

/// Every filter built from these choices (3 x 3 x 4 x 2 x 3 = 216).
fn every_filter(
    one: switchboard_core::InboxId,
    two: switchboard_core::InboxId,
    team: switchboard_core::TeamId,
) -> Vec<FolderFilter> {
    let mut filters = Vec::new();
    for status in [
        None,
        Some(ConversationStatus::Open),
        Some(ConversationStatus::Resolved),
    ] {
        for inbox_ids in [
            None,
            Some(BTreeSet::from([one])),
            Some(BTreeSet::from([one, two])),
        ] {
            for assignee in [
                None,
                Some(AssigneeCondition::Me),
                Some(AssigneeCondition::Unassigned),
                Some(AssigneeCondition::Any),
            ] {
                for team_id in [None, Some(team)] {
                    for answered_by_me in [None, Some(true), Some(false)] {
                        filters.push(FolderFilter {
                            status,
                            inbox_ids: inbox_ids.clone(),
                            assignee,
                            team_id,
                            answered_by_me,
                        });
                    }
                }
            }
        }
    }
    filters
}

async fn a_folders_listing_and_count_follow_the_live_rule(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let root = root_of(&store, &acme).await;
    let me = agent(&store, &acme, "me").await;
    let other = agent(&store, &acme, "other").await;
    let second = inbox(&store, &acme.account, "acme-web").await;
    let team = store
        .create_team(acme.account.id, "Front", &[me.id])
        .await
        .expect("team");
    store
        .set_inbox_team(acme.inbox.id, Some(team.id))
        .await
        .expect("route the first inbox to the team");

    let node = NodeId::new();
    let lease = Duration::from_secs(60);
    let arrive = |inbox, handle: &'static str| {
        let store = store.clone();
        async move { inbound(&store, &inbox, handle, "hi").await.conversation.id }
    };
    let assign = |conversation, assignee| ManualAssignment {
        conversation,
        assignee,
        actor: acme.owner.id,
        force: true,
    };
    let queued = arrive(acme.inbox.clone(), "+1").await;
    let mine = arrive(acme.inbox.clone(), "+2").await;
    store.assign(assign(mine, me.id)).await.expect("assign");
    let theirs = arrive(second.clone(), "+3").await;
    store
        .assign(assign(theirs, other.id))
        .await
        .expect("assign");
    let answering = arrive(second.clone(), "+4").await;
    store
        .assign(assign(answering, me.id))
        .await
        .expect("assign");
    grant(&store, answering, me.id, node, false, lease).await;
    let held_by_other = arrive(acme.inbox.clone(), "+5").await;
    grant(&store, held_by_other, other.id, node, false, lease).await;
    let resolved = arrive(second.clone(), "+6").await;
    store
        .resolve(resolved, acme.owner.id)
        .await
        .expect("resolve");

    let access = AccessFilter {
        account: acme.account.id,
        user: me.id,
        all: [root].into(),
        assigned: BTreeSet::new(),
    };
    let cards = store
        .folder_conversations(&access, &FolderFilter::default(), 100)
        .await
        .expect("every conversation");
    assert_eq!(cards.len(), 6, "an empty filter holds all: {cards:?}");
    let team_inboxes: BTreeSet<_> = store
        .team_inboxes(team.id)
        .await
        .expect("the team's inboxes")
        .into_iter()
        .collect();
    assert_eq!(team_inboxes, [acme.inbox.id].into());
    let mut nonempty = 0;
    for filter in every_filter(second.id, acme.inbox.id, team.id) {
        let rule = FolderMatch::new(filter.clone(), me.id, Some(team_inboxes.clone()));
        let expected: BTreeSet<_> = cards
            .iter()
            .filter(|c| rule.admits(c))
            .map(|c| c.id)
            .collect();
        let listed: BTreeSet<_> = store
            .folder_conversations(&access, &filter, 100)
            .await
            .expect("list")
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(listed, expected, "{filter:?}");
        let open = cards
            .iter()
            .filter(|c| expected.contains(&c.id) && c.status == ConversationStatus::Open)
            .count();
        let counted = store
            .folder_open_count(&access, &filter)
            .await
            .expect("count");
        assert_eq!(counted, open as u64, "{filter:?}");
        nonempty += usize::from(!expected.is_empty());
    }
    assert!(nonempty > 20, "the fixture tells filters apart");
    let answered = FolderFilter {
        answered_by_me: Some(true),
        ..FolderFilter::default()
    };
    let listed = store
        .folder_conversations(&access, &answered, 100)
        .await
        .expect("list");
    assert_eq!(listed.iter().map(|c| c.id).collect::<Vec<_>>(), [answering]);
    let _ = (queued, theirs, held_by_other);

    let nothing = AccessFilter {
        all: BTreeSet::new(),
        ..access
    };
    assert_eq!(
        store
            .folder_conversations(&nothing, &FolderFilter::default(), 100)
            .await
            .expect("list"),
        []
    );
    assert_eq!(
        store
            .folder_open_count(&nothing, &FolderFilter::default())
            .await
            .expect("count"),
        0
    );
}

contract_tests!(
    folders_are_their_owners_and_bounded,
    a_folders_listing_and_count_follow_the_live_rule
);
