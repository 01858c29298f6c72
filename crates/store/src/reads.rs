//! The `Store` port's reads of conversations, messages, teams, agents and
//! the assignment log, written once for both backends over
//! [`Statements`] (each backend runs them on its pool: SQLite's readers,
//! beside the writer).

use switchboard_core::StoreError;
use switchboard_core::access::ConversationFilter as AccessFilter;
use switchboard_core::ids::{AccountId, ConversationId, UserId};
use switchboard_core::model::{
    AgentState, AssignmentRecord, Conversation, ConversationFilter, Message, Team,
};

use crate::rows::{self, signed};
use crate::sql;
use crate::statement::{Statements, Value};

/// Whether the database answers.
pub(crate) async fn ping<T: Statements>(tx: &mut T) -> Result<(), StoreError> {
    tx.execute("SELECT 1", &[]).await.map(drop)
}

/// One conversation's card.
pub(crate) async fn conversation<T: Statements>(
    tx: &mut T,
    id: ConversationId,
) -> Result<Option<Conversation>, StoreError> {
    let params = [Value::Clock, id.into()];
    tx.one(T::SQL.conversation_by_id, &params, rows::conversation)
        .await
}

/// The inbox list, newest activity first.
pub(crate) async fn conversations<T: Statements>(
    tx: &mut T,
    filter: ConversationFilter,
) -> Result<Vec<Conversation>, StoreError> {
    let params = [
        Value::Clock,
        filter.account_id.into(),
        filter.assignee.into(),
        i64::from(filter.limit).into(),
    ];
    tx.all(T::SQL.conversations_of_account, &params, rows::conversation)
        .await
}

/// The conversations the access filter admits, newest activity first, at
/// most `limit`; none without a query when it admits none.
pub(crate) async fn admitted_conversations<T: Statements>(
    tx: &mut T,
    filter: &AccessFilter,
    limit: u32,
) -> Result<Vec<Conversation>, StoreError> {
    if filter.is_empty() {
        return Ok(Vec::new());
    }
    let all = json_ids(&filter.all);
    let assigned = json_ids(&filter.assigned);
    let params = [
        Value::Clock,
        filter.account.into(),
        all.as_str().into(),
        assigned.as_str().into(),
        filter.user.into(),
        i64::from(limit).into(),
    ];
    tx.all(T::SQL.conversations_admitted, &params, rows::conversation)
        .await
}

/// Ids (of groups, inboxes) as the JSON array of UUID strings that
/// [`sql::json_ids!`] reads (a UUID's text needs no escaping).
pub(crate) fn json_ids<I: std::fmt::Display>(ids: impl IntoIterator<Item = I>) -> String {
    let quoted: Vec<String> = ids.into_iter().map(|id| format!("\"{id}\"")).collect();
    format!("[{}]", quoted.join(","))
}

/// Up to `limit` messages after `after_seq`, in order.
pub(crate) async fn messages_after<T: Statements>(
    tx: &mut T,
    conversation: ConversationId,
    after_seq: u64,
    limit: u32,
) -> Result<Vec<Message>, StoreError> {
    let Some(after_seq) = signed(after_seq) else {
        return Ok(Vec::new());
    };
    let params = [
        conversation.into(),
        after_seq.into(),
        i64::from(limit).into(),
    ];
    tx.all(sql::MESSAGES_AFTER, &params, rows::message).await
}

/// The newest `limit` messages, in order.
pub(crate) async fn recent_messages<T: Statements>(
    tx: &mut T,
    conversation: ConversationId,
    limit: u32,
) -> Result<Vec<Message>, StoreError> {
    let params = [conversation.into(), i64::from(limit).into()];
    let mut messages = tx.all(sql::RECENT_MESSAGES, &params, rows::message).await?;
    messages.reverse();
    Ok(messages)
}

/// The account's teams by name.
pub(crate) async fn teams<T: Statements>(
    tx: &mut T,
    account: AccountId,
) -> Result<Vec<Team>, StoreError> {
    let found = tx
        .all(sql::TEAMS_OF_ACCOUNT, &[account.into()], rows::team_row)
        .await?;
    Ok(rows::teams(found))
}

/// A user's state as an agent, if they are one.
pub(crate) async fn agent<T: Statements>(
    tx: &mut T,
    user: UserId,
) -> Result<Option<AgentState>, StoreError> {
    let agent = tx
        .one(T::SQL.agent_by_id, &[user.into()], rows::agent)
        .await?;
    Ok(agent.map(|agent| agent.state))
}

/// The account's agents, by id.
pub(crate) async fn agents<T: Statements>(
    tx: &mut T,
    account: AccountId,
) -> Result<Vec<AgentState>, StoreError> {
    let found = tx
        .all(T::SQL.agents_of_account, &[account.into()], rows::agent)
        .await?;
    Ok(found.into_iter().map(|agent| agent.state).collect())
}

/// The conversation's assignment history, oldest first.
pub(crate) async fn assignment_log<T: Statements>(
    tx: &mut T,
    conversation: ConversationId,
) -> Result<Vec<AssignmentRecord>, StoreError> {
    tx.all(
        sql::ASSIGNMENT_LOG,
        &[conversation.into()],
        rows::assignment,
    )
    .await
}
