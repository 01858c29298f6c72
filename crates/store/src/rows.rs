//! Turning rows into domain records, once for both backends.
//!
//! The backends differ in how a row holds a time (INTEGER milliseconds on
//! SQLite, timestamptz on Postgres), and SQLite rows come from sqlx (reads)
//! or from rusqlite (the writer thread); [`Columns`] hides that, so the mapping
//! from columns to [`Conversation`], [`Message`] and friends is written once
//! and cannot drift between SQLite and Postgres. The statements of both
//! backends (`sql`) use the column names this module reads.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use switchboard_core::ids::{AccountId, ConversationId, InboxId, TeamId, UserId};
use switchboard_core::model::{
    Account, AgentState, AssignmentKind, AssignmentRecord, Availability, Contact, Conversation,
    ConversationStatus, Direction, Inbox, LockState, Message, Team, User, UserRef,
};
use switchboard_core::{Role, StoreError};
use uuid::Uuid;

use crate::error::{from_rusqlite, from_sqlx};

/// Typed column access that both backends' rows provide.
pub(crate) trait Columns {
    fn uuid(&self, col: &str) -> Result<Uuid, StoreError>;
    fn opt_uuid(&self, col: &str) -> Result<Option<Uuid>, StoreError>;
    fn text(&self, col: &str) -> Result<String, StoreError>;
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError>;
    fn int(&self, col: &str) -> Result<i64, StoreError>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError>;
    fn flag(&self, col: &str) -> Result<bool, StoreError>;
    fn time(&self, col: &str) -> Result<DateTime<Utc>, StoreError>;
    fn opt_time(&self, col: &str) -> Result<Option<DateTime<Utc>>, StoreError>;
}

macro_rules! common_columns {
    () => {
        fn uuid(&self, col: &str) -> Result<Uuid, StoreError> {
            self.try_get(col).map_err(from_sqlx)
        }
        fn opt_uuid(&self, col: &str) -> Result<Option<Uuid>, StoreError> {
            self.try_get(col).map_err(from_sqlx)
        }
        fn text(&self, col: &str) -> Result<String, StoreError> {
            self.try_get(col).map_err(from_sqlx)
        }
        fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
            self.try_get(col).map_err(from_sqlx)
        }
        fn int(&self, col: &str) -> Result<i64, StoreError> {
            self.try_get(col).map_err(from_sqlx)
        }
        fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError> {
            self.try_get(col).map_err(from_sqlx)
        }
        fn flag(&self, col: &str) -> Result<bool, StoreError> {
            self.try_get(col).map_err(from_sqlx)
        }
    };
}

impl Columns for SqliteRow {
    common_columns!();

    fn time(&self, col: &str) -> Result<DateTime<Utc>, StoreError> {
        millis_to_time(self.try_get(col).map_err(from_sqlx)?)
    }

    fn opt_time(&self, col: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let millis: Option<i64> = self.try_get(col).map_err(from_sqlx)?;
        millis.map(millis_to_time).transpose()
    }
}

impl Columns for PgRow {
    common_columns!();

    fn time(&self, col: &str) -> Result<DateTime<Utc>, StoreError> {
        self.try_get(col).map_err(from_sqlx)
    }

    fn opt_time(&self, col: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.try_get(col).map_err(from_sqlx)
    }
}

/// Rows the SQLite writer thread reads inside its transaction (the same
/// SELECTs as the sqlx side, so the same columns).
impl Columns for rusqlite::Row<'_> {
    fn uuid(&self, col: &str) -> Result<Uuid, StoreError> {
        self.get(col).map_err(from_rusqlite)
    }
    fn opt_uuid(&self, col: &str) -> Result<Option<Uuid>, StoreError> {
        self.get(col).map_err(from_rusqlite)
    }
    fn text(&self, col: &str) -> Result<String, StoreError> {
        self.get(col).map_err(from_rusqlite)
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
        self.get(col).map_err(from_rusqlite)
    }
    fn int(&self, col: &str) -> Result<i64, StoreError> {
        self.get(col).map_err(from_rusqlite)
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError> {
        self.get(col).map_err(from_rusqlite)
    }
    fn flag(&self, col: &str) -> Result<bool, StoreError> {
        self.get(col).map_err(from_rusqlite)
    }
    fn time(&self, col: &str) -> Result<DateTime<Utc>, StoreError> {
        millis_to_time(self.get(col).map_err(from_rusqlite)?)
    }
    fn opt_time(&self, col: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let millis: Option<i64> = self.get(col).map_err(from_rusqlite)?;
        millis.map(millis_to_time).transpose()
    }
}

pub(crate) fn millis_to_time(millis: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(millis)
        .ok_or_else(|| StoreError::Internal(format!("timestamp out of range: {millis}")))
}

/// A stored counter (seq, epoch, capacity) as the domain's unsigned number.
pub(crate) fn unsigned(value: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Internal(format!("negative {what}: {value}")))
}

/// A domain number as a database BIGINT; numbers past `i64::MAX` cannot be
/// stored, so callers treat `None` as "matches nothing".
pub(crate) fn signed(value: u64) -> Option<i64> {
    i64::try_from(value).ok()
}

