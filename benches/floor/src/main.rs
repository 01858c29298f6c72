//! `switchboard-floor`: the naive broadcast server that Switchboard's
//! scenario benchmarks compare against (see the library docs). Logs JSON on
//! stderr; the first line says where it listens.

use std::net::SocketAddr;

use clap::Parser;
use switchboard_floor::{Floor, FloorConfig};

#[derive(Debug, Parser)]
#[command(
    name = "switchboard-floor",
    version,
    about = "A deliberately naive WebSocket broadcast server: the benchmark floor (never deploy it)"
)]
struct Args {
    /// The address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// WebSocket read buffer per connection (Switchboard's default).
    #[arg(long, default_value_t = 4096)]
    read_buffer_bytes: usize,
    /// Bytes gathered before a write to the socket (Switchboard's default).
    #[arg(long, default_value_t = 4096)]
    write_buffer_bytes: usize,
    /// The largest frame a client may send.
    #[arg(long, default_value_t = 64 * 1024)]
    max_frame_bytes: usize,
    /// Frames queued per member before deliveries to it are dropped.
    #[arg(long, default_value_t = 1024)]
    outbox_frames: usize,
    /// Announced in `welcome` (the floor closes no silent connection).
    #[arg(long, default_value_t = 25_000)]
    heartbeat_ms: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let config = FloorConfig {
        read_buffer_bytes: args.read_buffer_bytes,
        write_buffer_bytes: args.write_buffer_bytes,
        max_frame_bytes: args.max_frame_bytes,
        outbox_frames: args.outbox_frames,
        heartbeat_ms: args.heartbeat_ms,
        ..FloorConfig::default()
    };
    let floor = Floor::bind(args.listen, config).await?;
    floor.run_until_stopped(shutdown_signal()).await;
    Ok(())
}

async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
