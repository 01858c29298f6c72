//! What a worker's connections share: the phase, the measure window, and
//! the counters and histograms they fill.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use hdrhistogram::Histogram;
use tokio::sync::watch;

use super::End;
use crate::clock::{Window, now_ns};
use crate::histo;
use crate::plan::{FloodStats, MAX_NOTES, ScaleStats, WorkerStats};

/// Where the run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Connecting and setting up.
    Setup,
    /// Warm-up and measure window (the window is given).
    Run(Window),
    /// Everything ends.
    Stop,
}

/// `Some` when a connection waiting for the run should stop waiting.
pub(super) fn phase_outcome(phase: &watch::Receiver<Phase>) -> Option<Result<Window, End>> {
    match *phase.borrow() {
        Phase::Setup => None,
        Phase::Run(window) => Some(Ok(window)),
        Phase::Stop => Some(Err(End::Stopped)),
    }
}

/// Resolves once the worker is told to stop.
pub(super) async fn stopped(phase: &mut watch::Receiver<Phase>) {
    loop {
        if *phase.borrow_and_update() == Phase::Stop {
            return;
        }
        if phase.changed().await.is_err() {
            return;
        }
    }
}

/// Counters named like the fields of [`WorkerStats`].
#[derive(Debug, Default)]
pub struct Counters {
    pub attempted: AtomicU64,
    pub connected: AtomicU64,
    pub failed: AtomicU64,
    pub setup_failed: AtomicU64,
    pub open: AtomicU64,
    pub dropped: AtomicU64,
    pub first_attempt_ns: AtomicU64,
    pub last_connected_ns: AtomicU64,
    pub deliveries: AtomicU64,
    pub sends: AtomicU64,
    pub send_acks: AtomicU64,
    pub takes: AtomicU64,
    pub take_acks: AtomicU64,
    pub locked: AtomicU64,
    pub releases: AtomicU64,
    pub posts: AtomicU64,
    pub post_failures: AtomicU64,
    pub assigned: AtomicU64,
    pub retakes: AtomicU64,
    pub flood_frames: AtomicU64,
    pub flood_errors: AtomicU64,
    pub flood_reconnects: AtomicU64,
}

#[derive(Debug)]
pub struct Shared {
    pub index: usize,
    phase: watch::Receiver<Phase>,
    window_start: AtomicU64,
    window_end: AtomicU64,
    pub counters: Counters,
    errors: Mutex<BTreeMap<String, u64>>,
    notes: Mutex<Vec<String>>,
    histograms: Mutex<BTreeMap<&'static str, Histogram<u64>>>,
    /// Assigned posts per second of the window (`WorkerStats::assigned_by_second`).
    assigned_by_second: Mutex<Vec<u64>>,
    /// The scale part's presence checks.
    pub scale: Mutex<ScaleStats>,
}

impl Shared {
    pub fn new(index: usize, phase: watch::Receiver<Phase>) -> Self {
        Self {
            index,
            phase,
            window_start: AtomicU64::new(0),
            window_end: AtomicU64::new(0),
            counters: Counters::default(),
            errors: Mutex::default(),
            notes: Mutex::default(),
            histograms: Mutex::default(),
            assigned_by_second: Mutex::default(),
            scale: Mutex::default(),
        }
    }

    pub fn phase(&self) -> watch::Receiver<Phase> {
        self.phase.clone()
    }

    pub fn set_window(&self, window: Window) {
        self.window_end.store(window.end_ns, Ordering::SeqCst);
        self.window_start.store(window.start_ns, Ordering::SeqCst);
    }

    /// Whether `at_ns` falls in the measure window (false before it is set).
    pub fn in_window(&self, at_ns: u64) -> bool {
        let start = self.window_start.load(Ordering::Relaxed);
        start != 0 && at_ns >= start && at_ns < self.window_end.load(Ordering::Relaxed)
    }

