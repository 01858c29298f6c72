//! Outbound webhooks (docs/MODULES.md, "Webhooks"): what an account
//! subscribes to, the deliveries of the durable outbox and their attempts,
//! the retry schedule, and which network addresses a webhook may never
//! reach. Pure: the store writes the outbox, the server sends.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::ids::{AccountId, ConversationId, DeliveryId, InboxId, MessageId, UserId, WebhookId};

/// What a webhook may subscribe to; each is written to the outbox by the
/// database in the transaction of the change it tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WebhookEvent {
    MessageCreated,
    ConversationCreated,
    ConversationAssigned,
    ConversationResolved,
    ConversationReopened,
}

impl WebhookEvent {
    pub const ALL: [Self; 5] = [
        Self::MessageCreated,
        Self::ConversationCreated,
        Self::ConversationAssigned,
        Self::ConversationResolved,
        Self::ConversationReopened,
    ];

    /// The event's stable name (the migration's triggers write the same).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MessageCreated => "message.created",
            Self::ConversationCreated => "conversation.created",
            Self::ConversationAssigned => "conversation.assigned",
            Self::ConversationResolved => "conversation.resolved",
            Self::ConversationReopened => "conversation.reopened",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == text)
    }
}

/// A webhook's events: at least one, each once, in the catalogue's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvents(Vec<WebhookEvent>);

/// Why a list of events is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventsError {
    #[error("events must name at least one event")]
    Empty,
    #[error(
        "unknown event {0:?}; known events: message.created, conversation.created, conversation.assigned, conversation.resolved, conversation.reopened"
    )]
    Unknown(String),
}

