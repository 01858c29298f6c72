//! `switchboard-loadgen`: runs a scenario and prints its report (a table on
//! stdout, and JSON with `--json FILE`). `switchboard-loadgen worker` is the
//! worker process the coordinator starts; `switchboard-loadgen bench ...`
//! are the tools of benches/run.sh.

use std::process::ExitCode;

use clap::Parser;
use switchboard_loadgen::cli::{Cli, Scenario};
use switchboard_loadgen::{bench, procfs, report, workers};

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
fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let _ = procfs::raise_open_file_limit();
    if let Scenario::Worker(args) = &cli.scenario {
        runtime(args.threads)?.block_on(workers::serve_stdio());
        return Ok(ExitCode::SUCCESS);
    }
    if let Scenario::Bench(args) = &cli.scenario {
        return Ok(runtime(2)?.block_on(bench::main(&cli.run, args)));
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
    Ok(ExitCode::SUCCESS)
}
