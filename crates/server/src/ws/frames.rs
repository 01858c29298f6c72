//! The WebSocket adapter of the application: each client frame is parsed
//! (its inputs into the core's newtypes), handed to its use case, and
//! answered with one `ack` carrying the result or one `error`.

use std::sync::Arc;

use switchboard_core::ConversationId;
use switchboard_core::input::{ClientMsgId, MessageBody};
use switchboard_core::presence::Snapshot;
use switchboard_proto::client::{ClientFrame, FrameHead};
use switchboard_proto::server::Ack;
use switchboard_proto::{AckBody, ServerFrame};

use crate::app::{App, AppError, Outgoing, RouteChange};
use crate::hub::{Conn, Hub, encode};
use crate::{mapping, refusals};

/// Handles one text frame from `conn` and queues its answer.
pub async fn handle_text(app: &App, hub: &Hub, conn: &Arc<Conn>, text: &str) {
    hub.metrics().frames_in.inc();
    let frame = match serde_json::from_str::<ClientFrame>(text) {
        Ok(frame) => frame,
        Err(error) => {
            let head = serde_json::from_str::<FrameHead>(text).ok();
            let reference = head.as_ref().and_then(FrameHead::reference);
            let message = parse_error_message(head.as_ref(), &error);
            reply_error(hub, conn, &AppError::BadRequest(message), reference);
            return;
        }
    };
    let reference = frame.reference().map(str::to_owned);
    match dispatch(app, conn, frame).await {
        Ok(body) => {
            if let Some(reference) = reference {
                hub.send_to(conn, &encode(&ServerFrame::Ack(Ack { reference, body })));
            }
        }
        Err(error) => reply_error(hub, conn, &error, reference),
    }
}

/// Counts and queues the `error` frame of a refusal, answering `reference`.
pub fn reply_error(hub: &Hub, conn: &Conn, error: &AppError, reference: Option<String>) {
    let frame = refusals::wire(error).with_ref(reference);
    hub.metrics().error(frame.code);
    hub.send_to(conn, &encode(&ServerFrame::Error(frame)));
}

/// The `ref` of a frame that is refused before it is read (rate limit).
pub fn reference_of(text: &str) -> Option<String> {
    serde_json::from_str::<FrameHead>(text)
        .ok()
        .and_then(|head| head.reference())
}

async fn dispatch(app: &App, conn: &Arc<Conn>, frame: ClientFrame) -> Result<AckBody, AppError> {
    let who = &conn.principal;
    Ok(match frame {
        ClientFrame::SubscribeInbox(f) => {
            let inbox = app.subscribe_inbox(conn, f.folder_id).await?;
            AckBody {
                conversations: Some(inbox.conversations.iter().map(mapping::summary).collect()),
                agent: inbox.agent.as_ref().map(mapping::agent),
                ..AckBody::default()
            }
        }
        ClientFrame::Join(f) => {
            let id = ConversationId::from(f.conversation_id);
            let view = match f.watch {
                true => app.watch(conn, id, f.after_seq).await?,
                false => app.join(conn, id, f.after_seq).await?,
            };
            let joined = view.joined;
            AckBody {
                presence: Some(mapping::presence(id, &joined.presence)),
                messages: Some(
                    joined
                        .messages
                        .iter()
                        .map(|m| mapping::message(m, view.bodies))
                        .collect(),
                ),
                last_seq: Some(joined.last_seq),
                complete: joined.complete,
                ..AckBody::default()
            }
        }
        ClientFrame::Take(f) => {
            let id = f.conversation_id.into();
            presence_ack(id, app.take(conn, id, f.force).await?)
        }
        ClientFrame::Release(f) => {
            let id = f.conversation_id.into();
            presence_ack(id, app.release(conn, id).await?)
        }
        ClientFrame::Leave(f) => {
            let id = f.conversation_id.into();
            presence_ack(id, app.leave(conn, id).await?)
        }
        ClientFrame::Send(f) => {
            let outgoing = match (f.body, f.template_id) {
                (Some(body), _) => {
                    Outgoing::Body(MessageBody::parse(body, app.settings().max_message_bytes)?)
                }
                (None, Some(template)) => Outgoing::Template(template.into()),
                (None, None) => {
                    return Err(AppError::BadRequest(
                        "send carries exactly one of `body` and `template_id`".into(),
                    ));
                }
            };
            let client_msg_id = ClientMsgId::parse(f.client_msg_id)?;
            let sent = app
                .send(conn, f.conversation_id.into(), client_msg_id, outgoing)
                .await?;
            AckBody {
                message: Some(mapping::message(&sent.message, sent.bodies)),
                ..AckBody::default()
            }
        }
        ClientFrame::Typing(f) => {
            app.typing(conn, f.conversation_id.into()).await?;
            AckBody::default()
        }
        ClientFrame::Ping(_) => AckBody::default(),
        ClientFrame::SetAvailability(f) => {
            let state = app
                .set_availability(who, mapping::availability_from(f.status))
                .await?;
            AckBody {
                agent: Some(mapping::agent(&state)),
                ..AckBody::default()
            }
        }
        ClientFrame::Assign(f) => {
            let card = app
                .assign(who, f.conversation_id.into(), f.user_id.into(), f.force)
                .await?;
            card_ack(&card)
        }
        ClientFrame::Unassign(f) => {
            route(app, conn, f.conversation_id, RouteChange::Unassign).await?
        }
        ClientFrame::Resolve(f) => {
            route(app, conn, f.conversation_id, RouteChange::Resolve).await?
        }
        ClientFrame::Reopen(f) => route(app, conn, f.conversation_id, RouteChange::Reopen).await?,
        ClientFrame::SubscribeAgents(_) => {
            let agents = app.subscribe_agents(conn).await?;
            AckBody {
                agents: Some(agents.iter().map(mapping::agent).collect()),
                ..AckBody::default()
            }
        }
        ClientFrame::UnsubscribeAgents(_) => {
            app.unsubscribe_agents(conn)?;
            AckBody::default()
        }
    })
}

