//! `switchboard-loadgen`: runs a scenario and prints its report (a table on
//! stdout, and JSON with `--json FILE`). `switchboard-loadgen worker` is the
//! worker process the coordinator starts.

use clap::Parser;
use switchboard_loadgen::cli::{Cli, Scenario};
use switchboard_loadgen::{procfs, report, workers};

fn runtime(threads: usize) -> std::io::Result<tokio::runtime::Runtime> {
    if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
}

#[allow(clippy::print_stdout)]
fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _ = procfs::raise_open_file_limit();
    if let Scenario::Worker(args) = &cli.scenario {
        runtime(args.threads)?.block_on(workers::serve_stdio());
        return Ok(());
    }
    let report = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(switchboard_loadgen::run(&cli))?;
    print!("{}", report::render(&report));
    if let Some(path) = &cli.run.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")?;
    }
    Ok(())
}
