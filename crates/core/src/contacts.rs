//! Contacts as the Contact menu shows them (docs/MODULES.md, "Contacts"):
//! the customer, with the notes a team keeps on them, and the inputs that
//! change them. Pure: the store keeps contacts, the application decides
//! who sees and edits them.

use chrono::{DateTime, Utc};

use crate::ids::{AccountId, ContactId};
use crate::input::InputError;

/// A customer of an account, with the team's notes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactCard {
    pub id: ContactId,
    pub account_id: AccountId,
    pub handle: String,
    pub name: Option<String>,
    pub notes: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// What a team writes about a contact: at most [`Notes::MAX_BYTES`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notes(String);

impl Notes {
    pub const MAX_BYTES: usize = 10_000;

    /// Notes as written; blank ones are none.
    pub fn parse(text: &str) -> Result<Option<Self>, InputError> {
        if text.len() > Self::MAX_BYTES {
            return Err(InputError::TooLong {
                field: "notes",
                max: Self::MAX_BYTES,
            });
        }
        Ok((!text.trim().is_empty()).then(|| Self(text.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a contacts search looks for: a piece of a name or handle, matched
/// without regard to case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactQuery(String);

impl ContactQuery {
    pub const MAX_BYTES: usize = 200;

    /// A search; blank: none (every contact).
    pub fn parse(text: &str) -> Result<Option<Self>, InputError> {
        let text = text.trim();
        if text.len() > Self::MAX_BYTES {
            return Err(InputError::TooLong {
                field: "query",
                max: Self::MAX_BYTES,
            });
        }
        Ok((!text.is_empty()).then(|| Self(text.to_lowercase())))
    }

    /// The search as a `LIKE` pattern with `\` as its escape: the text
    /// anywhere, its `%`, `_` and `\` taken literally.
    pub fn like_pattern(&self) -> String {
        let mut pattern = String::with_capacity(self.0.len() + 2);
        pattern.push('%');
        for c in self.0.chars() {
            if matches!(c, '%' | '_' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('%');
        pattern
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_matches_its_text_literally_anywhere_in_lower_case() {
        let query = ContactQuery::parse("  Ann_50%\\ ").unwrap().unwrap();
        assert_eq!(query.like_pattern(), "%ann\\_50\\%\\\\%");
        assert_eq!(ContactQuery::parse("   ").unwrap(), None);
        assert!(ContactQuery::parse(&"x".repeat(201)).is_err());
    }

    #[test]
    fn blank_notes_are_none_and_long_ones_refused() {
        assert_eq!(Notes::parse(" \n ").unwrap(), None);
        assert_eq!(Notes::parse("VIP").unwrap().unwrap().as_str(), "VIP");
        assert!(Notes::parse(&"x".repeat(10_001)).is_err());
    }
}
