//! Routing within the access model (issue #11): a conversation is only
//! ever assigned to an agent who may answer it, `conversations.answer` and
//! a view (`conversations.view` or `conversations.view_assigned`) through
//! grants at its inbox's group or above; one nobody online may answer waits
//! in the queue.

use std::sync::Arc;

use switchboard_core::Role;
use switchboard_core::access::{BuiltinRole, CustomRole, Grant, Permission, PermissionSet, RoleId};
use switchboard_core::ids::{ConversationId, GroupId, NodeId};
use switchboard_core::model::{
    AgentState, Availability, Inbox, ManualAssignment, NewUser, Routed, User,
};
use switchboard_store::{Store, StoreError};

use crate::fixtures::{
    HASH, Tenant, agent_with, assignee, group, inbound, inbox, load, name, online, queue, root_of,
    routed_ids, tenant,
};

const REFUSED: &str = "the agent may not answer conversations of this inbox";
const NO_AGENT: &str = "users without conversations.answer are never assigned conversations";

/// A new inbox of the tenant, in `group`.
async fn inbox_in(store: &Arc<dyn Store>, t: &Tenant, text: &str, group: GroupId) -> Inbox {
    let made = inbox(store, &t.account, text).await;
    store
        .set_inbox_group(made.id, group)
        .await
        .expect("inbox into group")
}

/// A user created as an operator, of capacity 10, whose only grants are
/// then `grants` (an agent only if one of them answers), online.
async fn online_with(store: &Arc<dyn Store>, t: &Tenant, who: &str, grants: &[Grant]) -> User {
    let user = agent_with(store, t, who, 10).await;
    store.set_grants(user.id, grants).await.expect("grants");
    online(store, &user, NodeId::new()).await;
    user
}

async fn new_conversation(store: &Arc<dyn Store>, at: &Inbox, handle: &str) -> ConversationId {
    inbound(store, at, handle, "hello").await.conversation.id
}

fn by_hand(t: &Tenant, conversation: ConversationId, to: &User) -> ManualAssignment {
    ManualAssignment {
        conversation,
        assignee: to.id,
        actor: t.owner.id,
        force: true,
    }
}

fn refused(result: &Result<switchboard_core::model::Routed, StoreError>) -> bool {
    matches!(result, Err(StoreError::Conflict(m)) if m == REFUSED)
}

/// Refused because the user is no agent at all.
fn no_agent(result: &Result<switchboard_core::model::Routed, StoreError>) -> bool {
    matches!(result, Err(StoreError::Conflict(m)) if m == NO_AGENT)
}

async fn is_agent(store: &Arc<dyn Store>, user: &User) -> bool {
    store.agent(user.id).await.expect("read agent").is_some()
}

