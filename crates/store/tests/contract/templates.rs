//! Message templates: kept in a group of their account, listed by name,
//! changed and deleted only within the account, a shortcut once per
//! account, and a group with templates not deleted.

use std::sync::Arc;

use switchboard_core::ids::{GroupId, TemplateId};
use switchboard_core::input::MessageBody;
use switchboard_core::templates::{Shortcut, TemplateFields};
use switchboard_store::{Store, StoreError};

use crate::fixtures::{group, name, root_of, tenant};

fn fields(group: GroupId, title: &str, shortcut: Option<&str>, body: &str) -> TemplateFields {
    TemplateFields {
        group_id: group,
        name: name(title),
        shortcut: shortcut.map(|s| Shortcut::parse(s).expect("a shortcut")),
        body: MessageBody::parse(body.into(), 4096).expect("a body"),
    }
}

async fn templates_live_in_a_group_of_their_account(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let globex = tenant(&store, "globex").await;
    let account = acme.account.id;
    let root = root_of(&store, &acme).await;
    let north = group(&store, &acme, "North", root).await;

    let hello = fields(root, "Hello", Some("/hi"), "Hi {{contact.name}}");
    let created = store
        .create_template(account, &hello)
        .await
        .expect("create");
    assert_eq!(
        (created.account_id, created.group_id, created.name.as_str()),
        (account, root, "Hello")
    );
    assert_eq!(created.shortcut.as_deref(), Some("/hi"));
    assert_eq!(created.body, "Hi {{contact.name}}");
    let read = store.template(created.id).await.expect("read");
    assert_eq!(read.as_ref(), Some(&created));

    let same_shortcut = fields(north, "Other", Some("/hi"), "x");
    assert!(matches!(
        store.create_template(account, &same_shortcut).await,
        Err(StoreError::Conflict(_))
    ));
    let theirs = root_of(&store, &globex).await;
    let elsewhere = fields(theirs, "Theirs", None, "x");
    assert!(matches!(
        store.create_template(account, &elsewhere).await,
        Err(StoreError::NotFound)
    ));
    let their_shortcut = fields(theirs, "Hello", Some("/hi"), "a shortcut per account");
    store
        .create_template(globex.account.id, &their_shortcut)
        .await
        .expect("another account may use the shortcut");

    let bye = fields(north, "Bye", None, "Bye!");
    let bye = store.create_template(account, &bye).await.expect("create");
    let listed = store.templates_of(account).await.expect("list");
    assert_eq!(listed, [bye.clone(), created.clone()], "by name");

    let moved = fields(north, "Hello again", Some("/hello"), "Hello!");
    let updated = store
        .update_template(account, created.id, &moved)
        .await
        .expect("update");
    assert_eq!((updated.id, updated.group_id), (created.id, north));
    assert_eq!(updated.shortcut.as_deref(), Some("/hello"));
    for refused in [
        store
            .update_template(globex.account.id, created.id, &moved)
            .await,
        store.update_template(account, created.id, &elsewhere).await,
        store
            .update_template(account, TemplateId::new(), &moved)
            .await,
    ] {
        assert!(matches!(refused, Err(StoreError::NotFound)), "{refused:?}");
    }

    assert!(matches!(
        store.delete_group(account, north).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.delete_template(globex.account.id, bye.id).await,
        Err(StoreError::NotFound)
    ));
    store
        .delete_template(account, bye.id)
        .await
        .expect("delete");
    store
        .delete_template(account, created.id)
        .await
        .expect("delete");
    assert_eq!(store.template(bye.id).await.expect("read"), None);
    store
        .delete_group(account, north)
        .await
        .expect("an empty group goes");
}

contract_tests!(templates_live_in_a_group_of_their_account);