async fn route(
    app: &App,
    conn: &Conn,
    id: uuid::Uuid,
    change: RouteChange,
) -> Result<AckBody, AppError> {
    let card = app.change_route(&conn.principal, id.into(), change).await?;
    Ok(card_ack(&card))
}

fn presence_ack(id: ConversationId, presence: Snapshot) -> AckBody {
    AckBody {
        presence: Some(mapping::presence(id, &presence)),
        ..AckBody::default()
    }
}

fn card_ack(card: &Option<switchboard_core::model::Conversation>) -> AckBody {
    AckBody {
        conversation: card.as_ref().map(mapping::summary),
        ..AckBody::default()
    }
}

fn parse_error_message(head: Option<&FrameHead>, error: &serde_json::Error) -> String {
    let Some(head) = head else {
        return format!("malformed json: {error}");
    };
    match &head.kind {
        None => "missing field `type`".to_owned(),
        Some(serde_json::Value::String(kind))
            if error.to_string().starts_with("unknown variant") =>
        {
            format!("unknown frame type `{kind}`")
        }
        Some(serde_json::Value::String(kind)) => format!("invalid `{kind}` frame: {error}"),
        Some(_) => "field `type` must be a string".to_owned(),
    }
}

/// The frame as bytes, for tests of what a reply looks like.
#[cfg(test)]
fn error_text(error: &AppError) -> tokio_tungstenite::tungstenite::Utf8Bytes {
    encode(&ServerFrame::Error(refusals::wire(error)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message_for(text: &str) -> String {
        let error = serde_json::from_str::<ClientFrame>(text).unwrap_err();
        let head = serde_json::from_str::<FrameHead>(text).ok();
        parse_error_message(head.as_ref(), &error)
    }

    #[test]
    fn parse_errors_say_what_is_wrong() {
        assert!(message_for("{nope").starts_with("malformed json"));
        assert_eq!(message_for(r#"{"ref":"r1"}"#), "missing field `type`");
        assert_eq!(
            message_for(r#"{"type":"dance"}"#),
            "unknown frame type `dance`"
        );
        assert_eq!(
            message_for(r#"{"type":7}"#),
            "field `type` must be a string"
        );
        let missing = message_for(r#"{"type":"join"}"#);
        assert!(missing.contains("conversation_id"), "{missing}");
        let bad_id = message_for(r#"{"type":"join","conversation_id":"x"}"#);
        assert!(bad_id.starts_with("invalid `join` frame"), "{bad_id}");
    }

    #[test]
    fn an_error_reply_is_an_error_frame() {
        assert_eq!(
            error_text(&AppError::NotActive).as_str(),
            r#"{"type":"error","code":"not_active","message":"only the active responder may do this; take the conversation first"}"#
        );
    }
}
