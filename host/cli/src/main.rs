use clap::Parser;
use hypernet::{Cli, ClosedOutput};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

/// The host allocates many small, short-lived objects (events, JSON, task records);
/// mimalloc serves that pattern much faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let default = if cli.is_host() { "info" } else { "warn" };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("HYPERNET_LOG").unwrap_or_else(|_| EnvFilter::new(default)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match cli.execute().await {
        Ok(()) => ExitCode::SUCCESS,
        // The reader stopped early (`| head`): it has what it wanted.
        Err(err) if err.is::<ClosedOutput>() => ExitCode::SUCCESS,
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
