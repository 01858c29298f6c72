//! New conversations on Postgres, created and routed in batches.
//!
//! Routing a new conversation holds its account's lock until the commit,
//! and the commit waits for the disk: one conversation per transaction, an
//! account routes no more conversations a second than its lock can be
//! passed on through a handful of round trips and a disk sync. So the
//! first messages of new customers of one account arriving at the same
//! moment in this process are gathered, and one task (the lane's leader)
//! records them in ONE transaction: contacts, conversations and messages
//! inserted by one statement; then the lock taken once, the agents read
//! once, every conversation routed in arrival order by the policy
//! (`routing::arrivals`), the outcome written by one statement; one
//! commit. Each caller is answered after that commit, with its
//! conversation as routed. Nothing is committed unrouted, so a crash
//! anywhere loses the whole batch (no caller was answered) and leaves
//! nothing half done.
//!
//! Arrivals gather while the batch before them runs, so a lone arrival
//! waits for nobody and batches grow with the load. (A second batch
//! inserting while the first holds the lock was measured no faster on two
//! cores; one batch at a time it is.) Two processes may insert the same
//! customer at once: contacts and conversations are inserted in the order
//! of their handles, so one batch waits for the other and they cannot
//! deadlock; the insert comes before the lock, so a transaction holding
//! the lock never waits for a batch's rows. A caller whose conversation
//! its batch did not create (a twin in the batch, a conversation created
//! meanwhile elsewhere), or whose batch failed (say, one message Postgres
//! refuses: the batch committed nothing), records its message alone, in a
//! transaction of its own. A caller that gave up before its batch began
//! records nothing.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};
use sqlx::Row;
use switchboard_core::StoreError;
use switchboard_core::ids::{AccountId, ContactId, ConversationId, InboxId, MessageId, TeamId};
use switchboard_core::model::{
    Contact, Conversation, ConversationStatus, Direction, Inbound, Message, Routed,
};
use tokio::sync::oneshot;
use uuid::Uuid;

use super::PgStore;
use super::tx::{PgTx, at, clock_millis};
use crate::error::from_sqlx;
use crate::routing::arrivals::{ArrivalTx, Slot, Snapshot, route_arrivals};
use crate::rows::{self, Columns};
use crate::sql;

/// The most arrivals one transaction records (more wait for the next).
const MAX_BATCH: usize = 256;

/// A customer's first message, as a caller hands it over.
#[derive(Debug, Clone)]
pub(super) struct NewArrival {
    pub(super) inbox: InboxId,
    pub(super) handle: String,
    pub(super) contact_name: Option<String>,
    pub(super) body: String,
}

/// A caller waiting for its arrival's batch: the [`Inbound`] once it is
/// committed, or `None`: record it alone.
#[derive(Debug)]
struct Waiting {
    arrival: NewArrival,
    reply: oneshot::Sender<Option<Inbound>>,
}

/// The arrivals waiting for each account's next batch. An account has a
/// lane while its leader runs.
#[derive(Debug, Default)]
pub(super) struct Gatherer {
    lanes: Mutex<HashMap<AccountId, Vec<Waiting>>>,
}

impl Gatherer {
    fn lanes(&self) -> std::sync::MutexGuard<'_, HashMap<AccountId, Vec<Waiting>>> {
        self.lanes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next batch, or `None` (and the lane closed) when nobody waits.
    fn next_batch(&self, account: AccountId) -> Option<Vec<Waiting>> {
        let mut lanes = self.lanes();
        match lanes.get_mut(&account) {
            Some(lane) if !lane.is_empty() => {
                let take = lane.len().min(MAX_BATCH);
                Some(lane.drain(..take).collect())
            }
            _ => {
                lanes.remove(&account);
                None
            }
        }
    }
}

/// Closes a lane whose leader stopped without closing it (it panicked, or
/// its runtime is shutting down): those waiting in it are dropped, and so
/// record their arrivals alone.
struct Leading<'g> {
    gatherer: &'g Gatherer,
    account: AccountId,
    done: bool,
}

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.gatherer.lanes().remove(&self.account);
        }
    }
}