/// `SELECT a.id, a.name, a.created_at`.
pub(crate) fn account(row: &dyn Columns) -> Result<Account, StoreError> {
    Ok(Account {
        id: row.uuid("id")?.into(),
        name: row.text("name")?,
        created_at: row.time("created_at")?,
    })
}

/// `SELECT id, account_id, email, name, role, capacity, created_at,
/// deactivated_at`.
pub(crate) fn user(row: &dyn Columns) -> Result<User, StoreError> {
    let role = row.text("role")?;
    let capacity = row.int("capacity")?;
    Ok(User {
        id: row.uuid("id")?.into(),
        account_id: row.uuid("account_id")?.into(),
        email: row.text("email")?,
        name: row.text("name")?,
        role: Role::parse(&role)
            .ok_or_else(|| StoreError::Internal(format!("unknown role in database: {role}")))?,
        capacity: self::capacity(capacity)?,
        created_at: row.time("created_at")?,
        deactivated_at: row.opt_time("deactivated_at")?,
    })
}

/// `SELECT id, account_id, name, channel, created_at`.
pub(crate) fn inbox(row: &dyn Columns) -> Result<Inbox, StoreError> {
    Ok(Inbox {
        id: row.uuid("id")?.into(),
        account_id: row.uuid("account_id")?.into(),
        name: row.text("name")?,
        channel: row.text("channel")?,
        group_id: row.uuid("group_id")?.into(),
        created_at: row.time("created_at")?,
    })
}

/// The columns of the conversation SELECT of each backend: the row, its
/// contact (`contact_*`), the assignee (`assignee_id`, `assignee_name`),
/// the holder (`lock_holder`, `holder_name`, `lock_valid`) and the rank in
/// the Unassigned queue (`queue_position`, NULL when not queued).
pub(crate) fn conversation(row: &dyn Columns) -> Result<Conversation, StoreError> {
    let status = row.text("status")?;
    Ok(Conversation {
        id: row.uuid("id")?.into(),
        account_id: row.uuid("account_id")?.into(),
        inbox_id: row.uuid("inbox_id")?.into(),
        contact: Contact {
            id: row.uuid("contact_id")?.into(),
            handle: row.text("contact_handle")?,
            name: row.opt_text("contact_name")?,
        },
        status: ConversationStatus::parse(&status)
            .ok_or_else(|| StoreError::Internal(format!("unknown status in database: {status}")))?,
        assignee: user_ref(row, "assignee_id", "assignee_name")?,
        answered_by: holder(row)?,
        answered_epoch: unsigned(row.int("lock_epoch")?, "lock epoch")?,
        queue_position: row
            .opt_int("queue_position")?
            .map(|rank| unsigned(rank, "queue position"))
            .transpose()?,
        last_seq: unsigned(row.int("last_seq")?, "seq")?,
        last_message_at: row.opt_time("last_message_at")?,
    })
}

/// `SELECT id, conversation_id, seq, direction, author_id, author_name, body, created_at`.
pub(crate) fn message(row: &dyn Columns) -> Result<Message, StoreError> {
    let direction = row.text("direction")?;
    Ok(Message {
        id: row.uuid("id")?.into(),
        conversation_id: row.uuid("conversation_id")?.into(),
        seq: unsigned(row.int("seq")?, "seq")?,
        direction: Direction::parse(&direction).ok_or_else(|| {
            StoreError::Internal(format!("unknown direction in database: {direction}"))
        })?,
        author: user_ref(row, "author_id", "author_name")?,
        body: row.text("body")?,
        created_at: row.time("created_at")?,
    })
}

/// `SELECT lock_epoch, lock_holder, holder_name, lock_node, lock_valid`.
///
/// A lapsed lease reads as nobody holding the role: the epoch stays, so a
/// late write by the old holder is still refused.
pub(crate) fn lock_state(row: &dyn Columns) -> Result<LockState, StoreError> {
    let holder = holder(row)?;
    let node = match holder {
        Some(_) => row.opt_uuid("lock_node")?.map(Into::into),
        None => None,
    };
    Ok(LockState {
        holder,
        epoch: unsigned(row.int("lock_epoch")?, "epoch")?,
        node,
    })
}

/// The holder of the active role while their lease is valid.
fn holder(row: &dyn Columns) -> Result<Option<UserRef>, StoreError> {
    if !row.flag("lock_valid")? {
        return Ok(None);
    }
    user_ref(row, "lock_holder", "holder_name")
}

fn user_ref(row: &dyn Columns, id: &str, name: &str) -> Result<Option<UserRef>, StoreError> {
    let Some(id) = row.opt_uuid(id)? else {
        return Ok(None);
    };
    Ok(Some(UserRef {
        id: id.into(),
        name: row.opt_text(name)?.unwrap_or_default(),
    }))
}

/// An agent as the routing snapshot holds them.
#[derive(Debug, Clone)]
pub(crate) struct AgentRow {
    pub(crate) state: AgentState,
    /// Unix milliseconds.
    pub(crate) last_assigned_at: Option<i64>,
}

