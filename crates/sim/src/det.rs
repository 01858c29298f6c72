//! Runs that a seed decides entirely, real server code included.
//!
//! The server draws chance where a simulation cannot reach it: the keys of
//! every `HashMap` and `DashMap` (so the order their entries are walked
//! in), the random half of every id (`Uuid::now_v7`), and tokio's choice of
//! branch in `select!` all come from the `getrandom` system call, and the
//! time half of every id and record from `clock_gettime(CLOCK_REALTIME)`.
//! This module stands in for both C functions in the binary it is linked
//! into (the libc symbols are found here first): on a thread running a
//! seeded run ([`run_seeded`]), `getrandom` fills from the seed and the
//! wall clock starts at a fixed instant and moves one microsecond per
//! reading. A thread the run's code starts (the store's writer, say) is
//! seeded too, at its first draw, from the run's seed, its name and its
//! rank among the threads of that name; threads that drew before the run
//! (the test harness's) keep making the real system calls. A seeded run
//! gets a thread of its own, so the hash keys std draws once per thread
//! are the seed's too. One thing outlives a run inside a process:
//! the uuid crate's process-wide context for v7 ids (the last timestamp
//! and its counter), so a run replays exactly in a process of its own, and
//! the simulation runs each seed in one.
//!
//! Only the simulation's test binaries link this crate; the server never
//! does.

#![allow(unsafe_code)]

use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::rng::splitmix64;

/// Where a seeded run's wall clock starts: 2026-01-01T00:00:00Z, in ns.
const EPOCH_NS: i64 = 1_767_225_600_000_000_000;
/// How far the wall clock moves per reading.
const TICK_NS: i64 = 1_000;

/// The seed of the run under way in this process (0: none). A thread that
/// first draws chance or reads the wall clock while a run is under way (one
/// the run's code started: the store's writer, say) is seeded from it, its
/// name, and how many threads of that name were seeded before it, so that
/// what it draws follows the seed too, whenever it happens to start.
static RUN: AtomicU64 = AtomicU64::new(0);
/// Threads seeded from the run so far, by name.
static INHERITED: Mutex<BTreeMap<String, u64>> = Mutex::new(BTreeMap::new());

thread_local! {
    /// Whether this thread has decided between the seed and the kernel.
    static DECIDED: Cell<bool> = const { Cell::new(false) };
    /// The seeded generator's state, on a seeded run's thread.
    static CHANCE: Cell<Option<u64>> = const { Cell::new(None) };
    /// The seeded run's wall clock, in ns since the Unix epoch.
    static WALL: Cell<i64> = const { Cell::new(EPOCH_NS) };
}

/// Runs `run` on a fresh thread whose randomness and wall clock follow
/// `seed`, and returns what it returns (a panic in it panics here).
pub fn run_seeded<T: Send + 'static>(seed: u64, run: impl FnOnce() -> T + Send + 'static) -> T {
    let thread = std::thread::Builder::new()
        .name(format!("seed-{seed}"))
        .spawn(move || {
            DECIDED.with(|d| d.set(true));
            CHANCE.with(|c| c.set(Some(seed)));
            WALL.with(|w| w.set(EPOCH_NS));
            RUN.store(seed | 1 << 63, Ordering::SeqCst);
            let value = run();
            RUN.store(0, Ordering::SeqCst);
            value
        })
        .expect("a thread for the run");
    match thread.join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// The seed's next number, if this thread is seeded.
fn seeded_u64() -> Option<u64> {
    CHANCE.with(|c| {
        let mut state = c.get()?;
        let next = splitmix64(&mut state);
        c.set(Some(state));
        Some(next)
    })
}

fn is_seeded() -> bool {
    if !DECIDED.with(Cell::get) {
        DECIDED.with(|d| d.set(true));
        let run = RUN.load(Ordering::SeqCst);
        if run != 0 {
            CHANCE.with(|c| c.set(Some(inherited_seed(run))));
            WALL.with(|w| w.set(EPOCH_NS));
        }
    }
    CHANCE.with(|c| c.get().is_some())
}

/// The seed of a thread that started during the run `run`: from the run's
/// seed, the thread's name and its rank among the threads of that name.
fn inherited_seed(run: u64) -> u64 {
    let name = std::thread::current().name().unwrap_or("").to_owned();
    let mut state = run;
    for byte in name.bytes() {
        state = state.rotate_left(8) ^ u64::from(byte);
        splitmix64(&mut state);
    }
    let mut inherited = INHERITED.lock().unwrap_or_else(PoisonError::into_inner);
    let rank = inherited.entry(name).or_insert(0);
    *rank += 1;
    state ^= *rank;
    splitmix64(&mut state)
}

/// `getrandom(2)`: the seed's bytes on a seeded thread, else the kernel's.
///
/// # Safety
/// As the C function: `buf` is valid for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn getrandom(buf: *mut u8, len: usize, flags: u32) -> isize {
    if !is_seeded() {
        // SAFETY: the caller's buffer, passed on as the C function would.
        return unsafe { libc::syscall(libc::SYS_getrandom, buf, len, flags) as isize };
    }
    let mut filled = 0;
    while filled < len {
        let bytes = seeded_u64().unwrap_or_default().to_le_bytes();
        let n = bytes.len().min(len - filled);
        // SAFETY: `filled + n <= len`, within the caller's buffer.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.add(filled), n) };
        filled += n;
    }
    len as isize
}

/// `clock_gettime(2)`: on a seeded thread, the run's own wall clock for
/// `CLOCK_REALTIME`; every other clock, and every other thread, the kernel's.
///
/// # Safety
/// As the C function: `tp` points to a writable `timespec`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn clock_gettime(clock: libc::clockid_t, tp: *mut libc::timespec) -> i32 {
    if clock == libc::CLOCK_REALTIME && is_seeded() {
        let now = WALL.with(|w| {
            let now = w.get();
            w.set(now + TICK_NS);
            now
        });
        // SAFETY: the caller's timespec.
        unsafe {
            (*tp).tv_sec = now / 1_000_000_000;
            (*tp).tv_nsec = now % 1_000_000_000;
        }
        return 0;
    }
    // SAFETY: the caller's timespec, passed on as the C function would.
    unsafe { libc::syscall(libc::SYS_clock_gettime, clock, tp) as i32 }
}
