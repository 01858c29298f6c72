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
//! reading; on every other thread both make the real system call. A seeded
//! run gets a thread of its own, so the hash keys std draws once per
//! thread are the seed's too. One thing outlives a run inside a process:
//! the uuid crate's process-wide context for v7 ids (the last timestamp
//! and its counter), so a run replays exactly in a process of its own, and
//! the simulation runs each seed in one.
//!
//! Only the simulation's test binaries link this crate; the server never
//! does.

#![allow(unsafe_code)]

use std::cell::Cell;

use crate::rng::splitmix64;

/// Where a seeded run's wall clock starts: 2026-01-01T00:00:00Z, in ns.
const EPOCH_NS: i64 = 1_767_225_600_000_000_000;
/// How far the wall clock moves per reading.
const TICK_NS: i64 = 1_000;

thread_local! {
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
            CHANCE.with(|c| c.set(Some(seed)));
            WALL.with(|w| w.set(EPOCH_NS));
            run()
        })
        .expect("a thread for the run");
    match thread.join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Runs `run` on a thread of its own while this one waits, and returns
/// what it returns (a panic in it panics here). If this thread is seeded,
/// so is that one, from this one's next number, and its wall clock goes on
/// from this one's (and this one's goes on from where that one's stopped),
/// so that what it draws follows the seed too.
pub fn on_a_thread_of_the_run<T: Send>(run: impl FnOnce() -> T + Send) -> T {
    let seed = seeded_u64();
    let wall = WALL.with(Cell::get);
    let (value, wall) = std::thread::scope(|scope| {
        let thread = scope.spawn(move || {
            CHANCE.with(|c| c.set(seed));
            WALL.with(|w| w.set(wall));
            let value = run();
            (value, WALL.with(Cell::get))
        });
        match thread.join() {
            Ok(done) => done,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    });
    if seed.is_some() {
        WALL.with(|w| w.set(wall));
    }
    value
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
    CHANCE.with(|c| c.get().is_some())
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