    /// Adds one to `counter` if `at_ns` is in the window.
    pub fn count_at(&self, counter: &AtomicU64, at_ns: u64) {
        if self.in_window(at_ns) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts an assigned post started at `at_ns`, if in the window, in
    /// the total and in its second of the window.
    pub fn assigned_at(&self, at_ns: u64) {
        if !self.in_window(at_ns) {
            return;
        }
        self.counters.assigned.fetch_add(1, Ordering::Relaxed);
        let second = (at_ns - self.window_start.load(Ordering::Relaxed)) / 1_000_000_000;
        let mut series = self
            .assigned_by_second
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let second = usize::try_from(second).unwrap_or(usize::MAX);
        if second >= series.len() {
            series.resize(second + 1, 0);
        }
        series[second] += 1;
    }

    /// Records a latency (ns) into the histogram `name` if `at_ns` is in the window.
    pub fn record_at(&self, name: &'static str, at_ns: u64, latency_ns: u64) {
        if self.in_window(at_ns) {
            let mut histograms = self.histograms.lock().unwrap_or_else(|e| e.into_inner());
            histo::record_ns(
                histograms.entry(name).or_insert_with(histo::new_histogram),
                latency_ns,
            );
        }
    }

    /// Counts an error frame received at `at_ns`, if in the window.
    pub fn error_at(&self, code: &str, at_ns: u64) {
        if self.in_window(at_ns) {
            let mut errors = self.errors.lock().unwrap_or_else(|e| e.into_inner());
            *errors.entry(code.to_owned()).or_default() += 1;
        }
    }

    pub fn note(&self, text: &str) {
        let mut notes = self.notes.lock().unwrap_or_else(|e| e.into_inner());
        if notes.len() < MAX_NOTES {
            notes.push(format!("worker {}: {text}", self.index));
        }
    }

    pub fn attempt(&self) {
        let now = now_ns();
        let _ = self.counters.first_attempt_ns.compare_exchange(
            0,
            now,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        self.counters.attempted.fetch_add(1, Ordering::Relaxed);
    }

    pub fn connect_failed(&self, why: &str) {
        self.counters.failed.fetch_add(1, Ordering::Relaxed);
        self.note(why);
    }

    pub fn connected(&self) {
        self.counters.connected.fetch_add(1, Ordering::Relaxed);
        self.counters.open.fetch_add(1, Ordering::Relaxed);
        self.counters
            .last_connected_ns
            .fetch_max(now_ns(), Ordering::Relaxed);
    }

    pub fn setup_failed(&self, why: &str) {
        self.counters.setup_failed.fetch_add(1, Ordering::Relaxed);
        self.note(why);
    }

    /// A connection's task ended; `lost`: the connection ended on its own.
    pub fn ended(&self, lost: bool) {
        self.counters.open.fetch_sub(1, Ordering::Relaxed);
        if lost {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn snapshot(&self) -> WorkerStats {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let nonzero = |v: u64| (v != 0).then_some(v);
        let histograms = self
            .histograms
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(name, h)| ((*name).to_owned(), histo::encode(h)))
            .collect();
        WorkerStats {
            attempted: get(&c.attempted),
            connected: get(&c.connected),
            failed: get(&c.failed),
            setup_failed: get(&c.setup_failed),
            open: get(&c.open),
            dropped: get(&c.dropped),
            first_attempt_ns: nonzero(get(&c.first_attempt_ns)),
            last_connected_ns: nonzero(get(&c.last_connected_ns)),
            deliveries: get(&c.deliveries),
            sends: get(&c.sends),
            send_acks: get(&c.send_acks),
            takes: get(&c.takes),
            take_acks: get(&c.take_acks),
            locked: get(&c.locked),
            releases: get(&c.releases),
            posts: get(&c.posts),
            post_failures: get(&c.post_failures),
            assigned: get(&c.assigned),
            assigned_by_second: self
                .assigned_by_second
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
            retakes: get(&c.retakes),
            flood: FloodStats {
                frames: get(&c.flood_frames),
                errors: get(&c.flood_errors),
                reconnects: get(&c.flood_reconnects),
            },
            scale: *self.scale.lock().unwrap_or_else(|e| e.into_inner()),
            errors: self
                .errors
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
            histograms,
            notes: self.notes.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        }
    }
}
