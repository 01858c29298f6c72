//! Message statistics (docs/MODULES.md, "Statistics"): the figures of the
//! inboxes a user may count, cut by day, inbox or agent.
//!
//! A user counts the inboxes of the groups where they hold
//! `statistics.view` (a grant at a group covers its subtree), and exports
//! those where they also hold `statistics.export`. Holding it nowhere is
//! `forbidden`. The figures come one bucket at a time
//! ([`StatisticsRows::next`]), each read from the store when asked for, so
//! an export streams a long range without holding it.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use chrono::NaiveDate;
use switchboard_core::access::Permission;
use switchboard_core::ports::Store;
use switchboard_core::statistics::{
    BucketScope, Figures, GroupBy, MessageCounts, SpellTally, StatisticsRange, Window,
};
use switchboard_core::{AccountId, GroupId, InboxId, Principal, UserId};

use super::{App, AppError};

/// What a bucket is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bucket {
    Day(NaiveDate),
    Inbox { id: InboxId, name: String },
    Agent { id: UserId, name: String },
}

/// One bucket with its figures.
#[derive(Debug, Clone, PartialEq)]
pub struct StatisticsRow {
    pub bucket: Bucket,
    pub figures: Figures,
}

/// The rows of a statistics request, read one bucket at a time.
pub struct StatisticsRows {
    store: Arc<dyn Store>,
    account: AccountId,
    inboxes: BTreeSet<InboxId>,
    window: Window,
    group_by: GroupBy,
    /// The buckets still to read, in order, each with its window.
    pending: VecDeque<(Bucket, Window)>,
    /// Message counts read at once for the whole range, per inbox
    /// (`group_by=inbox`), per agent (`group_by=agent`) or per day
    /// (`group_by=day`): one pass over the range's messages instead of one
    /// per bucket (at most one entry per bucket is held).
    by_inbox: HashMap<InboxId, MessageCounts>,
    by_agent: HashMap<UserId, u64>,
    by_day: HashMap<NaiveDate, MessageCounts>,
    /// Every agent's spells, read at once for `group_by=agent` (one pass
    /// instead of two reads per agent).
    agent_spells: HashMap<UserId, SpellTally>,
}

impl std::fmt::Debug for StatisticsRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatisticsRows")
            .field("account", &self.account)
            .field("group_by", &self.group_by)
            .field("pending", &self.pending.len())
            .finish()
    }
}

impl StatisticsRows {
    pub fn window(&self) -> Window {
        self.window
    }

    pub fn group_by(&self) -> GroupBy {
        self.group_by
    }

    /// The next bucket's row; none after the last. An agent with nothing
    /// counted in the caller's inboxes has no row.
    pub async fn next(&mut self) -> Result<Option<StatisticsRow>, AppError> {
        while let Some((bucket, window)) = self.pending.pop_front() {
            let inboxes = match &bucket {
                Bucket::Inbox { id, .. } => BTreeSet::from([*id]),
                Bucket::Day(_) | Bucket::Agent { .. } => self.inboxes.clone(),
            };
            let agent = matches!(bucket, Bucket::Agent { .. });
            let scope = BucketScope { inboxes, window };
            let messages = match &bucket {
                Bucket::Day(day) => self.by_day.remove(day).unwrap_or_default(),
                Bucket::Inbox { id, .. } => self.by_inbox.remove(id).unwrap_or_default(),
                Bucket::Agent { id, .. } => MessageCounts {
                    inbound: 0,
                    outbound: self.by_agent.remove(id).unwrap_or_default(),
                },
            };
            let spells = match &bucket {
                Bucket::Agent { id, .. } => self.agent_spells.remove(id).unwrap_or_default(),
                _ => self.store.statistics_spells(self.account, &scope).await?,
            };
            let figures = Figures::of(messages, spells, agent);
            if agent && figures.is_empty() {
                continue;
            }
            return Ok(Some(StatisticsRow { bucket, figures }));
        }
        Ok(None)
    }
}

impl App {
    /// The statistics of the inboxes where the user holds
    /// `statistics.view` (and `statistics.export` too when `export`).
    pub async fn statistics(
        &self,
        who: &Principal,
        range: StatisticsRange,
        group_by: GroupBy,
        export: bool,
    ) -> Result<StatisticsRows, AppError> {
        let access = self.access_of(who.account_id()).await?;
        let policy = access.policy(who.id());
        let root = access.access.groups.root();
        let viewed: BTreeSet<GroupId> = access
            .access
            .groups
            .subtree(root)
            .into_iter()
            .filter(|g| {
                policy
                    .permissions_at(*g)
                    .contains(Permission::StatisticsView)
            })
            .collect();
        if viewed.is_empty() {
            return Err(lacking(Permission::StatisticsView));
        }
        let groups: BTreeSet<GroupId> = if export {
            viewed
                .into_iter()
                .filter(|g| {
                    policy
                        .permissions_at(*g)
                        .contains(Permission::StatisticsExport)
                })
                .collect()
        } else {
            viewed
        };
        if groups.is_empty() {
            return Err(lacking(Permission::StatisticsExport));
        }
        let account = who.account_id();
        let mut inboxes = self.store.inboxes_of(account).await?;
        inboxes.retain(|inbox| groups.contains(&inbox.group_id));
        inboxes.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        let scope: BTreeSet<InboxId> = inboxes.iter().map(|i| i.id).collect();
        let window = range.window();
        let mut by_inbox = HashMap::new();
        let mut by_agent = HashMap::new();
        let mut by_day = HashMap::new();
        let mut agent_spells = HashMap::new();
        let pending: VecDeque<(Bucket, Window)> = match group_by {
            GroupBy::Day => {
                by_day = self
                    .store
                    .statistics_messages_by_day(account, &scope, window)
                    .await?
                    .into_iter()
                    .collect();
                range
                    .days()
                    .into_iter()
                    .map(|(day, window)| (Bucket::Day(day), window))
                    .collect()
            }
            GroupBy::Inbox => {
                by_inbox = self
                    .store
                    .statistics_messages_by_inbox(account, &scope, window)
                    .await?
                    .into_iter()
                    .collect();
                inboxes
                    .into_iter()
                    .map(|i| {
                        let bucket = Bucket::Inbox {
                            id: i.id,
                            name: i.name,
                        };
                        (bucket, window)
                    })
                    .collect()
            }
            GroupBy::Agent => {
                agent_spells = self
                    .store
                    .statistics_spells_by_agent(account, &scope, window)
                    .await?
                    .into_iter()
                    .collect();
                by_agent = self
                    .store
                    .statistics_messages_by_agent(account, &scope, window)
                    .await?
                    .into_iter()
                    .collect();
                let mut users = self.store.users_of(account).await?;
                users.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
                users
                    .into_iter()
                    .map(|u| {
                        let bucket = Bucket::Agent {
                            id: u.id,
                            name: u.name,
                        };
                        (bucket, window)
                    })
                    .collect()
            }
        };
        Ok(StatisticsRows {
            store: self.store.clone(),
            account,
            inboxes: scope,
            window,
            group_by,
            pending,
            by_inbox,
            by_agent,
            by_day,
            agent_spells,
        })
    }
}

fn lacking(permission: Permission) -> AppError {
    AppError::forbidden(format!(
        "you do not hold the permission {permission} at any group"
    ))
}
