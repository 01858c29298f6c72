//! Which conversations each fanout observer connection watches.
//!
//! An agent's console watches several conversations on one connection, and
//! that is where a server can put several frames in one write; `--watch W`
//! models it. Every conversation keeps exactly `observers` (M) observers, so
//! the offered load stays conversations × rate × M whatever W is; only the
//! number of connections carrying it changes: K × M ÷ W.
//!
//! Observer *slots* are numbered in rounds over the conversations (slot `s`
//! is conversation `s mod K`) and connection `i` takes the W consecutive
//! slots from `i × W`. W consecutive slots are W different conversations as
//! long as W ≤ K, and the M slots of one conversation are K ≥ W apart, so
//! they fall in M different connections. When K × M is not a multiple of W
//! the last connection takes the slots left over (fewer than W), so no
//! conversation gets an extra observer.

/// Checks that `watch` conversations per connection can be distinct.
pub fn check(conversations: usize, watch: usize) -> anyhow::Result<()> {
    if watch == 0 {
        anyhow::bail!("--watch must be at least 1");
    }
    if watch > conversations {
        anyhow::bail!(
            "--watch {watch} is more than the {conversations} conversations: \
             a connection cannot watch one conversation twice"
        );
    }
    Ok(())
}

/// Observer connections: K × M ÷ W, rounded up (the last one watches fewer).
pub fn observer_connections(conversations: usize, observers: usize, watch: usize) -> usize {
    (conversations * observers).div_ceil(watch.max(1))
}

/// For each observer connection, the indices of the conversations it
/// watches, in the order it joins them.
pub fn observer_watches(
    conversations: usize,
    observers: usize,
    watch: usize,
) -> anyhow::Result<Vec<Vec<usize>>> {
    check(conversations, watch)?;
    let slots = conversations * observers;
    Ok((0..observer_connections(conversations, observers, watch))
        .map(|i| {
            (i * watch..((i + 1) * watch).min(slots))
                .map(|slot| slot % conversations)
                .collect()
        })
        .collect())
}

/// Which of `users` signs in observer connection `connection` of
/// `connections`: in blocks, so that the M observers of a conversation,
/// about K ÷ W connections apart, are mostly different users.
pub fn observer_user(connection: usize, connections: usize, users: usize) -> usize {
    if connections == 0 || users == 0 {
        return 0;
    }
    connection * users / connections
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Every conversation has exactly M observers, on M distinct
    /// connections; every connection watches W distinct conversations
    /// (the last one possibly fewer, and only when W does not divide K × M).
    fn assert_assignment(k: usize, m: usize, w: usize) {
        let watches = observer_watches(k, m, w).unwrap();
        assert_eq!(watches.len(), observer_connections(k, m, w));
        let mut observers_of = vec![Vec::new(); k];
        for (i, conversations) in watches.iter().enumerate() {
            let distinct: BTreeSet<_> = conversations.iter().collect();
            assert_eq!(
                distinct.len(),
                conversations.len(),
                "k={k} m={m} w={w} i={i}"
            );
            if i + 1 < watches.len() || (k * m).is_multiple_of(w) {
                assert_eq!(conversations.len(), w, "k={k} m={m} w={w} i={i}");
            } else {
                assert_eq!(conversations.len(), (k * m) % w, "k={k} m={m} w={w}");
            }
            for &c in conversations {
                observers_of[c].push(i);
            }
        }
        for (c, connections) in observers_of.iter().enumerate() {
            let distinct: BTreeSet<_> = connections.iter().collect();
            assert_eq!(connections.len(), m, "k={k} m={m} w={w} c={c}");
            assert_eq!(distinct.len(), m, "k={k} m={m} w={w} c={c}");
        }
    }

    #[test]
    fn every_conversation_gets_m_distinct_observers_and_every_connection_w_conversations() {
        for k in 1..=24 {
            for m in 1..=12 {
                for w in 1..=k {
                    assert_assignment(k, m, w);
                }
            }
        }
        // The benchmark's shapes.
        for (k, m, w) in [(50, 10, 1), (100, 10, 10), (400, 10, 10), (1600, 10, 10)] {
            assert_assignment(k, m, w);
        }
    }

    #[test]
    fn one_conversation_per_connection_is_the_old_shape() {
        let watches = observer_watches(3, 2, 1).unwrap();
        assert_eq!(
            watches,
            vec![vec![0], vec![1], vec![2], vec![0], vec![1], vec![2]]
        );
    }

    #[test]
    fn a_connection_watches_consecutive_conversations_wrapping_around() {
        let watches = observer_watches(5, 2, 3).unwrap();
        assert_eq!(
            watches,
            vec![vec![0, 1, 2], vec![3, 4, 0], vec![1, 2, 3], vec![4]]
        );
        assert_eq!(observer_connections(5, 2, 3), 4);
    }

    #[test]
    fn watching_more_than_there_is_or_nothing_is_refused() {
        assert!(observer_watches(3, 2, 4).is_err());
        assert!(observer_watches(3, 2, 0).is_err());
        assert!(check(3, 3).is_ok());
    }

    #[test]
    fn observers_of_a_conversation_are_different_users_when_there_are_enough() {
        // The default 20 observer users, for the benchmark's shapes.
        for (k, m, w) in [(50, 10, 1), (100, 10, 1), (100, 10, 10), (400, 10, 10)] {
            let watches = observer_watches(k, m, w).unwrap();
            let n = watches.len();
            let users = 20.min(n);
            let mut users_of = vec![BTreeSet::new(); k];
            for (i, conversations) in watches.iter().enumerate() {
                for &c in conversations {
                    users_of[c].insert(observer_user(i, n, users));
                }
            }
            assert!(users_of.iter().all(|u| u.len() == m), "k={k} m={m} w={w}");
        }
        assert_eq!(observer_user(49, 50, 20), 19);
        assert_eq!(observer_user(0, 0, 20), 0);
    }
}
