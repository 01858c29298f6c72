//! What came back, read as the policy's answers, and the report of every
//! mismatch.

use serde_json::Value;
use switchboard_proto::server::ErrorFrame;
use switchboard_proto::{AckBody, ErrorCode};
use uuid::Uuid;

use super::frames::Granted;
use super::rules::Outcome;

/// What the matrix found: every check counted, every mismatch said.
#[derive(Debug, Default)]
pub(super) struct Report {
    pub(super) checks: usize,
    pub(super) failures: Vec<String>,
}

impl Report {
    pub(super) fn fail(&mut self, who: &str, what: &str, message: String) {
        self.failures.push(format!("{who}: {what}: {message}"));
    }

    pub(super) fn compare(
        &mut self,
        who: &str,
        what: &str,
        expected: Outcome,
        got: Result<Outcome, String>,
    ) {
        self.checks += 1;
        match got {
            Ok(got) if got == expected => {}
            Ok(got) => self.fail(who, what, format!("expected {expected:?}, got {got:?}")),
            Err(other) => self.fail(who, what, format!("expected {expected:?}, got {other}")),
        }
    }

    pub(super) fn listed(
        &mut self,
        who: &str,
        what: &str,
        subject: Uuid,
        expected: bool,
        ids: &[Uuid],
    ) {
        self.checks += 1;
        let listed = ids.contains(&subject);
        if listed != expected {
            let message = format!("expected {subject} listed: {expected}, got listed: {listed}");
            self.fail(who, what, message);
        }
    }

    pub(super) fn bodies<'a>(
        &mut self,
        who: &str,
        what: &str,
        reads: bool,
        bodies: impl Iterator<Item = &'a Value>,
    ) {
        self.checks += 1;
        let shown: Vec<bool> = bodies.map(|b| !b.is_null()).collect();
        if shown.is_empty() || shown.iter().any(|s| *s != reads) {
            let message = format!("expected bodies shown: {reads}, got shown {shown:?}");
            self.fail(who, what, message);
        }
    }

    pub(super) fn unchanged(&mut self, who: &str, what: &str, before: &Value, after: &Value) {
        self.checks += 1;
        if before != after {
            let message = format!("changed another account: before {before}, after {after}");
            self.fail(who, what, message);
        }
    }
}

/// The ids of a listing (a list, or `{"conversations": [...]}`, or
/// `{"invitations": [...]}`).
pub(super) fn listed_ids(answer: &Value) -> Vec<Uuid> {
    let list = ["conversations", "invitations", "contacts"]
        .iter()
        .find_map(|key| answer.get(key))
        .unwrap_or(answer);
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item["id"].as_str()?.parse().ok())
        .collect()
}

/// What a route answers those it allows: its status of success, or the
/// refusal its request is built to meet.
#[derive(Debug, Clone, Copy)]
pub(super) enum Allowed {
    Status(u16),
    Refused(u16, ErrorCode),
}

/// A REST answer as the policy's answer, or what else it was. The answer
/// is first read as the `expected` outcome's: a refusal that looks like a
/// denial (403 `forbidden`) is then what was expected for everyone, which
/// a row doing so says.
pub(super) fn rest_outcome(
    status: u16,
    answer: &Value,
    allowed: Allowed,
    expected: Outcome,
) -> Result<Outcome, String> {
    let code = answer["error"]["code"].as_str();
    let is = |outcome: Outcome| match (outcome, allowed) {
        (Outcome::Allowed, Allowed::Status(ok)) => status == ok,
        (Outcome::Allowed, Allowed::Refused(refused, refusal)) => {
            (status, code) == (refused, Some(refusal.as_str()))
        }
        (Outcome::Forbidden, _) => (status, code) == (403, Some("forbidden")),
        (Outcome::NotFound, _) => (status, code) == (404, Some("not_found")),
    };
    [
        expected,
        Outcome::Allowed,
        Outcome::Forbidden,
        Outcome::NotFound,
    ]
    .into_iter()
    .find(|outcome| is(*outcome))
    .ok_or_else(|| format!("{status} {answer}"))
}

/// A frame's answer as the policy's answer, or what else it was.
pub(super) fn ws_outcome(
    answer: &Result<AckBody, ErrorFrame>,
    ok: Granted,
) -> Result<Outcome, String> {
    match (answer, ok) {
        (Ok(_), Granted::Ack) => Ok(Outcome::Allowed),
        (Err(error), Granted::Refused(code)) if error.code == code => Ok(Outcome::Allowed),
        (Err(error), _) if error.code == ErrorCode::Forbidden => Ok(Outcome::Forbidden),
        (Err(error), _) if error.code == ErrorCode::NotFound => Ok(Outcome::NotFound),
        (Ok(ack), _) => Err(format!("an ack {ack:?}")),
        (Err(error), _) => Err(format!("error {:?}: {}", error.code, error.message)),
    }
}
