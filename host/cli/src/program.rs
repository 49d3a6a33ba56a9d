//! What the programs of this package share: the allocator, the runtime, the log, and
//! starting a companion program shipped beside this one in its place. `hypernet` is the
//! host and its commands; `hypernet-console` (the full-screen console) and
//! `hypernet-bench` (the benchmarks) are programs of their own, which `hypernet console`
//! and `hypernet bench` start, so that their code stays out of the host binary.

use crate::{Cli, ClosedOutput};
use anyhow::{Context, Result, bail};
use std::ffi::OsStr;
use std::future::Future;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

/// Declares mimalloc the program's allocator, set up before anything allocates (the C
/// library runs the functions of `.init_array` before `main` and before the Rust
/// runtime's own set-up). Used once in each program that runs the host's code.
#[macro_export]
macro_rules! allocator {
    () => {
        /// The host allocates many small, short-lived objects (events, JSON, task
        /// records); mimalloc serves that pattern much faster than the system allocator.
        #[global_allocator]
        static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

        #[cfg(target_os = "linux")]
        #[used]
        #[unsafe(link_section = ".init_array")]
        static CONFIGURE_ALLOCATOR: extern "C" fn() = {
            extern "C" fn configure() {
                $crate::memory::configure_allocator();
            }
            configure
        };
    };
}

/// Parses the command line, starts the runtime and the log, and runs `execute` on it:
/// a program's `main`.
pub fn main<F, Fut>(execute: F) -> ExitCode
where
    F: FnOnce(Cli) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let Some(runtime) = runtime(crate::memory::runtime_workers()) else {
        return ExitCode::FAILURE;
    };
    runtime.block_on(async {
        let cli = <Cli as clap::Parser>::parse();
        let default = if cli.is_host() { "info" } else { "warn" };
        let filter =
            EnvFilter::try_from_env("HYPERNET_LOG").unwrap_or_else(|_| EnvFilter::new(default));
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .init();
        crate::memory::no_huge_pages();
        match execute(cli).await {
            Ok(()) => ExitCode::SUCCESS,
            // The reader stopped early (`| head`): it has what it wanted.
            Err(err) if err.is::<ClosedOutput>() => ExitCode::SUCCESS,
            Err(err) => {
                let _ = writeln!(std::io::stderr(), "error: {err:#}");
                ExitCode::FAILURE
            }
        }
    })
}

/// A runtime of `workers` threads; `None` when it cannot start (the error is printed).
pub fn runtime(workers: usize) -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
    {
        Ok(runtime) => Some(runtime),
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "error: starting the runtime: {err}");
            None
        }
    }
}

/// Runs `program`, shipped beside this one, in this process's place with `args`
/// (`command` names what the person typed, for the error when it is missing).
pub fn exec_beside<I, S>(program: &str, command: &str, args: I) -> Result<()>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    use std::os::unix::process::CommandExt;
    let path = beside(program)?;
    if !path.is_file() {
        bail!(
            "`{command}` runs `{program}`, which is not beside this program ({} is \
             missing); it is built with the host: cargo build --release --workspace",
            path.display()
        );
    }
    let error = std::process::Command::new(&path).args(args).exec();
    Err(error).with_context(|| format!("starting {}", path.display()))
}

/// The host program beside this one (`hypernet`), for companions that start hosts.
pub fn host_program() -> Result<std::path::PathBuf> {
    beside("hypernet")
}

/// Where `program` is when it is shipped beside this one.
fn beside(program: &str) -> Result<std::path::PathBuf> {
    let me = std::env::current_exe().context("finding this program's folder")?;
    Ok(me.with_file_name(program))
}
