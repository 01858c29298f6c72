//! Inputs parsed at the edge: each newtype can only hold a valid value, so
//! a use case that takes one never checks it again, and WebSocket, REST and
//! the command line refuse the same input with the same words.
//!
//! Field names in errors are the wire's (`body`, `client_msg_id`,
//! `contact.handle`, ...): every transport names these fields alike.

use thiserror::Error;

/// Why an input was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InputError {
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    #[error("{field} must be at most {max} bytes")]
    TooLong { field: &'static str, max: usize },
    /// A message body over the configured limit (answered `too_large`, not
    /// `bad_request`: the client may split it).
    #[error("{field} is larger than {max} bytes")]
    TooLarge { field: &'static str, max: usize },
    #[error("{field} must be {expected}")]
    Invalid {
        field: &'static str,
        expected: &'static str,
    },
    #[error("unknown {field} {value:?}: use one of {known}")]
    Unknown {
        field: &'static str,
        value: String,
        known: &'static str,
    },
}

/// Text that is trimmed, not empty and at most `max` bytes.
fn bounded(field: &'static str, text: &str, max: usize) -> Result<String, InputError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(InputError::Empty { field });
    }
    if text.len() > max {
        return Err(InputError::TooLong { field, max });
    }
    Ok(text.to_owned())
}

/// The text of a message, as written (not trimmed): not blank, within the
/// configured size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageBody(String);

