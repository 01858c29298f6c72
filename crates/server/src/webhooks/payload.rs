//! The JSON a delivery posts: `{"id","type","created_at","account_id",
//! "data":{"conversation":{...},"message":{...}}}`. A message's body is
//! there only when the webhook's creator held `messages.read_bodies` at
//! the root when creating it and still does at the send; otherwise it is
//! `null`.

use chrono::SecondsFormat;
use serde_json::{Value, json};
use switchboard_core::webhooks::{ClaimedDelivery, WebhookEvent};

/// The JSON posted for `delivery`; message bodies only with `bodies`
/// (the webhook's creator may read them now).
pub fn body(delivery: &ClaimedDelivery, bodies: bool) -> String {
    let c = &delivery.conversation;
    let mut data = json!({
        "conversation": {
            "id": c.id,
            "inbox_id": c.inbox_id,
            "status": c.status,
            "assignee_id": c.assignee_id,
            "contact": {
                "id": c.contact_id,
                "handle": c.contact_handle,
                "name": c.contact_name,
            },
            "created_at": time(c.created_at),
        },
    });
    if delivery.event == WebhookEvent::MessageCreated
        && let Some(m) = &delivery.message
    {
        data["message"] = json!({
            "id": m.id,
            "seq": m.seq,
            "direction": m.direction,
            "author_id": m.author_id,
            "body": if bodies { Value::from(m.body.as_str()) } else { Value::Null },
            "created_at": time(m.created_at),
        });
    }
    json!({
        "id": delivery.id,
        "type": delivery.event.as_str(),
        "created_at": time(delivery.created_at),
        "account_id": delivery.account_id,
        "data": data,
    })
    .to_string()
}

fn time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}
