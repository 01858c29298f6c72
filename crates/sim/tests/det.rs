//! A seeded run decides what the server's code draws by itself: the order
//! its hash maps are walked in, its ids, the wall clock it reads, tokio's
//! `select!`. Each run here is a process of its own (this test binary,
//! started again for one seed), as the simulation runs its seeds: the same
//! seed twice gives the same, another seed another.

use std::collections::HashMap;
use std::process::Command;
use std::time::SystemTime;

use switchboard_core::ids::ConversationId;
use switchboard_sim::det::run_seeded;

/// Set in a child process: the seed whose run it prints.
const SEED_VAR: &str = "SWITCHBOARD_SIM_DET_SEED";
const MARK: &str = "observed: ";

/// What a run sees of the chance and time it does not control.
fn observe() -> String {
    let map: HashMap<u32, ()> = (0..32).map(|i| (i, ())).collect();
    let order: Vec<u32> = map.keys().copied().collect();
    let ids: Vec<ConversationId> = (0..4).map(|_| ConversationId::new()).collect();
    let times: Vec<SystemTime> = (0..4).map(|_| SystemTime::now()).collect();
    assert!(
        times.windows(2).all(|w| w[0] < w[1]),
        "the wall clock moves on"
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let picks = runtime.block_on(async {
        let mut picks = Vec::new();
        for _ in 0..16 {
            let (a, b) = (std::future::ready(0u8), std::future::ready(1u8));
            tokio::select! {
                x = a => picks.push(x),
                y = b => picks.push(y),
            }
        }
        picks
    });
    format!("{order:?} | {ids:?} | {times:?} | {picks:?}")
}

/// The child's side: prints what the seed's run observed.
#[test]
fn print_a_seeded_run() {
    if let Ok(seed) = std::env::var(SEED_VAR) {
        let seen = run_seeded(seed.parse().unwrap(), observe);
        eprintln!("{MARK}{seen}");
    }
}

/// Runs `seed` in a process of its own and returns what it observed.
fn in_a_process(seed: u64) -> String {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "print_a_seeded_run", "--nocapture"])
        .env(SEED_VAR, seed.to_string())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    stderr
        .lines()
        .find_map(|line| line.strip_prefix(MARK))
        .unwrap_or_else(|| panic!("no observation in {stderr}"))
        .to_owned()
}

#[test]
fn a_seed_decides_hash_order_ids_wall_clock_and_select() {
    let first = in_a_process(11);
    let again = in_a_process(11);
    let other = in_a_process(12);
    assert_eq!(first, again, "seed 11 twice");
    let parts = |s: &str| s.split(" | ").map(str::to_owned).collect::<Vec<_>>();
    let (first, other) = (parts(&first), parts(&other));
    assert_ne!(first[0], other[0], "hash order follows the seed");
    assert_ne!(first[1], other[1], "ids follow the seed");
    assert_eq!(
        first[2], other[2],
        "the wall clock starts at the same instant"
    );
    assert_ne!(first[3], other[3], "select! follows the seed");
}

#[test]
fn threads_outside_a_run_keep_the_kernels_chance_and_clock() {
    let (a, b) = (ConversationId::new(), ConversationId::new());
    assert_ne!(a, b);
    let year_2026 = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_767_225_600);
    assert!(
        SystemTime::now() > year_2026 + std::time::Duration::from_secs(86_400),
        "the real clock, not a run's"
    );
    let map: HashMap<u32, ()> = (0..32).map(|i| (i, ())).collect();
    assert_eq!(map.len(), 32);
}