/// An operator at North takes North's conversations and those of groups
/// below it, never those of the root or of a sibling, even as the only
/// online agent with room: those wait. A viewer (one created as an
/// operator, whose grants were replaced by a viewer's) is no agent and is
/// never assigned.
async fn only_who_may_answer_is_assigned(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let root = root_of(&store, &acme).await;
    let north = group(&store, &acme, "North", root).await;
    let north_east = group(&store, &acme, "North East", north).await;
    let south = group(&store, &acme, "South", root).await;
    let in_north = inbox_in(&store, &acme, "acme-north", north).await;
    let in_north_east = inbox_in(&store, &acme, "acme-ne", north_east).await;
    let in_south = inbox_in(&store, &acme, "acme-south", south).await;
    let operator = RoleId::Builtin(BuiltinRole::Operator);
    let viewer = RoleId::Builtin(BuiltinRole::Viewer);
    let ann = online_with(&store, &acme, "ann", &[Grant::new(operator, north)]).await;
    // a viewer everywhere, online: no agent
    let vic = online_with(&store, &acme, "vic", &[Grant::new(viewer, root)]).await;
    assert!(!is_agent(&store, &vic).await);

    let at_root = new_conversation(&store, &acme.inbox, "c-root").await;
    let at_south = new_conversation(&store, &in_south, "c-south").await;
    let at_north = new_conversation(&store, &in_north, "c-north").await;
    let at_north_east = new_conversation(&store, &in_north_east, "c-ne").await;
    assert_eq!(assignee(&store, at_north).await, Some(ann.id));
    assert_eq!(assignee(&store, at_north_east).await, Some(ann.id));
    assert_eq!(assignee(&store, at_root).await, None);
    assert_eq!(assignee(&store, at_south).await, None);
    assert_eq!(
        queue(&store, acme.account.id).await,
        vec![at_root, at_south]
    );

    // the queue served again (ann's room grows, an explicit auto-assign):
    // still nobody may answer those two
    let routed = store.set_capacity(ann.id, 20).await.expect("capacity");
    assert!(routed_ids(&routed).is_empty(), "{routed:?}");
    store.auto_assign(at_root).await.expect("auto assign");
    assert_eq!(
        queue(&store, acme.account.id).await,
        vec![at_root, at_south]
    );
    assert_eq!(load(&store, &ann).await, 2);

    // by hand, forced or not: refused to both (vic is no agent at all)
    for (to, why) in [(&ann, refused as fn(&_) -> bool), (&vic, no_agent)] {
        let result = store.assign(by_hand(&acme, at_root, to)).await;
        assert!(why(&result), "{result:?}");
        let result = store
            .assign(ManualAssignment {
                force: false,
                ..by_hand(&acme, at_south, to)
            })
            .await;
        assert!(why(&result), "{result:?}");
    }
    let result = store.assign(by_hand(&acme, at_north, &vic)).await;
    assert!(no_agent(&result), "{result:?}");
    assert_eq!(assignee(&store, at_north).await, Some(ann.id));

    // South moves under North: the next time the queue is served, its
    // conversation is ann's; the root's still waits
    store
        .set_inbox_group(in_south.id, north)
        .await
        .expect("move inbox");
    let routed = store.set_capacity(ann.id, 21).await.expect("capacity");
    assert_eq!(routed_ids(&routed), vec![at_south]);
    assert_eq!(assignee(&store, at_south).await, Some(ann.id));
    assert_eq!(queue(&store, acme.account.id).await, vec![at_root]);

    // an operator at the root may answer it: assigned by hand at once
    let owen = agent_with(&store, &acme, "owen", 5).await;
    store
        .set_grants(owen.id, &[Grant::new(operator, root)])
        .await
        .expect("grants");
    store
        .assign(ManualAssignment {
            force: false,
            ..by_hand(&acme, at_root, &owen)
        })
        .await
        .expect("assign to one who may answer");
    assert_eq!(assignee(&store, at_root).await, Some(owen.id));
    for conversation in [at_root, at_south, at_north, at_north_east] {
        assert_ne!(assignee(&store, conversation).await, Some(vic.id));
    }
}

/// A team narrows who may take its inbox's conversations; it never widens
/// it to members who may not answer there.
async fn a_team_takes_only_what_its_members_may_answer(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let root = root_of(&store, &acme).await;
    let north = group(&store, &acme, "North", root).await;
    let south = group(&store, &acme, "South", root).await;
    let in_south = inbox_in(&store, &acme, "acme-south", south).await;
    let operator = RoleId::Builtin(BuiltinRole::Operator);
    let ann = online_with(&store, &acme, "ann", &[Grant::new(operator, north)]).await;
    let bob = online_with(&store, &acme, "bob", &[Grant::new(operator, south)]).await;
    let team = store
        .create_team(acme.account.id, "Sales", &[ann.id])
        .await
        .expect("team");
    store
        .set_inbox_team(in_south.id, Some(team.id))
        .await
        .expect("route to team");

    // the team's only member may not answer South; bob may but is not of it
    let waiting = new_conversation(&store, &in_south, "c-south").await;
    assert_eq!(queue(&store, acme.account.id).await, vec![waiting]);
    let (_, routed) = store
        .set_team_members(team.id, &[ann.id, bob.id])
        .await
        .expect("members");
    assert_eq!(routed_ids(&routed), vec![waiting]);
    assert_eq!(assignee(&store, waiting).await, Some(bob.id));
}

