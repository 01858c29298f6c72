//! How a run is carried out and measured: the options every scenario and
//! the `bench` commands share (a leaf: the command line and the bench tools
//! both read it).

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

/// How the run is carried out and measured.
#[derive(Debug, Clone, Args, Serialize)]
pub struct RunArgs {
    /// Seconds measured, after the warm-up.
    #[arg(long, global = true, default_value_t = 10.0)]
    pub duration: f64,
    /// Seconds of load before the measure window opens.
    #[arg(long, global = true, default_value_t = 3.0)]
    pub warmup: f64,
    /// Seconds to let the server settle before each RSS reading.
    #[arg(long, global = true, default_value_t = 3.0)]
    pub settle: f64,
    /// New connections per second, over all workers.
    #[arg(long, global = true, default_value_t = 1000.0)]
    pub ramp_per_sec: f64,
    /// Worker processes (default: enough for --max-per-worker).
    #[arg(long, global = true)]
    pub workers: Option<usize>,
    /// The most connections one worker holds.
    #[arg(long, global = true, default_value_t = 15_000)]
    pub max_per_worker: usize,
    /// Runtime threads per worker process (1: a current-thread runtime).
    #[arg(long, global = true, default_value_t = 1)]
    pub worker_threads: usize,
    /// Run the workers as tasks of this process instead of child processes.
    #[arg(long, global = true)]
    pub in_process: bool,
    /// Give up on a connection (upgrade and welcome) after this long.
    #[arg(long, global = true, default_value_t = 30_000)]
    pub connect_timeout_ms: u64,
    /// Also write the report as JSON to this file.
    #[arg(long, global = true, value_name = "FILE")]
    #[serde(skip)]
    pub json: Option<PathBuf>,
}
