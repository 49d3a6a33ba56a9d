//! A real NATS server with JetStream on loopback for the federation tests: `nats-server -js`
//! on a free port of 127.0.0.1, its store in a folder of the test. It can be killed with
//! SIGKILL (a crash) and started again on the same port and store, and is killed when
//! dropped.
//!
//! The binary is `nats-server` on `PATH`, else `/usr/sbin/nats-server` (Debian's package
//! `nats-server`, which `.ci/run` installs); without either [`NatsServer::start`] fails
//! saying how to install it.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian installs the server.
const DEBIAN_BIN: &str = "/usr/sbin/nats-server";

/// How long a start may take before the test fails.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// A running (or killed, awaiting [`NatsServer::restart`]) `nats-server`.
pub struct NatsServer {
    child: Option<Child>,
    bin: PathBuf,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its JetStream store folder.
    pub store: PathBuf,
    log: PathBuf,
    starts: u32,
}

impl NatsServer {
    /// Starts a server on a free port with its store and log in `dir`, and waits until it
    /// is ready.
    pub fn start(dir: &Path) -> NatsServer {
        let store = dir.join("nats-store");
        std::fs::create_dir_all(&store)
            .unwrap_or_else(|e| panic!("creating the NATS store {}: {e}", store.display()));
        let mut server = NatsServer {
            child: None,
            bin: binary(),
            port: free_port(),
            store,
            log: dir.join("nats.log"),
            starts: 0,
        };
        server.launch();
        server
    }

    /// Its URL, for `[federation] urls`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Everything it has logged, over all its starts.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills it with SIGKILL (a crash); its store stays as the crash left it.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and store (after [`NatsServer::kill9`]), and waits
    /// until it is ready.
    pub fn restart(&mut self) {
        self.kill9();
        self.launch();
    }

    fn launch(&mut self) {
        self.starts += 1;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap_or_else(|e| panic!("opening the NATS log {}: {e}", self.log.display()));
        let before = self.log().len();
        let child = Command::new(&self.bin)
            .args(["-js", "-a", "127.0.0.1", "-p"])
            .arg(self.port.to_string())
            .arg("-sd")
            .arg(&self.store)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", self.bin.display()));
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                panic!(
                    "nats-server (start {}) exited with {status} on port {}:\n{}",
                    self.starts,
                    self.port,
                    self.log()
                );
            }
            let logged = self.log();
            let ready = logged
                .get(before..)
                .unwrap_or_default()
                .contains("Server is ready");
            if ready && answers(self.port) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "nats-server (start {}) on port {} not ready within {START_TIMEOUT:?}:\n{logged}",
                self.starts,
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// The `nats-server` binary: on `PATH`, else Debian's.
fn binary() -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("nats-server"))
            .find(|p| p.is_file())
    });
    on_path
        .or_else(|| Some(PathBuf::from(DEBIAN_BIN)).filter(|p| p.is_file()))
        .unwrap_or_else(|| {
            panic!(
                "the federation tests need `nats-server` (with JetStream) on PATH or at \
                 {DEBIAN_BIN}: install it with `sudo apt-get install nats-server` (.ci/run does)"
            )
        })
}

/// A port of 127.0.0.1 free now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// Whether the server accepts a connection and greets it with its `INFO`.
fn answers(port: u16) -> bool {
    use std::io::Read;
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut greeting = [0u8; 4];
    stream.read_exact(&mut greeting).is_ok() && &greeting == b"INFO"
}
