//! The Contact menu's storage: contacts searched within the groups of
//! their conversations' inboxes, by a piece of name or handle taken
//! literally, a page at a time; a contact's groups and conversations; its
//! name and notes changed only within its account.

use std::collections::BTreeSet;
use std::sync::Arc;

use switchboard_core::contacts::ContactQuery;
use switchboard_core::ids::ContactId;
use switchboard_core::model::NewInbound;
use switchboard_store::{Store, StoreError};

use crate::fixtures::{group, inbound, inbox, root_of, tenant};

fn query(text: &str) -> ContactQuery {
    ContactQuery::parse(text)
        .expect("a query")
        .expect("not blank")
}

async fn contacts_are_found_within_the_groups_of_their_conversations(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let globex = tenant(&store, "globex").await;
    let account = acme.account.id;
    let root = root_of(&store, &acme).await;
    let north = group(&store, &acme, "North", root).await;
    let north_inbox = inbox(&store, &acme.account, "north-sms").await;
    store
        .set_inbox_group(north_inbox.id, north)
        .await
        .expect("move");

    let named = |handle: &'static str, name: &'static str| NewInbound {
        inbox_id: acme.inbox.id,
        handle,
        contact_name: Some(name),
        body: "hi",
    };
    let ann = store
        .record_inbound(named("+4790000001", "Ann 50% Off"))
        .await
        .expect("ann")
        .conversation
        .contact
        .id;
    let bob = store
        .record_inbound(named("+4790000002", "Bob"))
        .await
        .expect("bob")
        .conversation
        .contact
        .id;
    let north_only = inbound(&store, &north_inbox, "+4790000003", "hi")
        .await
        .conversation
        .contact
        .id;
    inbound(&store, &globex.inbox, "+4790000001", "theirs").await;

    let ids = |found: Vec<switchboard_core::contacts::ContactCard>| {
        found.into_iter().map(|c| c.id).collect::<Vec<ContactId>>()
    };
    let everywhere = BTreeSet::from([root, north]);
    let all = store
        .search_contacts(account, &everywhere, None, None, 10)
        .await
        .expect("search");
    assert_eq!(ids(all), [north_only, bob, ann], "newest first");
    let only_north = BTreeSet::from([north]);
    let found = store
        .search_contacts(account, &only_north, None, None, 10)
        .await
        .expect("search");
    assert_eq!(ids(found), [north_only]);
    assert!(
        store
            .search_contacts(account, &BTreeSet::new(), None, None, 10)
            .await
            .expect("search")
            .is_empty()
    );

    for (text, expected) in [
        ("ann", vec![ann]),
        ("50%", vec![ann]),
        ("5_%", vec![]),
        ("+47900000", vec![north_only, bob, ann]),
        ("0002", vec![bob]),
    ] {
        let found = store
            .search_contacts(account, &everywhere, Some(&query(text)), None, 10)
            .await
            .expect("search");
        assert_eq!(ids(found), expected, "{text:?}");
    }
    let page = store
        .search_contacts(account, &everywhere, None, None, 2)
        .await
        .expect("search");
    assert_eq!(ids(page), [north_only, bob]);
    let rest = store
        .search_contacts(account, &everywhere, None, Some(bob), 2)
        .await
        .expect("search");
    assert_eq!(ids(rest), [ann]);

    assert_eq!(
        store.contact_groups(north_only).await.expect("groups"),
        [north]
    );
    let conversations = store.contact_conversations(ann, 10).await.expect("read");
    assert_eq!(conversations.len(), 1);
    assert_eq!(conversations[0].contact.id, ann);

    let edited = store
        .update_contact(account, ann, Some(Some("Ann Smith")), Some(Some("VIP")))
        .await
        .expect("update");
    assert_eq!(
        (edited.name.as_deref(), edited.notes.as_deref()),
        (Some("Ann Smith"), Some("VIP"))
    );
    let kept = store
        .update_contact(account, ann, None, Some(None))
        .await
        .expect("update");
    assert_eq!(
        (kept.name.as_deref(), kept.notes.as_deref()),
        (Some("Ann Smith"), None)
    );
    assert_eq!(store.contact(ann).await.expect("read"), Some(kept));
    assert!(matches!(
        store
            .update_contact(globex.account.id, ann, Some(None), None)
            .await,
        Err(StoreError::NotFound)
    ));
}

contract_tests!(contacts_are_found_within_the_groups_of_their_conversations);
