//! Message templates (docs/MODULES.md, "Templates") against a real server:
//! an Editor writes one, an Operator sends it and the stored message has
//! its placeholders filled; an Operator may not edit it; a template of a
//! group the user holds nothing in does not exist for them.

use serde_json::{Value, json};
use switchboard_proto::client::{self, ClientFrame};
use switchboard_proto::{ErrorCode, ServerFrame};
use uuid::Uuid;

use crate::support::{Fixture, WsClient};

fn id(value: &Value) -> Uuid {
    value.as_str().expect("an id").parse().expect("a uuid")
}

/// `send` with a template instead of a body.
fn send_template(conversation: Uuid, client_msg_id: &str, template: Uuid) -> ClientFrame {
    ClientFrame::Send(client::Send {
        reference: None,
        conversation_id: conversation,
        client_msg_id: client_msg_id.into(),
        body: None,
        template_id: Some(template),
    })
}

#[tokio::test]
async fn an_editor_writes_a_template_an_operator_sends_it_filled_but_may_not_edit_it() {
    let fx = Fixture::with_roles(&["editor", "operator"], &[]).await;
    let server = &fx.server;
    let (editor, operator) = (&fx.agents[0], &fx.agents[1]);
    let template = json!({
        "name": "Greeting",
        "shortcut": "/hi",
        "body": "Hello {{contact.name}} ({{contact.handle}}), {{agent.name}} here. {{unknown}}",
    });
    let (status, created) = server
        .call(&editor.token, "POST", "/v1/templates", template)
        .await;
    assert_eq!(status, 201, "{created}");
    let template = id(&created["id"]);
    let (status, listed) = server
        .call(&operator.token, "GET", "/v1/templates", Value::Null)
        .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(
        listed[0]["id"], created["id"],
        "the operator sees it: {listed}"
    );
    let path = format!("/v1/templates/{template}");
    let (status, refused) = server
        .call(&operator.token, "PATCH", &path, json!({"body": "changed"}))
        .await;
    assert_eq!(
        (status, &refused["error"]["code"]),
        (403, &json!("forbidden"))
    );
    let (status, refused) = server
        .call(&operator.token, "DELETE", &path, Value::Null)
        .await;
    assert_eq!(status, 403, "{refused}");

    let conversation = fx.conversation_from("+4790000009", "Bob").await;
    let mut ann = WsClient::connect(server, &operator.token).await;
    ann.join(conversation).await;
    ann.take(conversation).await.expect("take");
    let sent = ann
        .request(send_template(conversation, "t1", template))
        .await
        .expect("the operator sends the template");
    let message = sent.message.expect("the stored message");
    let filled = format!(
        "Hello Bob (+4790000009), {} here. {{{{unknown}}}}",
        operator.name
    );
    assert_eq!(message.body.as_deref(), Some(filled.as_str()));
    let messages = format!("/v1/conversations/{conversation}/messages");
    let (_, stored) = server
        .call(&operator.token, "GET", &messages, Value::Null)
        .await;
    let last = stored.as_array().and_then(|m| m.last()).expect("messages");
    assert_eq!(last["body"], json!(filled), "stored filled: {stored}");

    // Not both a body and a template, not neither; an unknown template is
    // not found.
    let unknown = ann
        .request(send_template(conversation, "t2", Uuid::now_v7()))
        .await
        .expect_err("an unknown template");
    assert_eq!(unknown.code, ErrorCode::NotFound);

    // The editor may change it; the operator sees the change.
    let (status, _) = server
        .call(
            &editor.token,
            "PATCH",
            &path,
            json!({"shortcut": null, "body": "Bye {{contact.name}}"}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, listed) = server
        .call(&operator.token, "GET", "/v1/templates", Value::Null)
        .await;
    assert_eq!(
        (&listed[0]["body"], &listed[0]["shortcut"]),
        (&json!("Bye {{contact.name}}"), &Value::Null)
    );
    drop(ann.settle().await);
}

#[tokio::test]
async fn a_template_of_a_group_the_user_holds_nothing_in_does_not_exist_for_them() {
    let fx = Fixture::with_roles(&["operator"], &[]).await;
    let server = &fx.server;
    let owner = &fx.owner.token;
    let operator = &fx.agents[0];
    let (_, groups) = server.call(owner, "GET", "/v1/groups", Value::Null).await;
    let root = groups[0]["id"].clone();
    let mut groups = Vec::new();
    for name in ["North", "South"] {
        let body = json!({"name": name, "parent_id": root});
        let (_, group) = server.call(owner, "POST", "/v1/groups", body).await;
        groups.push(group["id"].clone());
    }
    let (north, south) = (&groups[0], &groups[1]);
    let body = json!({"name": "North only", "body": "x", "group_id": north});
    let (status, created) = server.call(owner, "POST", "/v1/templates", body).await;
    assert_eq!(status, 201, "{created}");
    let at_root = json!({"name": "Everyone", "body": "y"});
    let (_, everyone) = server.call(owner, "POST", "/v1/templates", at_root).await;

    // The operator answers in South only.
    let grants = json!([{"role": "operator", "group_id": south}]);
    let path = format!("/v1/users/{}/grants", operator.id);
    assert_eq!(server.call(owner, "PUT", &path, grants).await.0, 200);
    let (_, listed) = server
        .call(&operator.token, "GET", "/v1/templates", Value::Null)
        .await;
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["Everyone"],
        "a root template serves every group below: {listed}"
    );
    let north_template = format!("/v1/templates/{}", created["id"].as_str().unwrap());
    for (method, body) in [("PATCH", json!({"name": "X"})), ("DELETE", Value::Null)] {
        let (status, answer) = server
            .call(&operator.token, method, &north_template, body)
            .await;
        assert_eq!(
            (status, &answer["error"]["code"]),
            (404, &json!("not_found")),
            "{method}"
        );
    }
    // Another account's owner does not find it either.
    server.create_rival_account().await;
    let eve = server.login("eve@rival.test").await;
    let (status, _) = server
        .call(&eve, "PATCH", &north_template, json!({"name": "X"}))
        .await;
    assert_eq!(status, 404);
    let (_, theirs) = server.call(&eve, "GET", "/v1/templates", Value::Null).await;
    assert_eq!(theirs, json!([]));
    assert!(everyone["id"].is_string());
}

