//! The Contact menu (docs/MODULES.md, "Contacts") against a real server:
//! customers searched by name or handle, each with the conversations the
//! user may see; the name and notes kept by who holds `contacts.manage`;
//! a contact of a group the user holds nothing at, or of another account,
//! not found.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::Fixture;

fn id(value: &Value) -> Uuid {
    value.as_str().expect("an id").parse().expect("a uuid")
}

/// A named customer writes to the fixture's inbox: their contact's id and
/// the conversation's.
async fn customer(fx: &Fixture, handle: &str, name: &str) -> (Uuid, Uuid) {
    let conversation = fx.conversation_from(handle, name).await;
    let path = format!("/v1/conversations/{conversation}");
    let (_, card) = fx
        .server
        .call(&fx.owner.token, "GET", &path, Value::Null)
        .await;
    (id(&card["contact"]["id"]), conversation)
}

fn names(list: &Value) -> Vec<&str> {
    list["contacts"]
        .as_array()
        .expect("contacts")
        .iter()
        .map(|c| c["name"].as_str().unwrap_or(""))
        .collect()
}

#[tokio::test]
async fn contacts_are_searched_read_and_kept_as_the_roles_allow() {
    let fx = Fixture::with_roles(&["editor", "operator", "sales"], &[]).await;
    let server = &fx.server;
    let owner = &fx.owner.token;
    let (editor, operator, sales) = (&fx.agents[0], &fx.agents[1], &fx.agents[2]);
    let (ann, ann_conversation) = customer(&fx, "+4790000001", "Ann Berg").await;
    customer(&fx, "+4790000002", "Bob Dahl").await;

    // Search by a piece of the name or the handle, any case.
    let (status, all) = server
        .call(&editor.token, "GET", "/v1/contacts", Value::Null)
        .await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(names(&all), ["Bob Dahl", "Ann Berg"], "newest first");
    let (_, found) = server
        .call(&editor.token, "GET", "/v1/contacts?query=aNN", Value::Null)
        .await;
    assert_eq!(names(&found), ["Ann Berg"]);
    let (_, found) = server
        .call(&editor.token, "GET", "/v1/contacts?query=0002", Value::Null)
        .await;
    assert_eq!(names(&found), ["Bob Dahl"]);
    let (_, first) = server
        .call(&editor.token, "GET", "/v1/contacts?limit=1", Value::Null)
        .await;
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let (_, second) = server
        .call(
            &editor.token,
            "GET",
            &format!("/v1/contacts?limit=1&cursor={cursor}"),
            Value::Null,
        )
        .await;
    assert_eq!(
        (names(&first), names(&second)),
        (vec!["Bob Dahl"], vec!["Ann Berg"])
    );
    assert!(second["next_cursor"].is_null(), "{second}");

    // One contact with its conversations.
    let path = format!("/v1/contacts/{ann}");
    let (status, detail) = server.call(&editor.token, "GET", &path, Value::Null).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["handle"], "+4790000001");
    assert_eq!(detail["conversations"][0]["id"], json!(ann_conversation));

    // Notes and name: contacts.manage (the owner), not the editor.
    let (status, refused) = server
        .call(&editor.token, "PATCH", &path, json!({"notes": "VIP"}))
        .await;
    assert_eq!(
        (status, &refused["error"]["code"]),
        (403, &json!("forbidden"))
    );
    let edit = json!({"name": "Ann Berg-Olsen", "notes": "Prefers SMS after 17:00"});
    let (status, edited) = server.call(owner, "PATCH", &path, edit).await;
    assert_eq!(status, 200, "{edited}");
    let (_, detail) = server.call(&editor.token, "GET", &path, Value::Null).await;
    assert_eq!(
        (&detail["name"], &detail["notes"]),
        (&json!("Ann Berg-Olsen"), &json!("Prefers SMS after 17:00"))
    );
    let (_, cleared) = server
        .call(owner, "PATCH", &path, json!({"notes": null}))
        .await;
    assert_eq!(
        (&cleared["name"], &cleared["notes"]),
        (&json!("Ann Berg-Olsen"), &Value::Null)
    );

    // An operator holds no contacts.view: finds nobody, reads nobody.
    let (_, none) = server
        .call(&operator.token, "GET", "/v1/contacts", Value::Null)
        .await;
    assert_eq!(none["contacts"], json!([]), "{none}");
    let (status, _) = server
        .call(&operator.token, "GET", &path, Value::Null)
        .await;
    assert_eq!(status, 403);

    // A Sales user reads the contact, but only the conversations assigned
    // to them.
    let (_, detail) = server.call(&sales.token, "GET", &path, Value::Null).await;
    assert_eq!(detail["conversations"], json!([]), "{detail}");
    let assign = format!("/v1/conversations/{ann_conversation}/assign");
    let body = json!({"user_id": sales.id, "force": true});
    assert_eq!(server.call(owner, "POST", &assign, body).await.0, 200);
    let (_, detail) = server.call(&sales.token, "GET", &path, Value::Null).await;
    assert_eq!(detail["conversations"][0]["id"], json!(ann_conversation));
}

#[tokio::test]
async fn a_contact_of_a_group_the_user_holds_nothing_at_is_not_found() {
    let fx = Fixture::with_roles(&["editor"], &[]).await;
    let server = &fx.server;
    let owner = &fx.owner.token;
    let editor = &fx.agents[0];
    let (ann, _) = customer(&fx, "+4790000011", "Ann North").await;
    let (_, groups) = server.call(owner, "GET", "/v1/groups", Value::Null).await;
    let root = groups[0]["id"].clone();
    let mut made = Vec::new();
    for name in ["North", "South"] {
        let body = json!({"name": name, "parent_id": root});
        made.push(server.call(owner, "POST", "/v1/groups", body).await.1["id"].clone());
    }
    // The inbox goes North; the editor edits in South only.
    let inbox = format!("/v1/inboxes/{}", fx.inbox);
    assert_eq!(
        server
            .call(owner, "PATCH", &inbox, json!({"group_id": made[0]}))
            .await
            .0,
        200
    );
    let grants = json!([{"role": "editor", "group_id": made[1]}]);
    let path = format!("/v1/users/{}/grants", editor.id);
    assert_eq!(server.call(owner, "PUT", &path, grants).await.0, 200);

    let (_, listed) = server
        .call(&editor.token, "GET", "/v1/contacts", Value::Null)
        .await;
    assert_eq!(listed["contacts"], json!([]), "{listed}");
    let contact = format!("/v1/contacts/{ann}");
    let (status, answer) = server
        .call(&editor.token, "GET", &contact, Value::Null)
        .await;
    assert_eq!(
        (status, &answer["error"]["code"]),
        (404, &json!("not_found"))
    );

    server.create_rival_account().await;
    let eve = server.login("eve@rival.test").await;
    for (method, body) in [("GET", Value::Null), ("PATCH", json!({"notes": "x"}))] {
        let (status, _) = server.call(&eve, method, &contact, body).await;
        assert_eq!(status, 404, "{method} by another account");
    }
    let (_, theirs) = server.call(&eve, "GET", "/v1/contacts", Value::Null).await;
    assert_eq!(theirs["contacts"], json!([]));
}
