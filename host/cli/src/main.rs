use clap::Parser;
use hypernet::{Cli, ClosedOutput};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

/// The host allocates many small, short-lived objects (events, JSON, task records);
/// mimalloc serves that pattern much faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Sets the allocator up before anything allocates: the C library runs the functions of
/// `.init_array` before `main` and before the Rust runtime's own set-up.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static CONFIGURE_ALLOCATOR: extern "C" fn() = {
    extern "C" fn configure() {
        hypernet::memory::configure_allocator();
    }
    configure
};

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(hypernet::memory::runtime_workers())
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "error: starting the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run())
}

async fn run() -> ExitCode {
    let cli = Cli::parse();
    let default = if cli.is_host() { "info" } else { "warn" };
    let filter =
        EnvFilter::try_from_env("HYPERNET_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    hypernet::memory::no_huge_pages();
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