/// A template sent into a conversation of a group it does not serve is not
/// found, though the sender sees it elsewhere; a rendered text over the
/// message limit is refused as too large.
#[tokio::test]
async fn a_template_serves_only_its_groups_conversations_and_the_size_limit() {
    let fx = Fixture::with_roles(&["operator"], &[("SWITCHBOARD_MAX_MESSAGE_BYTES", "64")]).await;
    let server = &fx.server;
    let owner = &fx.owner.token;
    let operator = &fx.agents[0];
    let (_, groups) = server.call(owner, "GET", "/v1/groups", Value::Null).await;
    let root = groups[0]["id"].clone();
    let body = json!({"name": "North", "parent_id": root});
    let (_, north) = server.call(owner, "POST", "/v1/groups", body).await;
    let body = json!({"name": "North hello", "body": "Hi", "group_id": north["id"]});
    let (_, north_template) = server.call(owner, "POST", "/v1/templates", body).await;
    // 56 bytes as written, 40 + the contact's name once filled.
    let long = json!({"name": "Long", "body": format!("{}{{{{contact.name}}}}", "x".repeat(40))});
    let (status, long) = server.call(owner, "POST", "/v1/templates", long).await;
    assert_eq!(status, 201, "{long}");

    // The fixture's inbox sits at the root, above North.
    let conversation = fx
        .conversation_from("+4790000010", "Bartholomew Fitzgerald-Smythe")
        .await;
    let mut ann = WsClient::connect(server, &operator.token).await;
    ann.join(conversation).await;
    ann.take(conversation).await.expect("take");
    let refused = ann
        .request(send_template(conversation, "n1", id(&north_template["id"])))
        .await
        .expect_err("a North template in a root conversation");
    assert_eq!(refused.code, ErrorCode::NotFound);
    let refused = ann
        .request(send_template(conversation, "l1", id(&long["id"])))
        .await
        .expect_err("over the limit once filled");
    assert_eq!(
        (refused.code, refused.max_bytes),
        (ErrorCode::TooLarge, Some(64))
    );
    let frames = ann.settle().await;
    assert!(
        !frames.iter().any(|f| matches!(f, ServerFrame::Message(_))),
        "nothing was stored: {frames:?}"
    );
}