/// A custom role with `conversations.answer` and
/// `conversations.view_assigned` makes its holder eligible; answering
/// without any view does not (an agent nonetheless), nor viewing without
/// answering (no agent).
async fn a_custom_role_that_answers_is_eligible(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let root = root_of(&store, &acme).await;
    let role = |text: &str, permissions: &[Permission]| CustomRole {
        name: name(text),
        permissions: PermissionSet::of(permissions),
    };
    let mut custom = Vec::new();
    for made in [
        role("Blind", &[Permission::ConversationsAnswer]),
        role(
            "Watcher",
            &[
                Permission::ConversationsView,
                Permission::ConversationsViewAssigned,
                Permission::ConversationsAssign,
            ],
        ),
        role(
            "Closer",
            &[
                Permission::ConversationsViewAssigned,
                Permission::ConversationsAnswer,
            ],
        ),
    ] {
        let id = store
            .create_custom_role(acme.account.id, &made)
            .await
            .expect("custom role");
        custom.push(RoleId::Custom(id));
    }
    let [blind, watcher, closer] = [custom[0], custom[1], custom[2]];
    let bea = online_with(&store, &acme, "bea", &[Grant::new(blind, root)]).await;
    let wes = online_with(&store, &acme, "wes", &[Grant::new(watcher, root)]).await;
    assert!(is_agent(&store, &bea).await && !is_agent(&store, &wes).await);

    let first = new_conversation(&store, &acme.inbox, "c-1").await;
    assert_eq!(queue(&store, acme.account.id).await, vec![first]);
    let result = store.assign(by_hand(&acme, first, &bea)).await;
    assert!(refused(&result), "{result:?}");
    let result = store.assign(by_hand(&acme, first, &wes)).await;
    assert!(no_agent(&result), "{result:?}");

    // answer with view_assigned: the queue is cal's once they are online
    let cal = online_with(&store, &acme, "cal", &[Grant::new(closer, root)]).await;
    assert_eq!(assignee(&store, first).await, Some(cal.id));

    // the answer of one grant and the view of another add up
    store
        .set_grants(
            bea.id,
            &[Grant::new(blind, root), Grant::new(watcher, root)],
        )
        .await
        .expect("grants");
    let second = new_conversation(&store, &acme.inbox, "c-2").await;
    assert_eq!(assignee(&store, second).await, Some(bea.id));
    assert!(!is_agent(&store, &wes).await);
}

/// A new user of the tenant created with `role` (and so its grant at the
/// root), of capacity 10.
async fn user_as(store: &Arc<dyn Store>, t: &Tenant, who: &str, role: Role) -> User {
    store
        .create_user(NewUser {
            account_id: t.account.id,
            email: &format!("{who}@{}.example", t.account.name),
            name: who,
            password_hash: HASH,
            role,
            capacity: 10,
        })
        .await
        .expect("create user")
}

/// The state of `user` among the agents an operation reports, if there.
fn reported(routed: &Routed, user: &User) -> Option<AgentState> {
    routed.agents.iter().find(|a| a.user.id == user.id).cloned()
}