/// What routing needs to know of a conversation.
#[derive(Debug, Clone)]
pub(crate) struct RouteRow {
    pub(crate) id: ConversationId,
    pub(crate) account: AccountId,
    pub(crate) status: ConversationStatus,
    pub(crate) assignee: Option<UserId>,
    /// Set while it waits in the queue.
    pub(crate) queue_key: Option<i64>,
}

/// A conversation waiting in the queue.
#[derive(Debug, Clone)]
pub(crate) struct QueueRow {
    pub(crate) id: ConversationId,
    pub(crate) key: i64,
    pub(crate) inbox: InboxId,
    pub(crate) team: Option<TeamId>,
}

/// `SELECT u.id, u.account_id, u.name, u.capacity, u.availability,
/// u.last_assigned_at, online, load` (`sql::agent_select`).
pub(crate) fn agent(row: &dyn Columns) -> Result<AgentRow, StoreError> {
    let availability = row.text("availability")?;
    let load = row.int("load")?;
    Ok(AgentRow {
        state: AgentState {
            user: UserRef {
                id: row.uuid("id")?.into(),
                name: row.text("name")?,
            },
            account_id: row.uuid("account_id")?.into(),
            availability: Availability::parse(&availability).ok_or_else(|| {
                StoreError::Internal(format!("unknown availability in database: {availability}"))
            })?,
            online: row.flag("online")?,
            capacity: capacity(row.int("capacity")?)?,
            load: u32::try_from(load)
                .map_err(|_| StoreError::Internal(format!("load out of range: {load}")))?,
        },
        last_assigned_at: row
            .opt_time("last_assigned_at")?
            .map(|at| at.timestamp_millis()),
    })
}

/// `SELECT c.id, c.account_id, c.status, c.assignee_id, c.queue_key`.
pub(crate) fn route(row: &dyn Columns) -> Result<RouteRow, StoreError> {
    let status = row.text("status")?;
    Ok(RouteRow {
        id: row.uuid("id")?.into(),
        account: row.uuid("account_id")?.into(),
        status: ConversationStatus::parse(&status)
            .ok_or_else(|| StoreError::Internal(format!("unknown status in database: {status}")))?,
        assignee: row.opt_uuid("assignee_id")?.map(Into::into),
        queue_key: row.opt_int("queue_key")?,
    })
}

/// `SELECT c.id, c.queue_key, i.team_id` of a queued conversation.
pub(crate) fn queued(row: &dyn Columns) -> Result<QueueRow, StoreError> {
    Ok(QueueRow {
        id: row.uuid("id")?.into(),
        key: row.int("queue_key")?,
        inbox: row.uuid("inbox_id")?.into(),
        team: row.opt_uuid("team_id")?.map(Into::into),
    })
}

/// `SELECT kind, assignee_id, actor_id, at` of the assignment log.
pub(crate) fn assignment(row: &dyn Columns) -> Result<AssignmentRecord, StoreError> {
    let kind = row.text("kind")?;
    Ok(AssignmentRecord {
        kind: assignment_kind(&kind).ok_or_else(|| {
            StoreError::Internal(format!("unknown assignment kind in database: {kind}"))
        })?,
        assignee: row.opt_uuid("assignee_id")?.map(Into::into),
        actor: row.opt_uuid("actor_id")?.map(Into::into),
        at: row.time("at")?,
    })
}

fn assignment_kind(text: &str) -> Option<AssignmentKind> {
    use AssignmentKind::*;
    [
        Auto, Manual, Forced, Unassigned, Requeued, Resolved, Reopened,
    ]
    .into_iter()
    .find(|kind| kind.as_str() == text)
}

fn capacity(value: i64) -> Result<u32, StoreError> {
    u32::try_from(value)
        .map_err(|_| StoreError::Internal(format!("capacity out of range: {value}")))
}

/// A team with one of its members, as `sql::team_select` reads it.
#[derive(Debug)]
pub(crate) struct TeamRow {
    id: TeamId,
    account: AccountId,
    name: String,
    member: Option<UserId>,
}

/// `SELECT t.id, t.account_id, t.name, member` (one row per member, or one
/// with no member).
pub(crate) fn team_row(row: &dyn Columns) -> Result<TeamRow, StoreError> {
    Ok(TeamRow {
        id: row.uuid("id")?.into(),
        account: row.uuid("account_id")?.into(),
        name: row.text("name")?,
        member: row.opt_uuid("member")?.map(Into::into),
    })
}

/// The teams of rows read with each team's rows together, in their order.
pub(crate) fn teams(rows: Vec<TeamRow>) -> Vec<Team> {
    let mut teams: Vec<Team> = Vec::new();
    for row in rows {
        if teams.last().is_none_or(|team| team.id != row.id) {
            teams.push(Team {
                id: row.id,
                account_id: row.account,
                name: row.name,
                members: Vec::new(),
            });
        }
        if let (Some(team), Some(member)) = (teams.last_mut(), row.member) {
            team.members.push(member);
        }
    }
    teams
}
