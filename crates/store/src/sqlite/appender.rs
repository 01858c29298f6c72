//! Outbound messages on SQLite, with group commit.
//!
//! Every append is one statement (invariant 1 in one atomic INSERT ...
//! SELECT: the fence on holder, epoch and lease, the next seq, the insert;
//! the trigger of migration 0002 bumps the conversation). Appends that arrive
//! while a commit is under way wait in a bounded queue and go together in the
//! next transaction, so that the pages they touch are written to the log
//! once per batch instead of once per message. Nobody is answered before the
//! transaction that holds their message committed.

use sqlx::{Sqlite, SqliteConnection, SqlitePool};
use switchboard_core::StoreError;
use switchboard_core::ids::{ConversationId, MessageId, UserId};
use switchboard_core::model::{Appended, Direction, Message, NewOutbound, UserRef};
use tokio::sync::{mpsc, oneshot};

use super::conversations::{conversation_exists, message_by_client_id};
use super::now_millis;
use crate::error::from_sqlx;
use crate::rows::{millis_to_time, signed, unsigned};

/// Appends waiting for the writer, at most.
const QUEUE: usize = 4096;
/// Appends in one transaction, at most.
const BATCH: usize = 256;

const INSERT: &str = "INSERT INTO messages \
     (conversation_id, seq, id, direction, author_id, body, client_msg_id, created_at) \
     SELECT id, last_seq + 1, $3, 'outbound', $2, $5, $6, $7 FROM conversations \
     WHERE id = $1 AND lock_holder = $2 AND lock_epoch = $4 AND lock_until > $7 \
     ON CONFLICT DO NOTHING \
     RETURNING seq, (SELECT name FROM users WHERE id = author_id)";

/// The handle the store keeps; the writer task ends when it is dropped.
#[derive(Debug, Clone)]
pub(super) struct Appender {
    queue: mpsc::Sender<Request>,
}

#[derive(Debug)]
struct Request {
    conversation_id: ConversationId,
    author: UserId,
    epoch: u64,
    client_msg_id: String,
    body: String,
    reply: oneshot::Sender<Result<Appended, StoreError>>,
}

/// What one statement did, before the commit decides.
enum Outcome {
    Stored(Message),
    /// The fence refused it, or the client_msg_id exists: told apart after.
    Refused,
}

impl Appender {
    pub(super) fn start(write: SqlitePool) -> Self {
        let (queue, requests) = mpsc::channel(QUEUE);
        tokio::spawn(writer(write, requests));
        Self { queue }
    }

    pub(super) async fn append(&self, new: NewOutbound<'_>) -> Result<Appended, StoreError> {
        let (reply, answer) = oneshot::channel();
        let request = Request {
            conversation_id: new.conversation_id,
            author: new.author,
            epoch: new.epoch,
            client_msg_id: new.client_msg_id.to_owned(),
            body: new.body.to_owned(),
            reply,
        };
        self.queue
            .send(request)
            .await
            .map_err(|_| StoreError::Unavailable("the sqlite writer stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the sqlite writer stopped".into()))?
    }
}

async fn writer(pool: SqlitePool, mut requests: mpsc::Receiver<Request>) {
    let mut batch = Vec::with_capacity(BATCH);
    while requests.recv_many(&mut batch, BATCH).await > 0 {
        let results = commit(&pool, &batch).await;
        for (request, result) in batch.drain(..).zip(results) {
            let _ = request.reply.send(result);
        }
    }
}

/// Runs a batch in one transaction. If anything but a refusal goes wrong,
/// nothing of the batch is committed and each append is tried on its own.
async fn commit(pool: &SqlitePool, batch: &[Request]) -> Vec<Result<Appended, StoreError>> {
    if batch.len() > 1 {
        match together(pool, batch).await {
            Ok(outcomes) => {
                let mut results = Vec::with_capacity(batch.len());
                for (request, outcome) in batch.iter().zip(outcomes) {
                    results.push(match outcome {
                        Outcome::Stored(message) => Ok(Appended::Stored(message)),
                        Outcome::Refused => match pool.acquire().await {
                            Ok(mut conn) => refusal(&mut conn, request).await,
                            Err(error) => Err(from_sqlx(error)),
                        },
                    });
                }
                return results;
            }
            Err(error) => tracing::debug!(%error, "batched append failed; appending one by one"),
        }
    }
    let mut results = Vec::with_capacity(batch.len());
    for request in batch {
        results.push(alone(pool, request).await);
    }
    results
}

async fn together(pool: &SqlitePool, batch: &[Request]) -> Result<Vec<Outcome>, StoreError> {
    let mut tx = pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(from_sqlx)?;
    let mut outcomes = Vec::with_capacity(batch.len());
    for request in batch {
        outcomes.push(insert(&mut tx, request).await?);
    }
    tx.commit().await.map_err(from_sqlx)?;
    Ok(outcomes)
}

async fn alone(pool: &SqlitePool, request: &Request) -> Result<Appended, StoreError> {
    let mut conn = pool.acquire().await.map_err(from_sqlx)?;
    match insert(&mut conn, request).await? {
        Outcome::Stored(message) => Ok(Appended::Stored(message)),
        Outcome::Refused => refusal(&mut conn, request).await,
    }
}

async fn insert(conn: &mut SqliteConnection, request: &Request) -> Result<Outcome, StoreError> {
    let Some(epoch) = signed(request.epoch) else {
        return Ok(Outcome::Refused);
    };
    let now = now_millis();
    let id = MessageId::new();
    let row: Option<(i64, Option<String>)> = sqlx::query_as::<Sqlite, _>(INSERT)
        .bind(request.conversation_id.as_uuid())
        .bind(request.author.as_uuid())
        .bind(id.as_uuid())
        .bind(epoch)
        .bind(&request.body)
        .bind(&request.client_msg_id)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await
        .map_err(from_sqlx)?;
    let Some((seq, author_name)) = row else {
        return Ok(Outcome::Refused);
    };
    Ok(Outcome::Stored(Message {
        id,
        conversation_id: request.conversation_id,
        seq: unsigned(seq, "seq")?,
        direction: Direction::Outbound,
        author: Some(UserRef {
            id: request.author,
            name: author_name.unwrap_or_default(),
        }),
        body: request.body.clone(),
        created_at: millis_to_time(now)?,
    }))
}

/// Why a write was refused: an acknowledged message with this
/// client_msg_id is returned even if the role has moved on since; otherwise
/// the fence refused it, or there is no such conversation.
async fn refusal(conn: &mut SqliteConnection, request: &Request) -> Result<Appended, StoreError> {
    if let Some(existing) =
        message_by_client_id(&mut *conn, request.conversation_id, &request.client_msg_id).await?
    {
        return Ok(Appended::Duplicate(existing));
    }
    if conversation_exists(&mut *conn, request.conversation_id).await? {
        Err(StoreError::Fenced)
    } else {
        Err(StoreError::NotFound)
    }
}
