//! Message templates (canned replies): what one is, its shortcut, and how
//! its placeholders are filled. Pure: the store keeps templates, the
//! application decides who sees and uses them (docs/MODULES.md).

use chrono::{DateTime, Utc};

use crate::ids::{AccountId, GroupId, TemplateId};
use crate::input::InputError;

/// A template of an account, in one of its groups: usable in the
/// conversations of that group's subtree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub id: TemplateId,
    pub account_id: AccountId,
    pub group_id: GroupId,
    pub name: String,
    pub shortcut: Option<String>,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// What a template is made of, checked (its body as a message body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateFields {
    pub group_id: GroupId,
    pub name: crate::input::Name,
    pub shortcut: Option<Shortcut>,
    pub body: crate::input::MessageBody,
}

/// What an agent types to pick a template (`/hello`): 1 to 32 bytes, no
/// whitespace, unique in its account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortcut(String);

impl Shortcut {
    pub const MAX_BYTES: usize = 32;

    pub fn parse(text: &str) -> Result<Self, InputError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(InputError::Empty { field: "shortcut" });
        }
        if text.len() > Self::MAX_BYTES {
            return Err(InputError::TooLong {
                field: "shortcut",
                max: Self::MAX_BYTES,
            });
        }
        if text.chars().any(char::is_whitespace) {
            return Err(InputError::Invalid {
                field: "shortcut",
                expected: "one word, without spaces",
            });
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The values a template's placeholders take in one conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placeholders<'a> {
    /// `{{contact.name}}`
    pub contact_name: Option<&'a str>,
    /// `{{contact.handle}}`
    pub contact_handle: Option<&'a str>,
    /// `{{agent.name}}`: the agent sending it.
    pub agent_name: Option<&'a str>,
}

impl Placeholders<'_> {
    fn value(&self, name: &str) -> Option<Option<&str>> {
        match name {
            "contact.name" => Some(self.contact_name),
            "contact.handle" => Some(self.contact_handle),
            "agent.name" => Some(self.agent_name),
            _ => None,
        }
    }
}

/// The body with every known placeholder (`{{contact.name}}`, spaces
/// inside the braces allowed) replaced by its value, an empty one by
/// nothing. Anything else, an unknown `{{name}}` included, stays as
/// written.
pub fn render(body: &str, values: &Placeholders<'_>) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let filled = after.find("}}").and_then(|end| {
            let value = values.value(after[..end].trim())?;
            Some((value.unwrap_or(""), end + 2))
        });
        match filled {
            Some((value, consumed)) => {
                out.push_str(value);
                rest = &after[consumed..];
            }
            None => {
                // Not a placeholder: keep one brace and look again from
                // the next (so `{{{contact.name}}}` fills the inner one).
                out.push('{');
                rest = &rest[start + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ann_to_bob() -> Placeholders<'static> {
        Placeholders {
            contact_name: Some("Bob"),
            contact_handle: Some("+4790000001"),
            agent_name: Some("Ann"),
        }
    }

    #[test]
    fn placeholders_are_filled_and_missing_ones_render_empty() {
        let body = "Hi {{contact.name}} ({{ contact.handle }}), {{agent.name}} here.";
        assert_eq!(
            render(body, &ann_to_bob()),
            "Hi Bob (+4790000001), Ann here."
        );
        let nameless = Placeholders {
            contact_name: None,
            ..ann_to_bob()
        };
        assert_eq!(render("Hi {{contact.name}}!", &nameless), "Hi !");
    }

    #[test]
    fn anything_else_stays_as_written() {
        let values = ann_to_bob();
        for text in [
            "no placeholders",
            "{{unknown}} stays",
            "an open {{ brace",
            "}} closing first {{",
            "{single}",
            "",
        ] {
            assert_eq!(render(text, &values), text, "{text:?}");
        }
        assert_eq!(render("{{{contact.name}}}", &values), "{Bob}");
        assert_eq!(render("{{x}}{{agent.name}}", &values), "{{x}}Ann");
    }

    #[test]
    fn a_value_that_looks_like_a_placeholder_is_not_filled_again() {
        let values = Placeholders {
            contact_name: Some("{{agent.name}}"),
            ..ann_to_bob()
        };
        assert_eq!(render("{{contact.name}}", &values), "{{agent.name}}");
    }

    proptest::proptest! {
        #[test]
        fn text_without_double_braces_is_kept_and_nothing_panics(text in "\\PC{0,60}") {
            let rendered = render(&text, &ann_to_bob());
            if !text.contains("{{") {
                proptest::prop_assert_eq!(rendered, text);
            }
        }
    }

    #[test]
    fn shortcuts_are_one_short_word() {
        assert_eq!(Shortcut::parse(" /hello ").unwrap().as_str(), "/hello");
        assert!(Shortcut::parse("two words").is_err());
        assert!(Shortcut::parse("   ").is_err());
        assert!(Shortcut::parse(&"x".repeat(33)).is_err());
    }
}
