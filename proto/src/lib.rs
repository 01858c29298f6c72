//! The v1 wire contract between Switchboard and agent consoles.
//!
//! This crate owns the JSON shapes of every WebSocket frame (client frames in
//! [`client`], server frames in [`server`], and the shared [`shapes`]), the
//! JSON Schema generated from them and the golden fixtures in `fixtures/`.
//! It knows nothing of the domain or of IO: the server maps between these
//! types and the core's domain types in exactly one place.
//!
//! Readers are tolerant: unknown fields are ignored, so the server and the
//! clients may add fields without breaking each other. Frame and field names
//! that PROTOCOL.md documents never change within v1.

pub mod client;
pub mod schema;
pub mod server;
pub mod shapes;

pub use client::{Availability, ClientFrame};
pub use server::{AckBody, ErrorCode, ServerFrame};
pub use shapes::{Contact, ConversationStatus, Direction, Message, Presence, Summary, UserRef};

/// The protocol version this crate describes.
pub const PROTOCOL_VERSION: &str = "v1";

/// Timestamps on the wire: RFC 3339, UTC, millisecond precision, `Z` suffix.
pub mod timestamp {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&at.to_rfc3339_opts(SecondsFormat::Millis, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|at| at.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }

    /// The same format for optional timestamps (`null` when absent).
    pub mod option {
        use chrono::{DateTime, Utc};
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(
            at: &Option<DateTime<Utc>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match at {
                Some(at) => super::serialize(at, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<DateTime<Utc>>, D::Error> {
            #[derive(Deserialize)]
            struct Wrapped(#[serde(with = "super")] DateTime<Utc>);
            Ok(Option::<Wrapped>::deserialize(d)?.map(|Wrapped(at)| at))
        }
    }
}