/// Who is an agent follows the grants, not the role a user was created
/// with: a viewer granted operator at a sub-group becomes one (has a state,
/// goes online and available, is among the agents routing picks from); an
/// operator whose grants are replaced by a viewer's is one no more.
async fn an_agent_is_who_answers_by_grants(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let root = root_of(&store, &acme).await;
    let north = group(&store, &acme, "North", root).await;
    let in_north = inbox_in(&store, &acme, "acme-north", north).await;
    let operator = RoleId::Builtin(BuiltinRole::Operator);
    let viewer = RoleId::Builtin(BuiltinRole::Viewer);

    let val = user_as(&store, &acme, "val", Role::Viewer).await;
    assert!(!is_agent(&store, &val).await, "a viewer is no agent");
    store
        .set_grants(val.id, &[Grant::new(operator, north)])
        .await
        .expect("grants");
    let state = store.agent(val.id).await.expect("agent").expect("an agent");
    assert_eq!(
        (state.account_id, state.online, state.load),
        (acme.account.id, false, 0)
    );
    let routed = online(&store, &val, NodeId::new()).await;
    let state = reported(&routed, &val).expect("reported as an agent");
    assert!(state.online);
    let routed = store
        .set_availability(val.id, Availability::Available)
        .await
        .expect("available");
    let state = reported(&routed, &val).expect("reported as an agent");
    assert_eq!(state.availability, Availability::Available);
    // the only agent online: routing finds val among the account's agents
    let first = new_conversation(&store, &in_north, "c-1").await;
    assert_eq!(assignee(&store, first).await, Some(val.id));
    assert_eq!(load(&store, &val).await, 1);

    // an operator by creation, downgraded by grants
    let otto = user_as(&store, &acme, "otto", Role::Operator).await;
    assert!(is_agent(&store, &otto).await);
    online(&store, &otto, NodeId::new()).await;
    store
        .set_grants(otto.id, &[Grant::new(viewer, root)])
        .await
        .expect("grants");
    assert!(
        !is_agent(&store, &otto).await,
        "a viewer by grants is no agent"
    );
    let routed = store
        .set_availability(otto.id, Availability::Available)
        .await
        .expect("availability");
    assert_eq!(reported(&routed, &otto), None);
    let result = store.assign(by_hand(&acme, first, &otto)).await;
    assert!(no_agent(&result), "{result:?}");

    // and back: an operator grant anywhere makes otto one again
    store
        .set_grants(
            otto.id,
            &[Grant::new(viewer, root), Grant::new(operator, north)],
        )
        .await
        .expect("grants");
    assert!(is_agent(&store, &otto).await);
}

/// A custom role makes its holders agents when its permissions contain
/// `conversations.answer` as a whole word, whichever group it is granted
/// at; one without it does not, however close its permissions' names.
async fn a_custom_role_that_answers_makes_an_agent(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let root = root_of(&store, &acme).await;
    let north = group(&store, &acme, "North", root).await;
    let role = |text: &str, permissions: &[Permission]| CustomRole {
        name: name(text),
        permissions: PermissionSet::of(permissions),
    };
    let answering = store
        .create_custom_role(
            acme.account.id,
            &role(
                "Answering",
                &[
                    Permission::ConversationsViewAssigned,
                    Permission::ConversationsAnswer,
                ],
            ),
        )
        .await
        .expect("custom role");
    let looking = store
        .create_custom_role(
            acme.account.id,
            &role(
                "Looking",
                &[
                    Permission::ConversationsView,
                    Permission::ConversationsAssign,
                ],
            ),
        )
        .await
        .expect("custom role");
    let cid = user_as(&store, &acme, "cid", Role::Viewer).await;
    let lou = user_as(&store, &acme, "lou", Role::Viewer).await;
    store
        .set_grants(cid.id, &[Grant::new(RoleId::Custom(answering), north)])
        .await
        .expect("grants");
    store
        .set_grants(lou.id, &[Grant::new(RoleId::Custom(looking), root)])
        .await
        .expect("grants");
    assert!(is_agent(&store, &cid).await);
    assert!(!is_agent(&store, &lou).await);
    let routed = online(&store, &cid, NodeId::new()).await;
    assert!(reported(&routed, &cid).is_some_and(|state| state.online));
    let routed = online(&store, &lou, NodeId::new()).await;
    assert_eq!(reported(&routed, &lou), None);
}

contract_tests!(
    only_who_may_answer_is_assigned,
    a_team_takes_only_what_its_members_may_answer,
    a_custom_role_that_answers_is_eligible,
    an_agent_is_who_answers_by_grants,
    a_custom_role_that_answers_makes_an_agent,
);