impl PgStore {
    /// Records a new customer's first message, with those arriving at the
    /// same moment for the same account, and routes it. `None`: it was not
    /// recorded, record it alone.
    pub(super) async fn arrive(&self, account: AccountId, arrival: NewArrival) -> Option<Inbound> {
        let (reply, answer) = oneshot::channel();
        let lead = match self.gatherer.lanes().entry(account) {
            Entry::Occupied(mut lane) => {
                lane.get_mut().push(Waiting { arrival, reply });
                false
            }
            Entry::Vacant(lane) => {
                lane.insert(vec![Waiting { arrival, reply }]);
                true
            }
        };
        if lead {
            // a task of its own: a caller that gives up must not strand
            // the others
            tokio::spawn(self.clone().lead(account));
        }
        answer.await.ok().flatten()
    }

    async fn lead(self, account: AccountId) {
        let mut leading = Leading {
            gatherer: &self.gatherer,
            account,
            done: false,
        };
        while let Some(batch) = self.gatherer.next_batch(account) {
            self.record_batch(account, batch).await;
        }
        leading.done = true;
    }

    async fn record_batch(&self, account: AccountId, batch: Vec<Waiting>) {
        // a caller that gave up before its batch began records nothing, as
        // it would have rolled back its own transaction; the same customer
        // twice in one batch: the later go alone, and find the conversation
        // the first creates
        let mut handles = HashSet::new();
        let (batch, twins): (Vec<Waiting>, Vec<Waiting>) = batch
            .into_iter()
            .filter(|w| !w.reply.is_closed())
            .partition(|w| handles.insert(w.arrival.handle.clone()));
        for twin in twins {
            let _ = twin.reply.send(None);
        }
        if batch.is_empty() {
            return;
        }
        let arrivals: Vec<&NewArrival> = batch.iter().map(|w| &w.arrival).collect();
        match self.create_and_route(account, &arrivals).await {
            Ok((inbounds, rest)) => {
                // what else the batch changed goes to one caller to publish
                let mut rest = Some(rest);
                for (waiting, inbound) in batch.into_iter().zip(inbounds) {
                    let Some(mut inbound) = inbound else {
                        let _ = waiting.reply.send(None);
                        continue;
                    };
                    let carried = rest.take();
                    if let Some(more) = &carried {
                        inbound
                            .routed
                            .conversations
                            .extend(more.conversations.iter().cloned());
                        inbound.routed.agents.extend(more.agents.iter().cloned());
                    }
                    if waiting.reply.send(Some(inbound)).is_err() {
                        rest = carried;
                    }
                }
            }
            Err(error) => {
                tracing::warn!(
                    %error,
                    arrivals = batch.len(),
                    "a batch of new conversations failed; each is recorded alone"
                );
                for waiting in batch {
                    let _ = waiting.reply.send(None);
                }
            }
        }
    }

    /// One transaction: the arrivals inserted, routed, committed. Returns
    /// each arrival's [`Inbound`] (`None`: its conversation existed) and
    /// what else the routing changed.
    async fn create_and_route(
        &self,
        account: AccountId,
        arrivals: &[&NewArrival],
    ) -> Result<(Vec<Option<Inbound>>, Routed), StoreError> {
        let mut transaction = self.begin().await?;
        let (created, routed) = {
            let tx = &mut PgTx::new(&mut transaction, &self.clock);
            let created = insert(tx, account, arrivals).await?;
            let cards: Vec<Conversation> = created
                .iter()
                .flatten()
                .map(|(card, _)| card.clone())
                .collect();
            (created, route_arrivals(tx, account, cards).await?)
        };
        transaction.commit().await.map_err(from_sqlx)?;

        let mut routed_cards = routed.cards.into_iter().zip(routed.agents);
        let inbounds = created
            .into_iter()
            .map(|found| {
                let (_, message) = found?;
                let (card, agent) = routed_cards.next()?;
                Some(Inbound {
                    conversation: card.clone(),
                    message,
                    created: true,
                    routed: Routed {
                        conversations: vec![card],
                        agents: agent.into_iter().collect(),
                    },
                })
            })
            .collect();
        Ok((inbounds, routed.rest))
    }
}

