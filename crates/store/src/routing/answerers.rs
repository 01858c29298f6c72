//! Who may be given a conversation: routing assigns one only to an agent
//! who may answer it, that is who holds `conversations.answer` and sees it
//! (`conversations.view`, or `conversations.view_assigned`, since being
//! assigned shows it to them) through grants at its inbox's group or
//! above. The statement (`sql::Dialect::answerers`) decides it in the
//! database; what a built-in role holds comes from the core's roles, bound
//! as parameters ([`Parameters`]), so the SQL and the core cannot drift.

use std::collections::HashMap;
use std::sync::LazyLock;

use switchboard_core::access::{BuiltinRole, Permission, PermissionSet};
use switchboard_core::assignment::Eligible;
use switchboard_core::ids::{InboxId, TeamId, UserId};

use Permission::{ConversationsAnswer, ConversationsView, ConversationsViewAssigned};

/// The ids of the built-in roles that hold at least one of `permissions`.
pub(crate) fn builtin_roles_holding(permissions: PermissionSet) -> Vec<&'static str> {
    BuiltinRole::ALL
        .into_iter()
        .filter(|role| !role.permissions().intersection(permissions).is_empty())
        .map(BuiltinRole::as_str)
        .collect()
}

/// The parameters `$4` to `$8` of `answerers`, made once.
#[derive(Debug)]
pub(crate) struct Parameters {
    /// The built-in roles holding `conversations.answer` (a JSON array).
    pub(crate) answer_roles: String,
    pub(crate) answer_word: String,
    /// The built-in roles holding either view (a JSON array).
    pub(crate) view_roles: String,
    pub(crate) view_word: String,
    pub(crate) view_assigned_word: String,
}

pub(crate) static PARAMETERS: LazyLock<Parameters> = LazyLock::new(|| Parameters {
    answer_roles: json_texts(&builtin_roles_holding(PermissionSet::of(&[
        ConversationsAnswer,
    ]))),
    answer_word: word(ConversationsAnswer),
    view_roles: json_texts(&builtin_roles_holding(PermissionSet::of(&[
        ConversationsView,
        ConversationsViewAssigned,
    ]))),
    view_word: word(ConversationsView),
    view_assigned_word: word(ConversationsViewAssigned),
});

/// Role ids as a JSON array of strings (an id is lowercase letters and
/// underscores: nothing to escape).
fn json_texts(ids: &[&str]) -> String {
    let quoted: Vec<String> = ids.iter().map(|id| format!("\"{id}\"")).collect();
    format!("[{}]", quoted.join(","))
}

/// A LIKE pattern (escape `\`) for a text of space-separated ids, padded
/// with a space either side, that contains `permission` as a whole word.
fn word(permission: Permission) -> String {
    let mut pattern = String::from("% ");
    for c in permission.as_str().chars() {
        if matches!(c, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push_str(" %");
    pattern
}

/// Who may take the conversations of the inboxes routed on: who may answer
/// them, and the members of the teams they route to.
#[derive(Debug, Clone, Default)]
pub(crate) struct Takers {
    answerers: HashMap<InboxId, Vec<UserId>>,
    teams: HashMap<TeamId, Vec<UserId>>,
}

impl Takers {
    /// From `(inbox, user)` pairs of who may answer and `(team, member)`
    /// pairs.
    pub(crate) fn new(
        answerers: impl IntoIterator<Item = (InboxId, UserId)>,
        members: impl IntoIterator<Item = (TeamId, UserId)>,
    ) -> Self {
        let mut takers = Self::default();
        for (inbox, user) in answerers {
            takers.answerers.entry(inbox).or_default().push(user);
        }
        for (team, user) in members {
            takers.teams.entry(team).or_default().push(user);
        }
        takers
    }

    /// Those who may take a conversation of `inbox`, routed to `team`
    /// (`None`: to any agent): who may answer there, of the team if any.
    pub(crate) fn eligible(&self, inbox: InboxId, team: Option<TeamId>) -> Eligible {
        let answerers = self.answerers.get(&inbox).map_or(&[][..], Vec::as_slice);
        Eligible::Members(match team {
            None => answerers.to_vec(),
            Some(team) => {
                let members = self.teams.get(&team).map_or(&[][..], Vec::as_slice);
                answerers
                    .iter()
                    .filter(|user| members.contains(user))
                    .copied()
                    .collect()
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_roles_that_answer_and_see() {
        assert_eq!(
            builtin_roles_holding(PermissionSet::of(&[ConversationsAnswer])),
            [
                "owner",
                "administrator",
                "operator",
                "developer",
                "inbox_manager",
                "service",
                "sales",
                "messaging_agent"
            ]
        );
        let seeing = builtin_roles_holding(PermissionSet::of(&[
            ConversationsView,
            ConversationsViewAssigned,
        ]));
        assert!(seeing.contains(&"sales") && seeing.contains(&"viewer"));
        assert!(!seeing.contains(&"user") && !seeing.contains(&"accountant"));
    }

    /// The literal list of `sql::answering_roles!` (who is an agent) is
    /// the core's, so it cannot drift.
    #[test]
    fn the_agents_builtin_roles_are_the_cores() {
        let listed: Vec<&str> = crate::sql::answering_roles!()
            .trim_matches(['(', ')'])
            .split(',')
            .map(|id| id.trim().trim_matches('\''))
            .collect();
        assert_eq!(
            listed,
            builtin_roles_holding(PermissionSet::of(&[ConversationsAnswer]))
        );
        // and the custom roles' pattern names the permission, no wildcard
        let pattern = word(ConversationsAnswer);
        assert!(crate::sql::is_agent!(sqlite).contains(&format!("'{pattern}'")));
        assert!(crate::sql::is_agent!(postgres).contains(&format!("'{pattern}'")));
    }

    #[test]
    fn a_permission_is_matched_as_a_whole_word() {
        assert_eq!(word(ConversationsAnswer), "% conversations.answer %");
        assert_eq!(
            word(ConversationsViewAssigned),
            "% conversations.view\\_assigned %"
        );
        assert_eq!(PARAMETERS.view_roles.chars().next(), Some('['));
    }

    #[test]
    fn a_team_narrows_who_may_answer() {
        let [a, b, c] = [1, 2, 3].map(|n| UserId::from(uuid::Uuid::from_u128(n)));
        let inbox = InboxId::from(uuid::Uuid::from_u128(10));
        let other = InboxId::from(uuid::Uuid::from_u128(11));
        let team = TeamId::from(uuid::Uuid::from_u128(20));
        let takers = Takers::new([(inbox, a), (inbox, b)], [(team, b), (team, c)]);
        assert_eq!(takers.eligible(inbox, None), Eligible::Members(vec![a, b]));
        assert_eq!(
            takers.eligible(inbox, Some(team)),
            Eligible::Members(vec![b])
        );
        assert_eq!(takers.eligible(other, None), Eligible::Members(vec![]));
    }
}
