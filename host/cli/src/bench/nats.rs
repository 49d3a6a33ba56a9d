//! A NATS server with JetStream for the federation scenario: started here on a free
//! loopback port with its store in a temporary directory, and stopped when dropped.

use anyhow::{Context, Result, bail};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian's `nats-server` package installs the server, searched after `PATH`.
const DEBIAN_PATH: &str = "/usr/sbin/nats-server";

/// How long the server may take to accept connections.
const READY_WITHIN: Duration = Duration::from_secs(10);

/// A `nats-server -js` this process started.
#[derive(Debug)]
pub(super) struct NatsServer {
    child: Child,
    /// Its client URL (`nats://127.0.0.1:<port>`).
    pub url: String,
    dir: tempfile::TempDir,
}

/// The `nats-server` binary: on `PATH`, else Debian's.
fn binary() -> Result<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("nats-server"))
        .find(|p| p.is_file());
    if let Some(found) = on_path {
        return Ok(found);
    }
    let debian = Path::new(DEBIAN_PATH);
    if debian.is_file() {
        return Ok(debian.to_path_buf());
    }
    bail!(
        "the federation scenario needs a NATS server: `nats-server` is neither on PATH nor at \
         {DEBIAN_PATH}; install the Debian package `nats-server` (apt-get install nats-server), \
         or pass --nats-url nats://HOST:PORT to use a running server with JetStream enabled"
    )
}

/// A loopback port nothing listens on now.
fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

impl NatsServer {
    /// Starts `nats-server -js` on a free loopback port with a temporary store directory
    /// and waits until it accepts connections.
    pub(super) fn start() -> Result<NatsServer> {
        let binary = binary()?;
        let dir = tempfile::tempdir().context("temporary NATS store directory")?;
        let port = free_port()?;
        let log = dir.path().join("nats-server.log");
        let mut command = Command::new(&binary);
        // SAFETY: between fork and exec the closure only makes one system call.
        unsafe {
            // The server goes when the thread that started it does (the caller's runtime
            // thread, which lasts as long as this process), however this process ends.
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(dir.path().join("jetstream"))
            .arg("-l")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut server = NatsServer {
            child,
            url: format!("nats://127.0.0.1:{port}"),
            dir,
        };
        let started = Instant::now();
        loop {
            if let Some(status) = server.child.try_wait()? {
                bail!(
                    "{} exited ({status}) before accepting connections on port {port}: {}",
                    binary.display(),
                    server.log_tail()
                );
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                tracing::info!(url = %server.url, server = %binary.display(), "NATS server started");
                return Ok(server);
            }
            if started.elapsed() > READY_WITHIN {
                bail!(
                    "{} does not accept connections on port {port} after {READY_WITHIN:?}: {}",
                    binary.display(),
                    server.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// CPU time (user + system) the server has used so far, from `/proc`.
    pub(super) fn cpu(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        // The fields after the command name (which may hold spaces) and its `)`.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
        // utime and stime are the 14th and 15th fields: the 12th and 13th after the name.
        let used = ticks(11)? + ticks(12)?;
        // SAFETY: sysconf reads a system constant.
        let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
        Some(Duration::from_millis(used * 1000 / per_second))
    }

    /// The last lines of the server's log, for an error.
    fn log_tail(&self) -> String {
        let log = self.dir.path().join("nats-server.log");
        match std::fs::read_to_string(&log) {
            Ok(text) => {
                let lines: Vec<&str> = text.lines().collect();
                lines[lines.len().saturating_sub(5)..].join(" | ")
            }
            Err(e) => format!("(no log at {}: {e})", log.display()),
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
