//! The fanout scenario: per conversation one active responder sending paced
//! messages that carry their send time, and observers (each watching one
//! or more conversations) timing their arrival.

use std::time::Duration;

use switchboard_proto::client::{self, ClientFrame};
use switchboard_proto::{ErrorCode, ServerFrame};
use tokio::time::MissedTickBehavior;
use uuid::Uuid;

use super::conn::Conn;
use super::observe::Watch;
use super::shared::{Shared, stopped};
use super::{Ctx, End, SetupSignal, hold_until_run, ping};
use crate::clock::{Window, now_ns};
use crate::histo::names;

/// Digits of the send time at the start of every body.
pub const STAMP_DIGITS: usize = 20;

/// A message body of `len` bytes (at least [`STAMP_DIGITS`]) that starts
/// with `sent_ns`.
pub fn body(sent_ns: u64, len: usize) -> String {
    let mut body = format!("{sent_ns:0width$}", width = STAMP_DIGITS);
    while body.len() < len {
        body.push('.');
    }
    body
}

/// The send time a [`body`] carries.
pub fn stamp(body: &str) -> Option<u64> {
    body.get(..STAMP_DIGITS)?.parse().ok()
}

/// A `send` ref carries the send time too, so acks need no lookup.
fn send_ref(sent_ns: u64) -> String {
    format!("s{sent_ns}")
}

fn ref_stamp(reference: &str) -> Option<u64> {
    reference.strip_prefix('s')?.parse().ok()
}

#[derive(Debug, Clone)]
pub(super) struct Responder {
    pub conversation: Uuid,
    pub rate_per_sec: f64,
    pub body_bytes: usize,
    /// Where in the send period this responder ticks, in [0, 1).
    pub phase: f64,
    /// Makes `client_msg_id`s unique in the run.
    pub id: String,
}

fn take(conversation: Uuid, reference: Option<String>) -> ClientFrame {
    ClientFrame::Take(client::Take {
        reference,
        conversation_id: conversation,
        force: false,
    })
}

impl Responder {
    pub(super) async fn run(
        self,
        conn: &mut Conn,
        ctx: &mut Ctx,
        setup: &mut SetupSignal,
        floor: bool,
    ) -> End {
        let reference = conn.next_ref("j");
        let join = ClientFrame::Join(client::Join {
            reference: Some(reference.clone()),
            conversation_id: self.conversation,
            after_seq: None,
            watch: false,
        });
        let me = conn.user_id;
        match conn.request(&join, &reference, |_, _| {}).await {
            Ok(Ok(ack)) => {
                let active = ack.presence.and_then(|p| p.active).map(|a| a.user_id);
                if !floor && active != Some(me) {
                    // Someone joined first: "Start chatting".
                    let reference = conn.next_ref("t");
                    match conn
                        .request(
                            &take(self.conversation, Some(reference.clone())),
                            &reference,
                            |_, _| {},
                        )
                        .await
                    {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => return ctx.setup_failed("take", e.message),
                        Err(e) => return ctx.setup_failed("take", e),
                    }
                }
            }
            Ok(Err(e)) => return ctx.setup_failed("join", e.message),
            Err(e) => return ctx.setup_failed("join", e),
        }
        setup.done();

        // `typing` keeps the active role from lapsing while we wait, and a
        // lost role is taken back.
        let keepalive = ClientFrame::Typing(client::ConversationRef {
            reference: None,
            conversation_id: self.conversation,
        });
        let conversation = self.conversation;
        let retake = |frame: &ServerFrame| match frame {
            ServerFrame::LockLost(_) => Some(take(conversation, None)),
            _ => None,
        };
        let window = match hold_until_run(conn, ctx, &keepalive, retake).await {
            Ok(window) => window,
            Err(end) => return end,
        };
        self.send_loop(conn, ctx, window).await
    }

