//! The frames' table: every client frame, with the one fact written down
//! about it (what it needs), the resource a case makes for it, and what it
//! answers when allowed.

use serde_json::{Value, json};
use switchboard_proto::ErrorCode;
use switchboard_proto::client::{self, ClientFrame};
use uuid::Uuid;

use super::rules::{Needs, Outcome};
use super::tables::{ASSIGNED, Case, HELD, OPEN, RESOLVED, Subject};

use switchboard_core::access::Permission::*;

/// What a frame answers when allowed.
#[derive(Debug, Clone, Copy)]
pub(super) enum Granted {
    Ack,
    /// The permission check passes and the room refuses with this code.
    Refused(ErrorCode),
}

/// One row of the WebSocket table.
#[derive(Debug, Clone)]
pub(super) struct Frame {
    /// The frame, with placeholders (`{id}`: the case's conversation).
    pub(super) frame: Value,
    pub(super) variant: &'static str,
    pub(super) subject: Subject,
    pub(super) needs: Needs,
    pub(super) lists: Option<Needs>,
    /// The user sends `join` first (expected as `join` is).
    pub(super) joined_first: bool,
    pub(super) ok: Granted,
    pub(super) bodies: bool,
}

pub(super) fn frame(frame: Value, needs: Needs, subject: Subject) -> Frame {
    Frame {
        frame,
        variant: "",
        subject,
        needs,
        lists: None,
        joined_first: false,
        ok: Granted::Ack,
        bodies: false,
    }
}

impl Frame {
    pub(super) fn variant(self, variant: &'static str) -> Self {
        Self { variant, ..self }
    }

    pub(super) fn lists(self, needs: Needs) -> Self {
        let lists = Some(needs);
        Self { lists, ..self }
    }

    pub(super) fn joined_first(self) -> Self {
        Self {
            joined_first: true,
            ..self
        }
    }

    pub(super) fn refused(self, code: ErrorCode) -> Self {
        let ok = Granted::Refused(code);
        Self { ok, ..self }
    }

    pub(super) fn bodies(self) -> Self {
        Self {
            bodies: true,
            ..self
        }
    }

    /// The frame's `type`.
    pub(super) fn kind(&self) -> &str {
        self.frame["type"].as_str().expect("a frame type")
    }

    pub(super) fn names_a_resource(&self) -> bool {
        self.needs.names_a_resource()
    }

    pub(super) fn label(&self) -> String {
        match self.variant {
            "" => format!("frame {}", self.kind()),
            variant => format!("frame {} ({variant})", self.kind()),
        }
    }

    /// The frame of a case.
    pub(super) fn build(&self, case: &Case) -> ClientFrame {
        serde_json::from_value(case.fill(&self.frame))
            .unwrap_or_else(|error| panic!("{}: not a client frame: {error}", self.label()))
    }
}

/// Every client frame, with what it needs (proto/PROTOCOL.md "Permissions").
pub(super) fn frames() -> Vec<Frame> {
    use Needs::*;
    let seen = Conversation(&[]);
    let answering = Conversation(&[ConversationsAnswer]);
    let taking_over = Conversation(&[ConversationsAnswer, ConversationsTakeOver]);
    let assigning = Conversation(&[ConversationsAssign]);
    let forcing = Conversation(&[ConversationsAssign, ConversationsAssignOverCapacity]);
    let resolving = Conversation(&[ConversationsResolve]);
    let on = |kind: &str| json!({"type": kind, "conversation_id": "{id}"});
    let sending = json!({"type": "send", "conversation_id": "{id}", "client_msg_id": "$unique", "body": "hi"});
    let holder = "a colleague holds the role";
    vec![
        frame(json!({"type": "subscribe_inbox"}), Nothing, OPEN).lists(seen),
        frame(on("join"), seen, OPEN).bodies(),
        frame(
            json!({"type": "join", "conversation_id": "{id}", "watch": true}),
            assigning,
            OPEN,
        )
        .bodies()
        .variant("watch"),
        frame(on("take"), answering, OPEN),
        frame(json!({"type": "take", "conversation_id": "{id}", "force": true}), taking_over, HELD)
            .variant("force, a colleague holds the role"),
        frame(on("release"), seen, OPEN),
        frame(on("leave"), seen, OPEN),
        frame(sending.clone(), answering, OPEN)
            .joined_first()
            .variant("after join"),
        frame(sending, answering, HELD)
            .refused(ErrorCode::NotActive)
            .variant(holder),
        frame(
            json!({"type": "send", "conversation_id": "{id}", "client_msg_id": "$unique", "template_id": "$template"}),
            Conversation(&[ConversationsAnswer, TemplatesView]),
            OPEN,
        )
        .joined_first()
        .variant("a template, after join"),
        frame(on("typing"), answering, OPEN)
            .joined_first()
            .variant("after join"),
        frame(on("typing"), answering, HELD)
            .refused(ErrorCode::NotActive)
            .variant(holder),
        frame(json!({"type": "ping"}), Nothing, Subject::Nothing),
        frame(
            json!({"type": "set_availability", "status": "away"}),
            Agent(Outcome::Forbidden),
            Subject::Nothing,
        ),
        frame(
            json!({"type": "assign", "conversation_id": "{id}", "user_id": "$assignee"}),
            assigning,
            OPEN,
        ),
        frame(
            json!({"type": "assign", "conversation_id": "{id}", "user_id": "$assignee", "force": true}),
            forcing,
            OPEN,
        )
        .variant("force"),
        frame(on("unassign"), assigning, ASSIGNED),
        frame(on("resolve"), resolving, OPEN),
        frame(on("reopen"), resolving, RESOLVED),
        frame(
            json!({"type": "subscribe_agents"}),
            Account(&[ConversationsAssign]),
            Subject::Nothing,
        ),
        frame(json!({"type": "unsubscribe_agents"}), Nothing, Subject::Nothing),
    ]
}

pub(super) fn join(conversation: Uuid) -> ClientFrame {
    ClientFrame::Join(client::Join {
        reference: None,
        conversation_id: conversation,
        after_seq: None,
        watch: false,
    })
}
