//! Waiting for a quiet machine before a run: the share of the machine busy
//! over two seconds (`/proc/stat`), and who keeps it busy (`/proc/PID/stat`,
//! read with the name parsed the way that survives spaces).

use std::collections::HashMap;
use std::time::Duration;

use super::log::BenchLog;
use crate::procfs;

/// How long one reading of the machine lasts.
const SAMPLE: Duration = Duration::from_secs(2);
/// The pause between readings while waiting.
const PAUSE: Duration = Duration::from_secs(3);
/// How often (seconds waited) the busiest processes are shown.
const SHOW_EVERY_SECS: u64 = 60;

/// When the machine counts as quiet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quiet {
    /// Busy at most this share of the machine (percent).
    pub max_busy_pct: f64,
    /// Give up waiting (and run anyway) after this many seconds.
    pub wait_secs: u64,
}

/// The machine's busy share over [`SAMPLE`], and the three processes that
/// used the most CPU meanwhile (pid, percent of one core, name).
async fn sample() -> anyhow::Result<(f64, Vec<(u32, f64, String)>)> {
    let before = procfs::system_cpu()?;
    let ticks: HashMap<u32, u64> = procfs::all_processes()?
        .into_iter()
        .map(|(pid, _, ticks)| (pid, ticks))
        .collect();
    tokio::time::sleep(SAMPLE).await;
    let after = procfs::system_cpu()?;
    let per_sec = procfs::clock_ticks_per_second() as f64;
    let mut busiest: Vec<(u32, f64, String)> = procfs::all_processes()?
        .into_iter()
        .map(|(pid, name, now)| {
            // A process started during the sample used all its time in it
            // (compilers come and go within seconds).
            let used = now.saturating_sub(ticks.get(&pid).copied().unwrap_or(0));
            (
                pid,
                100.0 * used as f64 / per_sec / SAMPLE.as_secs_f64(),
                name,
            )
        })
        .collect();
    busiest.sort_by(|a, b| b.1.total_cmp(&a.1));
    busiest.truncate(3);
    Ok((before.busy_percent_until(&after), busiest))
}

/// Waits until nothing else keeps the machine busy, at most
/// `quiet.wait_secs`; then runs anyway (the run's steal and other CPU will
/// show it).
pub async fn wait(quiet: Quiet, log: &BenchLog) -> anyhow::Result<()> {
    let mut waited = 0;
    loop {
        let (busy, busiest) = sample().await?;
        if busy <= quiet.max_busy_pct {
            return Ok(());
        }
        if waited >= quiet.wait_secs {
            log.say(&format!(
                "  machine still {busy:.1}% busy after {waited} s; running anyway (the run will show it)"
            ));
            return Ok(());
        }
        if waited % SHOW_EVERY_SECS == 0 {
            log.say(&format!(
                "  machine {busy:.1}% busy, waiting for quiet; busiest:"
            ));
            for (pid, percent, name) in busiest {
                log.raw(&format!("      {pid} {percent:.1}% {name}"));
            }
        }
        tokio::time::sleep(PAUSE).await;
        waited += (SAMPLE + PAUSE).as_secs();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log() -> (tempfile::TempDir, BenchLog) {
        let dir = tempfile::tempdir().unwrap();
        let log = BenchLog::in_dir(dir.path());
        (dir, log)
    }

    #[tokio::test]
    async fn a_machine_within_the_limit_is_quiet_after_one_reading() {
        let (dir, log) = log();
        let quiet = Quiet {
            max_busy_pct: 100.0,
            wait_secs: 600,
        };
        let started = std::time::Instant::now();
        wait(quiet, &log).await.unwrap();
        assert!(
            started.elapsed() < SAMPLE + PAUSE,
            "{:?}",
            started.elapsed()
        );
        assert!(!dir.path().join("bench.log").exists());
    }

    #[tokio::test]
    async fn past_the_wait_the_run_goes_ahead_and_says_so() {
        let (dir, log) = log();
        let never = Quiet {
            max_busy_pct: -1.0,
            wait_secs: 0,
        };
        wait(never, &log).await.unwrap();
        let said = std::fs::read_to_string(dir.path().join("bench.log")).unwrap();
        assert!(said.contains("busy after 0 s; running anyway"), "{said}");
    }
}