    async fn send_loop(&self, conn: &mut Conn, ctx: &mut Ctx, _window: Window) -> End {
        let shared = &ctx.shared;
        let mut phase = shared.phase();
        let period = Duration::from_secs_f64(1.0 / self.rate_per_sec.max(1e-3));
        let mut ticker = tokio::time::interval_at(
            tokio::time::Instant::now() + period.mul_f64(self.phase),
            period,
        );
        ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
        let keepalive = ping();
        let mut sent = 0u64;
        loop {
            tokio::select! {
                () = stopped(&mut phase) => return End::Stopped,
                _ = ticker.tick() => {
                    sent += 1;
                    let at = now_ns();
                    let frame = ClientFrame::Send(client::Send {
                        reference: Some(send_ref(at)),
                        conversation_id: self.conversation,
                        client_msg_id: format!("{}-{sent}", self.id),
                        body: Some(body(at, self.body_bytes)),
                        template_id: None,
                    });
                    if conn.send(&frame).await.is_err() {
                        return End::Closed;
                    }
                    shared.count_at(&shared.counters.sends, at);
                }
                _ = ctx.heartbeat.tick() => {
                    if conn.send(&keepalive).await.is_err() {
                        return End::Closed;
                    }
                }
                frame = conn.recv() => {
                    let Some((at, frame)) = frame else { return End::Closed };
                    let retake = match frame {
                        ServerFrame::Ack(ack) => {
                            if let Some(sent_at) = ref_stamp(&ack.reference) {
                                shared.count_at(&shared.counters.send_acks, sent_at);
                                shared.record_at(names::SEND_TO_ACK, sent_at, at.saturating_sub(sent_at));
                            }
                            false
                        }
                        ServerFrame::Error(error) => {
                            let sent_at = error.reference.as_deref().and_then(ref_stamp).unwrap_or(at);
                            shared.error_at(error.code.as_str(), sent_at);
                            error.code == ErrorCode::NotActive
                        }
                        ServerFrame::LockLost(_) => true,
                        _ => false,
                    };
                    if retake {
                        shared.counters.retakes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if conn.send(&take(self.conversation, None)).await.is_err() {
                            return End::Closed;
                        }
                    }
                }
            }
        }
    }
}

/// An observer: joins each of its conversations, then times every
/// `message` that arrives on the connection.
pub(super) async fn observe(
    conn: &mut Conn,
    ctx: &mut Ctx,
    setup: &mut SetupSignal,
    conversations: &[Uuid],
) -> End {
    for &conversation in conversations {
        let reference = conn.next_ref("j");
        let join = ClientFrame::Join(client::Join {
            reference: Some(reference.clone()),
            conversation_id: conversation,
            after_seq: None,
            watch: false,
        });
        match conn.request(&join, &reference, |_, _| {}).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return ctx.setup_failed("join", e.message),
            Err(e) => return ctx.setup_failed("join", e),
        }
    }
    setup.done();
    super::observe::observe(conn, ctx, &mut Messages).await
}

/// An observer's reading of the run: each `message` is a delivery, timed
/// from the send time its body carries.
struct Messages;

impl Watch for Messages {
    fn during_run(&mut self, shared: &Shared, at: u64, frame: ServerFrame) {
        if let ServerFrame::Message(event) = frame
            && let Some(sent_at) = event.message.body.as_deref().and_then(stamp)
        {
            shared.count_at(&shared.counters.deliveries, at);
            shared.record_at(names::SEND_TO_DELIVERY, at, at.saturating_sub(sent_at));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_carries_its_send_time_and_has_the_asked_length() {
        let b = body(123_456_789, 100);
        assert_eq!(b.len(), 100);
        assert_eq!(stamp(&b), Some(123_456_789));
        let short = body(u64::MAX, 5);
        assert_eq!(short.len(), STAMP_DIGITS);
        assert_eq!(stamp(&short), Some(u64::MAX));
        assert_eq!(stamp("hello"), None);
    }

    #[test]
    fn a_send_ref_carries_its_send_time() {
        assert_eq!(ref_stamp(&send_ref(42)), Some(42));
        assert_eq!(ref_stamp("j1"), None);
    }
}
