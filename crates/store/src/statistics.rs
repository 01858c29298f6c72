//! What message statistics count (docs/MODULES.md, "Statistics"), read
//! for one bucket at a time so a long range is never held whole: its
//! messages per conversation active in its window (`messages_statistics`,
//! migration 0014), its conversation spells from `conversation_spells`,
//! which triggers keep as conversations open, get their first response
//! and are resolved. Written once for both backends; whose inboxes are
//! counted is the application's decision.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use switchboard_core::StoreError;
use switchboard_core::ids::{AccountId, InboxId, UserId};
use switchboard_core::statistics::{BucketScope, MessageCounts, SpellTally, Window};

use crate::reads::json_ids;
use crate::rows::{Columns, unsigned};
use crate::statement::{Statements, Value, id};

fn counts(row: &dyn Columns) -> Result<MessageCounts, StoreError> {
    Ok(MessageCounts {
        inbound: unsigned(row.int("inbound")?, "inbound")?,
        outbound: unsigned(row.int("outbound")?, "outbound")?,
    })
}

/// Milliseconds from `from` to `to`; none when either is missing.
fn millis(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Option<i64> {
    Some((to? - from?).num_milliseconds().max(0))
}

/// The parameters of the message counts: the clock, the window, the
/// account, the inboxes.
fn message_params<'a>(account: AccountId, inboxes: &'a str, window: Window) -> [Value<'a>; 5] {
    [
        Value::Clock,
        Value::Time(window.from),
        Value::Time(window.to),
        account.into(),
        inboxes.into(),
    ]
}

pub(crate) async fn messages<T: Statements>(
    tx: &mut T,
    account: AccountId,
    inboxes: &BTreeSet<InboxId>,
    window: Window,
) -> Result<MessageCounts, StoreError> {
    if inboxes.is_empty() {
        return Ok(MessageCounts::default());
    }
    let inboxes = json_ids(inboxes);
    let params = message_params(account, &inboxes, window);
    let counted = tx.one(T::SQL.statistics_messages, &params, counts).await?;
    Ok(counted.unwrap_or_default())
}

/// The window's messages per UTC day (days without any are left out).
pub(crate) async fn messages_by_day<T: Statements>(
    tx: &mut T,
    account: AccountId,
    inboxes: &BTreeSet<InboxId>,
    window: Window,
) -> Result<Vec<(NaiveDate, MessageCounts)>, StoreError> {
    if inboxes.is_empty() {
        return Ok(Vec::new());
    }
    let inboxes = json_ids(inboxes);
    let params = message_params(account, &inboxes, window);
    tx.all(T::SQL.statistics_messages_by_day, &params, |row| {
        let day = row.int("day")?;
        let date = DateTime::<Utc>::from_timestamp(day.saturating_mul(86_400), 0)
            .ok_or_else(|| StoreError::Internal(format!("a day out of range: {day}")))?
            .date_naive();
        Ok((date, counts(row)?))
    })
    .await
}

pub(crate) async fn messages_by_inbox<T: Statements>(
    tx: &mut T,
    account: AccountId,
    inboxes: &BTreeSet<InboxId>,
    window: Window,
) -> Result<Vec<(InboxId, MessageCounts)>, StoreError> {
    if inboxes.is_empty() {
        return Ok(Vec::new());
    }
    let inboxes = json_ids(inboxes);
    let params = message_params(account, &inboxes, window);
    tx.all(T::SQL.statistics_messages_by_inbox, &params, |row| {
        Ok((id(row, "inbox_id")?, counts(row)?))
    })
    .await
}

pub(crate) async fn messages_by_agent<T: Statements>(
    tx: &mut T,
    account: AccountId,
    inboxes: &BTreeSet<InboxId>,
    window: Window,
) -> Result<Vec<(UserId, u64)>, StoreError> {
    if inboxes.is_empty() {
        return Ok(Vec::new());
    }
    let inboxes = json_ids(inboxes);
    let params = message_params(account, &inboxes, window);
    tx.all(T::SQL.statistics_messages_by_agent, &params, |row| {
        Ok((
            id(row, "author_id")?,
            unsigned(row.int("outbound")?, "outbound")?,
        ))
    })
    .await
}

pub(crate) async fn spells<T: Statements>(
    tx: &mut T,
    account: AccountId,
    scope: &BucketScope,
) -> Result<SpellTally, StoreError> {
    if scope.inboxes.is_empty() {
        return Ok(SpellTally::default());
    }
    let inboxes = json_ids(&scope.inboxes);
    let params = message_params(account, &inboxes, scope.window);
    let (opened, resolved) = (T::SQL.statistics_opened, T::SQL.statistics_resolved);
    let opened = tx
        .all(opened, &params, |row| {
            Ok(millis(
                row.opt_time("first_inbound_at")?,
                row.opt_time("first_response_at")?,
            ))
        })
        .await?;
    let resolved = tx
        .all(resolved, &params, |row| {
            Ok(millis(
                Some(row.time("opened_at")?),
                Some(row.time("resolved_at")?),
            ))
        })
        .await?;
    Ok(SpellTally {
        opened: opened.len() as u64,
        resolved: resolved.len() as u64,
        first_responses: opened.into_iter().flatten().collect(),
        resolutions: resolved.into_iter().flatten().collect(),
    })
}

/// Every agent's spells in the window at once (one pass, for the agent
/// grouping): first responses by who wrote them, resolutions by who was
/// assigned; an agent with neither is left out.
pub(crate) async fn spells_by_agent<T: Statements>(
    tx: &mut T,
    account: AccountId,
    inboxes: &BTreeSet<InboxId>,
    window: Window,
) -> Result<Vec<(UserId, SpellTally)>, StoreError> {
    if inboxes.is_empty() {
        return Ok(Vec::new());
    }
    let inboxes = json_ids(inboxes);
    let params = message_params(account, &inboxes, window);
    let mut tallies: std::collections::BTreeMap<UserId, SpellTally> = Default::default();
    let opened = tx
        .all(T::SQL.statistics_opened_by_agent, &params, |row| {
            Ok((
                id::<UserId>(row, "responder_id")?,
                millis(
                    row.opt_time("first_inbound_at")?,
                    row.opt_time("first_response_at")?,
                ),
            ))
        })
        .await?;
    for (agent, first_response) in opened {
        let tally = tallies.entry(agent).or_default();
        tally.opened += 1;
        tally.first_responses.extend(first_response);
    }
    let resolved = tx
        .all(T::SQL.statistics_resolved_by_agent, &params, |row| {
            Ok((
                id::<UserId>(row, "resolved_assignee_id")?,
                millis(Some(row.time("opened_at")?), Some(row.time("resolved_at")?)),
            ))
        })
        .await?;
    for (agent, resolution) in resolved {
        let tally = tallies.entry(agent).or_default();
        tally.resolved += 1;
        tally.resolutions.extend(resolution);
    }
    Ok(tallies.into_iter().collect())
}
