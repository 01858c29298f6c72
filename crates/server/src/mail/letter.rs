//! The invitation letter: a plain-text part and an HTML part saying who
//! invites whom to which account, with the link and until when it works.
//! Everything the HTML part includes is escaped: names come from users.

use chrono::{DateTime, Utc};
use lettre::Message;
use lettre::message::{Mailbox, MultiPart};

use super::MailError;

/// What an invitation's mail says.
#[derive(Debug, Clone)]
pub struct InvitationLetter<'a> {
    pub to: &'a str,
    pub account: &'a str,
    /// Who invites; none: the account's administrators (the command line).
    pub inviter: Option<&'a str>,
    pub link: &'a str,
    pub expires_at: DateTime<Utc>,
}

impl InvitationLetter<'_> {
    pub fn subject(&self) -> String {
        format!("You are invited to join {} on Switchboard", self.account)
    }

    fn who(&self) -> &str {
        self.inviter.unwrap_or("An administrator")
    }

    fn until(&self) -> String {
        self.expires_at.format("%Y-%m-%d %H:%M UTC").to_string()
    }

    pub fn text(&self) -> String {
        format!(
            "{who} invites you to join {account} on Switchboard.\n\n\
             Accept the invitation and choose your password here:\n\n{link}\n\n\
             The link works once, until {until}.\n\
             If you did not expect this invitation, you can ignore this mail.\n",
            who = self.who(),
            account = self.account,
            link = self.link,
            until = self.until(),
        )
    }

    pub fn html(&self) -> String {
        let link = escape_html(self.link);
        format!(
            "<!DOCTYPE html>\n<html><body>\n\
             <p>{who} invites you to join <strong>{account}</strong> on Switchboard.</p>\n\
             <p><a href=\"{link}\">Accept the invitation</a> and choose your password.</p>\n\
             <p>Or open this address: {link}</p>\n\
             <p>The link works once, until {until}. If you did not expect this \
             invitation, you can ignore this mail.</p>\n</body></html>\n",
            who = escape_html(self.who()),
            account = escape_html(self.account),
            until = escape_html(&self.until()),
        )
    }

    /// The whole message, as it is queued and sent.
    pub fn compose(&self, from: &str) -> Result<String, MailError> {
        let from: Mailbox = from.parse().map_err(MailError::address("sender"))?;
        let to: Mailbox = self.to.parse().map_err(MailError::address("recipient"))?;
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject(self.subject())
            .multipart(MultiPart::alternative_plain_html(self.text(), self.html()))
            .map_err(|error| MailError::Compose(error.to_string()))?;
        String::from_utf8(message.formatted())
            .map_err(|error| MailError::Compose(error.to_string()))
    }
}

/// `text` safe inside HTML text and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter<'a>(account: &'a str, inviter: &'a str, link: &'a str) -> InvitationLetter<'a> {
        InvitationLetter {
            to: "new@acme.test",
            account,
            inviter: Some(inviter),
            link,
            expires_at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        }
    }

    #[test]
    fn the_html_part_escapes_everything_it_includes() {
        let hostile = letter(
            "<script>alert(1)</script>",
            "Eve \"&\" 'Co'",
            "http://x/accept?token=a\"><img src=x>",
        );
        let html = hostile.html();
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(
            html.contains("Eve &quot;&amp;&quot; &#39;Co&#39;"),
            "{html}"
        );
        assert!(html.contains("token=a&quot;&gt;&lt;img"), "{html}");
    }

    #[test]
    fn both_parts_carry_the_link_and_the_account() {
        let plain = letter("Acme", "Olive", "http://h/accept?token=sbi_abc");
        assert!(plain.text().contains("http://h/accept?token=sbi_abc"));
        assert!(plain.text().contains("Olive invites you to join Acme"));
        assert!(
            plain
                .html()
                .contains("href=\"http://h/accept?token=sbi_abc\"")
        );
        let message = plain.compose("Switchboard <no-reply@acme.test>").unwrap();
        assert!(message.contains("multipart/alternative"), "{message}");
        assert!(message.contains("text/plain"), "{message}");
        assert!(message.contains("text/html"), "{message}");
        assert!(message.contains("To: new@acme.test"), "{message}");
        assert!(
            plain.compose("not an address").is_err(),
            "a malformed sender is refused"
        );
    }
}