/// Inserts the arrivals' contacts (or names them anew), conversations and
/// first messages, in one statement. Returns, index for index, the
/// conversation created with its message, or `None` where the
/// conversation already existed (nothing else was written for it but the
/// contact's name).
async fn insert(
    tx: &mut PgTx<'_>,
    account: AccountId,
    arrivals: &[&NewArrival],
) -> Result<Vec<Option<(Conversation, Message)>>, StoreError> {
    let conversation_ids: Vec<Uuid> = arrivals.iter().map(|_| Uuid::now_v7()).collect();
    let message_ids: Vec<Uuid> = arrivals.iter().map(|_| Uuid::now_v7()).collect();
    let rows = sqlx::query(concat!(
        "WITH arrival AS ( \
             SELECT * FROM unnest($3::uuid[], $4::text[], $5::text[], $6::text[], \
                                  $7::uuid[], $8::uuid[], $9::uuid[]) \
                 AS a(inbox_id, handle, contact_name, body, contact_id, conversation_id, \
                      message_id)), \
         contact AS ( \
             INSERT INTO contacts (id, account_id, handle, name, created_at) \
             SELECT contact_id, $2, handle, contact_name, ",
        sql::stamp!(postgres),
        " FROM arrival ORDER BY handle \
             ON CONFLICT (account_id, handle) \
             DO UPDATE SET name = COALESCE(EXCLUDED.name, contacts.name) \
             RETURNING id, handle, name), \
         created AS ( \
             INSERT INTO conversations \
                 (id, account_id, inbox_id, contact_id, last_seq, last_message_at, created_at) \
             SELECT a.conversation_id, $2, a.inbox_id, k.id, 1, ",
        sql::stamp!(postgres),
        ", ",
        sql::stamp!(postgres),
        " FROM arrival a JOIN contact k ON k.handle = a.handle ORDER BY a.handle \
             ON CONFLICT (inbox_id, contact_id) DO NOTHING \
             RETURNING id, contact_id, last_message_at), \
         stored AS ( \
             INSERT INTO messages (conversation_id, seq, id, direction, body, created_at) \
             SELECT c.id, 1, a.message_id, 'inbound', a.body, c.last_message_at \
             FROM created c JOIN arrival a ON a.conversation_id = c.id) \
         SELECT c.id, c.last_message_at, k.id AS contact_id, k.handle AS contact_handle, \
                k.name AS contact_name \
         FROM created c JOIN contact k ON k.id = c.contact_id"
    ))
    .bind(tx.clock_param())
    .bind(account.as_uuid())
    .bind(
        arrivals
            .iter()
            .map(|a| a.inbox.as_uuid())
            .collect::<Vec<_>>(),
    )
    .bind(
        arrivals
            .iter()
            .map(|a| a.handle.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        arrivals
            .iter()
            .map(|a| a.contact_name.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(arrivals.iter().map(|a| a.body.as_str()).collect::<Vec<_>>())
    .bind(arrivals.iter().map(|_| Uuid::now_v7()).collect::<Vec<_>>())
    .bind(&conversation_ids)
    .bind(&message_ids)
    .fetch_all(&mut *tx.conn)
    .await
    .map_err(from_sqlx)?;

    let mut created: HashMap<Uuid, (DateTime<Utc>, Contact)> = HashMap::with_capacity(rows.len());
    for row in &rows {
        let contact = Contact {
            id: ContactId::from(row.uuid("contact_id")?),
            handle: row.text("contact_handle")?,
            name: row.opt_text("contact_name")?,
        };
        created.insert(row.uuid("id")?, (row.time("last_message_at")?, contact));
    }
    Ok(arrivals
        .iter()
        .zip(conversation_ids.iter().zip(&message_ids))
        .map(|(arrival, (id, message_id))| {
            let (at, contact) = created.remove(id)?;
            let id = ConversationId::from(*id);
            Some((
                Conversation {
                    id,
                    account_id: account,
                    inbox_id: arrival.inbox,
                    contact,
                    status: ConversationStatus::Open,
                    assignee: None,
                    answered_by: None,
                    answered_epoch: 0,
                    queue_position: None,
                    last_seq: 1,
                    last_message_at: Some(at),
                },
                Message {
                    id: MessageId::from(*message_id),
                    conversation_id: id,
                    seq: 1,
                    direction: Direction::Inbound,
                    author: None,
                    body: arrival.body.clone(),
                    created_at: at,
                },
            ))
        })
        .collect())
}

impl ArrivalTx for PgTx<'_> {
    async fn snapshot(
        &mut self,
        account: AccountId,
        inboxes: &[InboxId],
    ) -> Result<Snapshot, StoreError> {
        self.advisory_lock(account).await?;
        // one row per agent (one with no agent when there are none), each
        // with the clock, the queue and the inboxes' teams
        let rows = sqlx::query(concat!(
            "SELECT s.now, s.queued, s.last_key, s.inbox_ids, s.inbox_teams, \
                    u.id, u.account_id, u.name, u.capacity, u.availability, \
                    u.last_assigned_at, u.online, u.load \
             FROM (SELECT ",
            clock_millis!(),
            " AS now, \
                          (SELECT count(*) FROM conversations q \
                            WHERE q.account_id = $2 AND q.queue_key IS NOT NULL) AS queued, \
                          (SELECT COALESCE(max(q.queue_key), 0) FROM conversations q \
                            WHERE q.account_id = $2 AND q.queue_key IS NOT NULL) AS last_key, \
                          t.inbox_ids, t.inbox_teams \
                   FROM accounts a, \
                        LATERAL (SELECT array_agg(i.id ORDER BY i.id) AS inbox_ids, \
                                        array_agg(i.team_id ORDER BY i.id) AS inbox_teams \
                                 FROM inboxes i \
                                 WHERE i.id = ANY($3) AND i.account_id = $2) t \
                   WHERE a.id = $2) s \
             LEFT JOIN (",
            sql::agent_select!(postgres),
            "AND u.account_id = $2) u ON true \
             ORDER BY u.id"
        ))
        .bind(self.clock_param())
        .bind(account.as_uuid())
        .bind(inboxes.iter().map(InboxId::as_uuid).collect::<Vec<_>>())
        .fetch_all(&mut *self.conn)
        .await
        .map_err(from_sqlx)?;
        let first = rows.first().ok_or(StoreError::NotFound)?;
        let ids: Option<Vec<Uuid>> = first.try_get("inbox_ids").map_err(from_sqlx)?;
        let teams: Option<Vec<Option<Uuid>>> = first.try_get("inbox_teams").map_err(from_sqlx)?;
        let mut agents = Vec::with_capacity(rows.len());
        for row in &rows {
            if row.opt_uuid("id")?.is_some() {
                agents.push(rows::agent(row)?);
            }
        }
        Ok(Snapshot {
            now: first.int("now")?,
            agents,
            queued: u64::try_from(first.int("queued")?).unwrap_or(0),
            last_key: first.int("last_key")?,
            teams: ids
                .unwrap_or_default()
                .into_iter()
                .zip(teams.unwrap_or_default())
                .map(|(inbox, team)| (InboxId::from(inbox), team.map(TeamId::from)))
                .collect(),
        })
    }

    async fn place_all(
        &mut self,
        placed: &[(ConversationId, Slot)],
        when: i64,
    ) -> Result<(), StoreError> {
        let ids: Vec<Uuid> = placed.iter().map(|(id, _)| id.as_uuid()).collect();
        let agents: Vec<Option<Uuid>> = placed
            .iter()
            .map(|(_, slot)| match slot {
                Slot::Agent(agent) => Some(agent.as_uuid()),
                Slot::Queue(_) => None,
            })
            .collect();
        let keys: Vec<Option<i64>> = placed
            .iter()
            .map(|(_, slot)| match slot {
                Slot::Agent(_) => None,
                Slot::Queue(key) => Some(*key),
            })
            .collect();
        let mut assigned: Vec<Uuid> = agents.iter().flatten().copied().collect();
        assigned.sort_unstable();
        assigned.dedup();
        sqlx::query(
            "WITH placed AS ( \
                 UPDATE conversations c \
                 SET status = 'open', assignee_id = p.agent, queue_key = p.key \
                 FROM unnest($1::uuid[], $2::uuid[], $3::bigint[]) AS p(id, agent, key) \
                 WHERE c.id = p.id \
                 RETURNING c.id, p.agent), \
             marked AS (UPDATE users SET last_assigned_at = $4 WHERE id = ANY($5)) \
             INSERT INTO assignment_log (conversation_id, kind, assignee_id, actor_id, at) \
             SELECT id, 'auto', agent, NULL, $4 FROM placed WHERE agent IS NOT NULL",
        )
        .bind(ids)
        .bind(agents)
        .bind(keys)
        .bind(at(when)?)
        .bind(assigned)
        .execute(&mut *self.conn)
        .await
        .map(drop)
        .map_err(from_sqlx)
    }
}
