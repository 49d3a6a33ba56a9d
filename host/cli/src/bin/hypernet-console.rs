//! `hypernet-console`: the full-screen console on a running host, which `hypernet console`
//! starts in its own place (see `hypernet::console`). A program of its own so that the
//! drawing code stays out of the host binary.

use clap::Parser;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tracing_subscriber::EnvFilter;

/// A full-screen view of the running host to work from (`hypernet console`).
#[derive(Debug, Parser)]
#[command(name = "hypernet console", version)]
struct Args {
    /// Data directory: the database, the API token, and how to reach the running host.
    #[arg(long, env = "HYPERNET_DATA", default_value = "hypernet-data")]
    data_dir: PathBuf,
    /// Seconds between reads of the host (fractions allowed, at least 0.1).
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = hypernet::status::interval)]
    refresh: Duration,
}

fn main() -> ExitCode {
    let args = Args::parse();
    // Nothing may write over the console's screen: its log goes to standard error only
    // when that is not the terminal.
    let filter = if std::io::stderr().is_terminal() {
        EnvFilter::new("off")
    } else {
        EnvFilter::try_from_env("HYPERNET_LOG").unwrap_or_else(|_| EnvFilter::new("warn"))
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let Some(runtime) = hypernet::program::runtime(2) else {
        return ExitCode::FAILURE;
    };
    match runtime.block_on(hypernet::console::run(&args.data_dir, args.refresh)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