impl WebhookEvents {
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<Self, EventsError> {
        let mut events = names
            .iter()
            .map(|name| {
                WebhookEvent::parse(name.as_ref())
                    .ok_or_else(|| EventsError::Unknown(name.as_ref().to_owned()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        events.sort();
        events.dedup();
        if events.is_empty() {
            return Err(EventsError::Empty);
        }
        Ok(Self(events))
    }

    pub fn as_slice(&self) -> &[WebhookEvent] {
        &self.0
    }

    /// As stored: the names, separated by single spaces.
    pub fn to_text(&self) -> String {
        let names: Vec<&str> = self.0.iter().map(|e| e.as_str()).collect();
        names.join(" ")
    }

    /// What [`Self::to_text`] wrote; names it does not know are skipped.
    pub fn from_text(text: &str) -> Self {
        let mut events: Vec<_> = text.split(' ').filter_map(WebhookEvent::parse).collect();
        events.sort();
        events.dedup();
        Self(events)
    }
}

/// A webhook as stored (its secret stays sealed in the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: WebhookId,
    pub account_id: AccountId,
    pub url: String,
    pub events: WebhookEvents,
    pub active: bool,
    /// Whether deliveries carry message bodies: its creator held
    /// `messages.read_bodies` at the root when creating it.
    pub include_bodies: bool,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

/// A webhook to create.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub id: WebhookId,
    pub url: String,
    pub events: WebhookEvents,
    /// The signing secret, sealed by the caller.
    pub secret_sealed: String,
    pub include_bodies: bool,
    pub created_by: Option<UserId>,
}

/// What `PATCH` changes (each `None`: unchanged).
#[derive(Debug, Clone, Default)]
pub struct WebhookChanges {
    pub url: Option<String>,
    pub events: Option<WebhookEvents>,
    pub active: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryState {
    pub const ALL: [Self; 3] = [Self::Pending, Self::Delivered, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// One try of a delivery: when, what came back (an HTTP status, or an
/// error when none did), how long it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    pub http_status: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// A delivery as its log shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: DeliveryId,
    pub event: WebhookEvent,
    pub conversation_id: ConversationId,
    pub message_id: Option<MessageId>,
    pub state: DeliveryState,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub attempts: Vec<Attempt>,
}

/// The conversation as a delivery tells it: its status and assignee as
/// they were when the event happened, the rest as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationData {
    pub id: ConversationId,
    pub inbox_id: InboxId,
    pub status: String,
    pub assignee_id: Option<UserId>,
    pub contact_id: Uuid,
    pub contact_handle: String,
    pub contact_name: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// The message of a `message.created` delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageData {
    pub id: MessageId,
    pub seq: i64,
    pub direction: String,
    pub author_id: Option<UserId>,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// A delivery a sender holds a claim on, with all it needs to send it.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub id: DeliveryId,
    /// This claim's token: reporting with it fails once another node has
    /// claimed the delivery after the lease lapsed.
    pub claim: Uuid,
    pub webhook_id: WebhookId,
    pub account_id: AccountId,
    pub url: String,
    pub secret_sealed: String,
    /// Whether the creator held `messages.read_bodies` when making it
    /// (the sender asks again at each send).
    pub include_bodies: bool,
    /// Who made the webhook (none: they were removed, or the command line).
    pub created_by: Option<UserId>,
    pub event: WebhookEvent,
    pub created_at: DateTime<Utc>,
    /// Tries so far, this one included.
    pub attempts: u32,
    pub conversation: ConversationData,
    pub message: Option<MessageData>,
}

/// What becomes of a delivery after a try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptNext {
    Delivered,
    RetryIn(Duration),
    Failed,
}

/// The wait before try `attempts + 1` (after `attempts` failed tries):
/// `base` doubled per failed try, capped, then "equal jitter": half of it
/// fixed and the other half scaled by `jitter` (a number in `[0, 1)` the
/// caller draws), so that a receiver back from an outage is not hit by
/// every node's retries at the same instant.
pub fn retry_wait(base: Duration, cap: Duration, attempts: u32, jitter: f64) -> Duration {
    let doublings = attempts.saturating_sub(1).min(30);
    let full = base.saturating_mul(1 << doublings).min(cap);
    let half = full / 2;
    half + half.mul_f64(jitter.clamp(0.0, 1.0))
}

/// What follows a failed try, made at `now`: another try if it comes
/// before the delivery's horizon (`created_at + horizon`), else failed for
/// good.
pub fn after_failure(
    created_at: DateTime<Utc>,
    now: DateTime<Utc>,
    horizon: Duration,
    wait: Duration,
) -> AttemptNext {
    let next = now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
    let end = created_at + chrono::Duration::from_std(horizon).unwrap_or(chrono::Duration::MAX);
    if next <= end {
        AttemptNext::RetryIn(wait)
    } else {
        AttemptNext::Failed
    }
}

/// Whether a webhook must never reach `ip`: loopback, private (RFC 1918),
/// link-local, unique-local, site-local, shared (CGNAT, RFC 6598),
/// benchmarking, protocol assignments, unspecified, multicast, broadcast
/// or otherwise reserved; an IPv6 address carrying an IPv4 address
/// (IPv4-compatible or translated: always; mapped, NAT64, 6to4: by the
/// address it carries), and Teredo, included. The documentation ranges
/// (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) are not:
/// they route nowhere.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => is_internal_v6(v6),
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || a == 0
        // shared address space (CGNAT, RFC 6598)
        || (a == 100 && (64..128).contains(&b))
        // IETF protocol assignments (192.0.0.0/24)
        || (a == 192 && b == 0 && c == 0)
        // benchmarking (198.18.0.0/15)
        || (a == 198 && (b == 18 || b == 19))
        // reserved (240.0.0.0/4)
        || a >= 240
}

/// The IPv4 address in the last 32 bits of an IPv6 address.
fn low_v4(segments: [u16; 8]) -> Ipv4Addr {
    Ipv4Addr::from((u32::from(segments[6]) << 16) | u32::from(segments[7]))
}

fn is_internal_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_internal_v4(v4);
    }
    let segments = ip.segments();
    // ::/96 (IPv4-compatible, deprecated; :: and ::1 among them) and
    // ::ffff:0:0/96 (IPv4-translated): never a public destination.
    if segments[..6] == [0; 6] || segments[..6] == [0, 0, 0, 0, 0xffff, 0] {
        return true;
    }
    // NAT64 (64:ff9b::/96) carries an IPv4 address in its last 32 bits;
    // the local-use NAT64 prefix (64:ff9b:1::/48) is internal.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_internal_v4(low_v4(segments));
    }
    if segments[..3] == [0x64, 0xff9b, 1] {
        return true;
    }
    // 6to4 (2002::/16) carries an IPv4 address in bits 16 to 48.
    if segments[0] == 0x2002 {
        let v4 = Ipv4Addr::from((u32::from(segments[1]) << 16) | u32::from(segments[2]));
        return is_internal_v4(v4);
    }
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        // Teredo (2001::/32): tunnels to an address that is not checked.
        || segments[..2] == [0x2001, 0]
        // unique local (fc00::/7)
        || (segments[0] & 0xfe00) == 0xfc00
        // link-local (fe80::/10) and the old site-local (fec0::/10)
        || (segments[0] & 0xffc0) == 0xfe80
        || (segments[0] & 0xffc0) == 0xfec0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_parse_known_names_once_and_refuse_others() {
        let events =
            WebhookEvents::parse(&["message.created", "conversation.created", "message.created"])
                .unwrap();
        assert_eq!(events.to_text(), "message.created conversation.created");
        assert_eq!(WebhookEvents::from_text(&events.to_text()), events);
        assert_eq!(
            WebhookEvents::parse(&["message.deleted"]),
            Err(EventsError::Unknown("message.deleted".into()))
        );
        assert_eq!(WebhookEvents::parse::<&str>(&[]), Err(EventsError::Empty));
        for event in WebhookEvent::ALL {
            assert_eq!(WebhookEvent::parse(event.as_str()), Some(event));
        }
        for state in DeliveryState::ALL {
            assert_eq!(DeliveryState::parse(state.as_str()), Some(state));
        }
    }

    #[test]
    fn waits_double_up_to_the_cap_and_jitter_stays_in_the_upper_half() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_millis(1000);
        let low: Vec<_> = (1..=6)
            .map(|n| retry_wait(base, cap, n, 0.0).as_millis())
            .collect();
        assert_eq!(low, [50, 100, 200, 400, 500, 500]);
        assert_eq!(retry_wait(base, cap, 3, 0.999).as_millis(), 399);
        assert_eq!(retry_wait(base, cap, 3, 7.0).as_millis(), 400);
    }

    #[test]
    fn a_retry_past_the_horizon_fails_for_good() {
        let created = DateTime::from_timestamp(1_000, 0).unwrap();
        let horizon = Duration::from_secs(60);
        let now = created + chrono::Duration::seconds(50);
        assert_eq!(
            after_failure(created, now, horizon, Duration::from_secs(10)),
            AttemptNext::RetryIn(Duration::from_secs(10))
        );
        assert_eq!(
            after_failure(created, now, horizon, Duration::from_secs(11)),
            AttemptNext::Failed
        );
    }

    #[test]
    fn internal_addresses_are_recognised() {
        for internal in [
            "127.0.0.1",
            "127.5.6.7",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd12:3456::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "::127.0.0.1",
            "::169.254.169.254",
            "::ffff:0:7f00:1",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
            "64:ff9b:1::1",
            "2001:0:4136:e378::1",
            "fec0::1",
            "192.0.0.8",
            "198.18.0.1",
            "198.19.255.255",
        ] {
            assert!(is_internal(internal.parse().unwrap()), "{internal}");
        }
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "192.169.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "198.20.0.1",
            "192.0.1.1",
            "203.0.113.7",
            "2001:db8::1",
        ] {
            assert!(!is_internal(public.parse().unwrap()), "{public}");
        }
    }
}