impl MessageBody {
    pub fn parse(text: String, max_bytes: usize) -> Result<Self, InputError> {
        if text.len() > max_bytes {
            return Err(InputError::TooLarge {
                field: "body",
                max: max_bytes,
            });
        }
        if text.trim().is_empty() {
            return Err(InputError::Empty { field: "body" });
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The id a client gives a message so that a retried `send` stores it once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientMsgId(String);

impl ClientMsgId {
    pub const MAX_BYTES: usize = 128;

    pub fn parse(text: String) -> Result<Self, InputError> {
        if text.is_empty() {
            return Err(InputError::Empty {
                field: "client_msg_id",
            });
        }
        if text.len() > Self::MAX_BYTES {
            return Err(InputError::TooLong {
                field: "client_msg_id",
                max: Self::MAX_BYTES,
            });
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A customer's address on a channel: a phone number, a page-scoped id, a
/// visitor id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactHandle(String);

impl ContactHandle {
    pub const MAX_BYTES: usize = 256;

    pub fn parse(text: &str) -> Result<Self, InputError> {
        bounded("contact.handle", text, Self::MAX_BYTES).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A customer's name as the channel gives it; blank means none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactName(String);

impl ContactName {
    pub const MAX_BYTES: usize = 256;

    /// `None` for a missing or blank name.
    pub fn parse(text: Option<&str>) -> Result<Option<Self>, InputError> {
        match text.map(str::trim).filter(|t| !t.is_empty()) {
            None => Ok(None),
            Some(text) => bounded("contact.name", text, Self::MAX_BYTES).map(|n| Some(Self(n))),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A name shown to people: a team, an account, a user, an inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    pub const MAX_BYTES: usize = 200;

    pub fn parse(field: &'static str, text: &str) -> Result<Self, InputError> {
        bounded(field, text, Self::MAX_BYTES).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How many ongoing conversations an agent is auto-assigned at once
/// (0: never).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity(u32);

impl Capacity {
    pub const MAX: u32 = 10_000;

    pub fn parse(value: u32) -> Result<Self, InputError> {
        if value > Self::MAX {
            return Err(InputError::Invalid {
                field: "capacity",
                expected: "at most 10000",
            });
        }
        Ok(Self(value))
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// An email address, lowercased: the login of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub const MAX_BYTES: usize = 254;

    pub fn parse(text: &str) -> Result<Self, InputError> {
        let text = text.trim().to_lowercase();
        let invalid = InputError::Invalid {
            field: "email",
            expected: "an email address",
        };
        if text.len() > Self::MAX_BYTES {
            return Err(invalid);
        }
        match text.split_once('@') {
            Some((local, domain))
                if !local.is_empty()
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && !text.chars().any(char::is_whitespace) =>
            {
                Ok(Self(text))
            }
            _ => Err(invalid),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The kind of channel an inbox is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Channel(&'static str);

impl Channel {
    pub const ALL: [&'static str; 5] = ["sms", "whatsapp", "instagram", "messenger", "webchat"];

    pub fn parse(text: &str) -> Result<Self, InputError> {
        let wanted = text.trim().to_lowercase();
        Self::ALL
            .iter()
            .find(|c| **c == wanted)
            .map(|c| Self(c))
            .ok_or_else(|| InputError::Unknown {
                field: "channel",
                value: text.to_owned(),
                known: "sms, whatsapp, instagram, messenger, webchat",
            })
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_bodies_keep_their_text_but_not_blank_or_oversized() {
        let body = MessageBody::parse("  hi \n".into(), 64).unwrap();
        assert_eq!(body.as_str(), "  hi \n", "a body is stored as written");
        assert_eq!(
            MessageBody::parse(" \n\t".into(), 64),
            Err(InputError::Empty { field: "body" })
        );
        assert_eq!(
            MessageBody::parse("x".repeat(65), 64),
            Err(InputError::TooLarge {
                field: "body",
                max: 64
            })
        );
        assert!(MessageBody::parse("x".repeat(64), 64).is_ok());
    }

    #[test]
    fn client_message_ids_are_one_to_128_bytes() {
        assert!(ClientMsgId::parse("m1".into()).is_ok());
        assert!(ClientMsgId::parse(String::new()).is_err());
        assert!(ClientMsgId::parse("x".repeat(128)).is_ok());
        assert_eq!(
            ClientMsgId::parse("x".repeat(129)).unwrap_err().to_string(),
            "client_msg_id must be at most 128 bytes"
        );
    }

    #[test]
    fn handles_and_names_are_trimmed_and_bounded() {
        assert_eq!(
            ContactHandle::parse(" +1555 ").unwrap().as_str(),
            "+1555",
            "trimmed"
        );
        assert!(ContactHandle::parse("   ").is_err());
        assert!(ContactHandle::parse(&"9".repeat(257)).is_err());
        assert_eq!(ContactName::parse(None), Ok(None));
        assert_eq!(ContactName::parse(Some("  ")), Ok(None), "blank: no name");
        assert_eq!(
            ContactName::parse(Some(" Dana "))
                .unwrap()
                .unwrap()
                .as_str(),
            "Dana"
        );
        assert!(ContactName::parse(Some(&"n".repeat(257))).is_err());
        assert_eq!(
            Name::parse("name", "").unwrap_err().to_string(),
            "name must not be empty"
        );
        assert!(Name::parse("name", &"n".repeat(201)).is_err());
    }

    #[test]
    fn capacities_are_bounded() {
        assert_eq!(Capacity::parse(0).unwrap().get(), 0);
        assert_eq!(Capacity::parse(10_000).unwrap().get(), 10_000);
        assert_eq!(
            Capacity::parse(10_001).unwrap_err().to_string(),
            "capacity must be at most 10000"
        );
    }

    #[test]
    fn channels_are_the_known_ones() {
        assert_eq!(Channel::parse(" SMS ").unwrap().as_str(), "sms");
        assert_eq!(Channel::parse("webchat").unwrap().as_str(), "webchat");
        assert_eq!(
            Channel::parse("fax").unwrap_err().to_string(),
            r#"unknown channel "fax": use one of sms, whatsapp, instagram, messenger, webchat"#
        );
    }

    #[test]
    fn emails_are_lowercased_and_need_an_at_sign() {
        assert_eq!(
            Email::parse(" Ann@Acme.Test ").unwrap().as_str(),
            "ann@acme.test"
        );
        for bad in ["", "ann", "@acme.test", "ann@", "a b@acme.test", "a@b@c"] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }
}
