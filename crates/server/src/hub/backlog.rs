//! The messages a `join` ack carries, bounded by count and by bytes.
//!
//! A join ack is one frame pushed onto the joiner's outbox, and an outbox
//! fuller than its byte limit closes its connection as a slow reader. A
//! backlog of large messages would make the ack itself overflow, every
//! time, and the reconnect procedure is exactly that join: the client
//! could never catch up. So a page stops before its messages would pass a
//! byte budget (a share of the outbox), whatever their count, and says it
//! is incomplete; the client joins again from the last seq it got.

use std::io;

use switchboard_core::ConversationId;
use switchboard_core::error::StoreError;
use switchboard_core::model::Message;
use switchboard_core::ports::Store;

use crate::mapping;

/// `join` without `after_seq` returns at most this many of the newest messages.
const RECENT_MESSAGES: u32 = 50;
/// `join` with `after_seq` returns at most this many.
const CATCH_UP_LIMIT: usize = 500;
/// Messages read from the store at once while a page fills: a page of
/// large messages stops long before the count limit, and should not have
/// read hundreds of bodies it leaves out.
const READ_BATCH: u32 = 50;

/// The messages of one ack, within a count and a byte budget.
#[derive(Debug)]
struct Page {
    messages: Vec<Message>,
    bytes: usize,
    budget: usize,
    limit: usize,
}

impl Page {
    fn new(limit: usize, budget: usize) -> Self {
        Self {
            messages: Vec::new(),
            bytes: 0,
            budget,
            limit,
        }
    }

    /// Adds `message` if it fits; returns whether it did. The first message
    /// always fits: the outbox holds at least one frame of the largest
    /// size (`Config::validate`), and a page that could be empty would
    /// never let its client past that message.
    fn add(&mut self, message: Message) -> bool {
        let size = encoded_len(&message);
        let fits = self.messages.is_empty()
            || (self.messages.len() < self.limit && self.bytes + size <= self.budget);
        if fits {
            self.bytes += size;
            self.messages.push(message);
        }
        fits
    }
}

/// The messages after `after_seq`, oldest first, as many as fit in
/// `budget` bytes (and [`CATCH_UP_LIMIT`]); whether they were all of them.
pub(super) async fn after(
    store: &dyn Store,
    id: ConversationId,
    after_seq: u64,
    budget: usize,
) -> Result<(Vec<Message>, bool), StoreError> {
    let mut page = Page::new(CATCH_UP_LIMIT, budget);
    let mut cursor = after_seq;
    loop {
        let batch = store.messages_after(id, cursor, READ_BATCH).await?;
        let last_batch = batch.len() < READ_BATCH as usize;
        for message in batch {
            cursor = message.seq;
            if !page.add(message) {
                return Ok((page.messages, false));
            }
        }
        if last_batch {
            return Ok((page.messages, true));
        }
    }
}

/// The newest messages, oldest first: at most [`RECENT_MESSAGES`], and
/// the newest of them that fit in `budget` bytes.
pub(super) async fn recent(
    store: &dyn Store,
    id: ConversationId,
    budget: usize,
) -> Result<Vec<Message>, StoreError> {
    let mut page = Page::new(RECENT_MESSAGES as usize, budget);
    for message in store
        .recent_messages(id, RECENT_MESSAGES)
        .await?
        .into_iter()
        .rev()
    {
        if !page.add(message) {
            break;
        }
    }
    page.messages.reverse();
    Ok(page.messages)
}

/// What `message` adds to an ack: its wire form with the body (the larger
/// of the two a receiver may get) and the comma before it.
fn encoded_len(message: &Message) -> usize {
    let mut counter = ByteCount(1);
    // Serializing our own type into a counter cannot fail; if it did, the
    // count so far still bounds what is known.
    let _ = serde_json::to_writer(&mut counter, &mapping::message(message, true));
    counter.0
}

/// A writer that only counts.
struct ByteCount(usize);

impl io::Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::model::Direction;
    use switchboard_core::{ConversationId, MessageId};

    fn message(seq: u64, body: &str) -> Message {
        Message {
            id: MessageId::new(),
            conversation_id: ConversationId::new(),
            seq,
            direction: Direction::Inbound,
            author: None,
            body: body.into(),
            created_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn the_size_is_the_encoded_size_with_escapes() {
        let m = message(1, "a\"b\u{1}");
        let wire = serde_json::to_string(&mapping::message(&m, true)).unwrap();
        assert_eq!(encoded_len(&m), wire.len() + 1);
        assert!(wire.len() > m.body.len() + 6, "escapes are counted");
    }

    #[test]
    fn a_page_stops_at_its_budget_and_at_its_count() {
        let size = encoded_len(&message(1, &"x".repeat(1000)));
        let mut page = Page::new(10, 3 * size);
        let added = (1..=5)
            .take_while(|seq| page.add(message(*seq, &"x".repeat(1000))))
            .count();
        assert_eq!(added, 3);
        let mut page = Page::new(2, usize::MAX);
        assert!(page.add(message(1, "a")) && page.add(message(2, "b")));
        assert!(!page.add(message(3, "c")));
    }

    #[test]
    fn the_first_message_fits_whatever_its_size() {
        let mut page = Page::new(10, 10);
        assert!(page.add(message(1, &"x".repeat(1000))));
        assert!(!page.add(message(2, "y")));
        assert_eq!(page.messages.len(), 1);
    }
}
