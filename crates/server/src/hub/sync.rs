//! The primitives the hub's shared structures are built on: the outboxes
//! (a mutex and two wake-ups per connection), the connection index and
//! the room map (concurrent maps). In the server they are parking_lot's
//! mutex, DashMap and tokio's `Notify`. Built with the `shuttle` feature
//! they are the shuttle model checker's, or built on its, so that its
//! scheduler tries the interleavings of their operations in the hub's
//! concurrency tests (`hub/interleavings.rs`). Only the operations the hub
//! uses are given, with the server's meaning.

#[cfg(not(feature = "shuttle"))]
pub use dashmap::{DashMap as Map, Entry};
#[cfg(not(feature = "shuttle"))]
pub use parking_lot::Mutex;
#[cfg(not(feature = "shuttle"))]
pub use std::sync::atomic::{AtomicBool, AtomicU64};
#[cfg(not(feature = "shuttle"))]
pub use tokio::sync::Notify;

#[cfg(feature = "shuttle")]
pub use checked::{AtomicBool, AtomicU64, Entry, Map, Mutex, Notify};

#[cfg(feature = "shuttle")]
mod checked {
    use std::collections::HashMap;
    use std::future::Future;
    use std::hash::Hash;
    use std::ops::{Deref, DerefMut};
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};

    pub use shuttle::sync::atomic::{AtomicBool, AtomicU64};

    /// A mutex with parking_lot's shape (no poisoning) over shuttle's.
    #[derive(Debug)]
    pub struct Mutex<T>(shuttle::sync::Mutex<T>);

    impl<T: Default> Default for Mutex<T> {
        fn default() -> Self {
            Self::new(T::default())
        }
    }

    impl<T> Mutex<T> {
        pub fn new(value: T) -> Self {
            Self(shuttle::sync::Mutex::new(value))
        }

        pub fn lock(&self) -> shuttle::sync::MutexGuard<'_, T> {
            self.0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
        }
    }

    /// tokio's `Notify` as the hub uses it: `notify_one` wakes the waiter,
    /// or leaves one permit for the next `notified` when none waits.
    #[derive(Debug, Default)]
    pub struct Notify(shuttle::sync::Mutex<(bool, Vec<Waker>)>);

    impl Notify {
        pub fn new() -> Self {
            Self::default()
        }

        pub fn notify_one(&self) {
            let mut state = self.0.lock().unwrap();
            state.0 = true;
            if let Some(waker) = state.1.pop() {
                waker.wake();
            }
        }

        pub fn notified(&self) -> Notified<'_> {
            Notified(self)
        }
    }

    #[derive(Debug)]
    pub struct Notified<'a>(&'a Notify);

    impl Future for Notified<'_> {
        type Output = ();

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            let mut state = (self.0).0.lock().unwrap();
            if std::mem::take(&mut state.0) {
                return Poll::Ready(());
            }
            state.1.push(cx.waker().clone());
            Poll::Pending
        }
    }

    /// DashMap's operations, each atomic, over one shuttle mutex: every
    /// operation is a point where the checker may switch tasks. A guard
    /// holds the whole map (DashMap holds one shard), so a test that takes
    /// two guards at once may see a deadlock the server cannot have; the
    /// hub never does.
    #[derive(Debug)]
    pub struct Map<K, V>(shuttle::sync::Mutex<HashMap<K, V>>);

    impl<K, V> Default for Map<K, V> {
        fn default() -> Self {
            Self(shuttle::sync::Mutex::new(HashMap::new()))
        }
    }

    type Guard<'a, K, V> = shuttle::sync::MutexGuard<'a, HashMap<K, V>>;

    /// One entry, the map held.
    #[derive(Debug)]
    pub struct RefMut<'a, K: Hash + Eq, V> {
        map: Guard<'a, K, V>,
        key: K,
    }

    impl<K: Hash + Eq, V> Deref for RefMut<'_, K, V> {
        type Target = V;

        fn deref(&self) -> &V {
            &self.map[&self.key]
        }
    }

    impl<K: Hash + Eq, V> DerefMut for RefMut<'_, K, V> {
        fn deref_mut(&mut self) -> &mut V {
            self.map.get_mut(&self.key).expect("the entry is held")
        }
    }

    pub enum Entry<'a, K: Hash + Eq, V> {
        Occupied(OccupiedEntry<'a, K, V>),
        Vacant(VacantEntry<'a, K, V>),
    }

    pub struct OccupiedEntry<'a, K: Hash + Eq, V>(RefMut<'a, K, V>);
    pub struct VacantEntry<'a, K: Hash + Eq, V>(Guard<'a, K, V>, K);

    impl<'a, K: Hash + Eq + Clone, V> Entry<'a, K, V> {
        pub fn or_insert(self, value: V) -> RefMut<'a, K, V> {
            match self {
                Self::Occupied(occupied) => occupied.0,
                Self::Vacant(vacant) => vacant.insert_ref(value),
            }
        }

        pub fn or_default(self) -> RefMut<'a, K, V>
        where
            V: Default,
        {
            self.or_insert(V::default())
        }
    }

    impl<K: Hash + Eq, V> OccupiedEntry<'_, K, V> {
        pub fn get(&self) -> &V {
            &self.0
        }
    }

    impl<'a, K: Hash + Eq + Clone, V> VacantEntry<'a, K, V> {
        pub fn insert(self, value: V) {
            self.insert_ref(value);
        }

        fn insert_ref(self, value: V) -> RefMut<'a, K, V> {
            let Self(mut map, key) = self;
            map.insert(key.clone(), value);
            RefMut { map, key }
        }
    }

    impl<K: Hash + Eq + Clone, V: Clone> Map<K, V> {
        fn lock(&self) -> Guard<'_, K, V> {
            self.0.lock().unwrap()
        }

        pub fn entry(&self, key: K) -> Entry<'_, K, V> {
            let map = self.lock();
            if map.contains_key(&key) {
                Entry::Occupied(OccupiedEntry(RefMut { map, key }))
            } else {
                Entry::Vacant(VacantEntry(map, key))
            }
        }

        pub fn get(&self, key: &K) -> Option<RefMut<'_, K, V>> {
            self.get_mut(key)
        }

        pub fn get_mut(&self, key: &K) -> Option<RefMut<'_, K, V>> {
            let map = self.lock();
            map.contains_key(key).then(|| RefMut {
                map,
                key: key.clone(),
            })
        }

        pub fn insert(&self, key: K, value: V) -> Option<V> {
            self.lock().insert(key, value)
        }

        pub fn remove(&self, key: &K) -> Option<(K, V)> {
            self.lock().remove_entry(key)
        }

        pub fn remove_if(&self, key: &K, f: impl FnOnce(&K, &V) -> bool) -> Option<(K, V)> {
            let mut map = self.lock();
            match map.get_key_value(key) {
                Some((k, v)) if f(k, v) => map.remove_entry(key),
                _ => None,
            }
        }

        pub fn contains_key(&self, key: &K) -> bool {
            self.lock().contains_key(key)
        }

        pub fn len(&self) -> usize {
            self.lock().len()
        }

        /// Every entry as it is now (DashMap's walks its shards one after
        /// another, each as it is when reached).
        pub fn iter(&self) -> std::vec::IntoIter<Item<K, V>> {
            let items: Vec<Item<K, V>> = self
                .lock()
                .iter()
                .map(|(k, v)| Item(k.clone(), v.clone()))
                .collect();
            items.into_iter()
        }
    }

    /// An entry of [`Map::iter`].
    #[derive(Debug)]
    pub struct Item<K, V>(K, V);

    impl<K, V> Item<K, V> {
        pub fn key(&self) -> &K {
            &self.0
        }

        pub fn value(&self) -> &V {
            &self.1
        }
    }

    impl<K, V> Deref for Item<K, V> {
        type Target = V;

        fn deref(&self) -> &V {
            &self.1
        }
    }
}
