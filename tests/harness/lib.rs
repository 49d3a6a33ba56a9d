//! Test harness: builds the real `hypernet` binary and plugin libraries, runs hosts in
//! temporary directories, and drives them through the real CLI.

pub mod browser;
pub mod mock_llm;
pub mod nats;
pub mod relay;
pub mod smtp;
pub mod telegram;
pub mod turn;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The cargo target directory the workspace builds into.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| {
            if p.is_absolute() {
                p
            } else {
                workspace_root().join(p)
            }
        })
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Runs cargo with `args` in `dir`, panicking with its output on failure.
pub fn cargo(dir: &Path, args: &[&str]) {
    let out = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo {args:?} in {} failed:\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every plugin package of the workspace (the test plugin included).
const FIRST_PARTY_PLUGINS: &[&str] = &[
    "hypernet-plugin-example",
    "hypernet-plugin-provider-sim",
    "hypernet-plugin-provider-anthropic",
    "hypernet-plugin-provider-openai",
    "hypernet-plugin-provider-lmstudio",
    "hypernet-plugin-reputation",
    "hypernet-plugin-governance",
    "hypernet-plugin-economy",
    "hypernet-plugin-herald",
    "hypernet-plugin-channel-telegram",
    "hypernet-plugin-channel-email",
    "hypernet-plugin-faulty",
];

/// Builds the host and the first-party plugins once per test binary (the first caller
/// builds, the others wait for it); returns the folder holding `hypernet` and the `lib*.so`
/// files.
pub fn bin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let mut args = vec!["build", "-p", "hypernet"];
        for plugin in FIRST_PARTY_PLUGINS {
            args.extend(["-p", plugin]);
        }
        cargo(&workspace_root(), &args);
        target_dir().join("debug")
    })
}

/// The `hypernet` binary.
pub fn hypernet_bin() -> PathBuf {
    bin_dir().join("hypernet")
}

/// The path of a first-party plugin library by plugin name.
pub fn plugin_lib(name: &str) -> PathBuf {
    bin_dir().join(format!("libhypernet_plugin_{}.so", name.replace('-', "_")))
}

/// A finished command.
#[derive(Debug)]
pub struct Run {
    /// Exit code (None when killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Asserts success and returns stdout.
    pub fn ok(&self) -> &str {
        assert_eq!(
            self.code,
            Some(0),
            "command failed:\nstdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        &self.stdout
    }

    /// Asserts success and parses stdout as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(self.ok())
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }

    /// Asserts a clean failure (exit 1, no panic) and returns stderr.
    pub fn fails(&self) -> &str {
        assert_eq!(
            self.code,
            Some(1),
            "expected exit 1:\nstdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        assert!(
            !self.stderr.contains("panicked at"),
            "the process panicked:\n{}",
            self.stderr
        );
        &self.stderr
    }
}

/// A temporary world: a folder with a manifest and a data directory. It holds a shared
/// [`turn`] on the machine, so it stays on the thread that made it.
pub struct Env {
    dir: tempfile::TempDir,
    _turn: turn::Turn,
}

impl Default for Env {
    fn default() -> Self {
        Self::new()
    }
}

impl Env {
    /// A fresh folder (and a build of the binaries), with a `hypernet.toml` that turns the
    /// standing priorities off so tests see only the tasks they file
    /// ([`Env::config`] replaces it). Waits while a heavy test has the machine alone
    /// ([`turn::alone`]).
    pub fn new() -> Env {
        let turn = turn::shared();
        bin_dir();
        let env = Env {
            dir: tempfile::tempdir().expect("temp dir"),
            _turn: turn,
        };
        env.config("standing = []\n");
        env
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The data directory used by [`Env::run`] and [`Env::start`].
    pub fn data_dir(&self) -> PathBuf {
        self.path().join("data")
    }

    /// Writes `plugins.toml`; `{bin}` in the text stands for the folder of the built
    /// libraries. Returns its path.
    pub fn manifest(&self, text: &str) -> PathBuf {
        let path = self.path().join("plugins.toml");
        let text = text.replace("{bin}", &bin_dir().display().to_string());
        std::fs::write(&path, text).expect("write manifest");
        path
    }

    /// `hypernet --data-dir <data> ARGS` in this folder, logging warnings only.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(hypernet_bin());
        command
            .arg("--data-dir")
            .arg(self.data_dir())
            .args(args)
            .current_dir(self.path())
            .env("HYPERNET_LOG", "warn");
        command
    }

    /// Runs `hypernet --data-dir <data> ARGS` to completion.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().expect("hypernet runs"))
    }

    /// Starts `hypernet --data-dir <data> ARGS` with its output and errors piped, for a
    /// command that runs until stopped; the caller reads, stops and reaps it.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("hypernet starts")
    }

    /// Writes `hypernet.toml` (read by `hypernet run` from this folder). Unless the text
    /// has an `[identity]` section, one turning the boot sequence off is added, so a test
    /// sees only the model calls of the tasks it files.
    pub fn config(&self, text: &str) -> PathBuf {
        let path = self.path().join("hypernet.toml");
        let text = if text.contains("[identity]") {
            text.to_owned()
        } else {
            format!("{text}\n[identity]\nboot = false\n")
        };
        std::fs::write(&path, text).expect("write config");
        path
    }

    /// The running host's API address (`127.0.0.1:<port>`), from `host.json`.
    pub fn api_addr(&self) -> String {
        let info: Value = serde_json::from_str(
            &std::fs::read_to_string(self.data_dir().join("host.json")).expect("a host is running"),
        )
        .expect("host.json is JSON");
        info["url"]
            .as_str()
            .expect("host.json has a url")
            .trim_start_matches("http://")
            .to_owned()
    }

    /// The API token of the data directory (empty before the first start).
    pub fn token(&self) -> String {
        std::fs::read_to_string(self.data_dir().join("api-token"))
            .unwrap_or_default()
            .trim()
            .to_owned()
    }

    /// Calls the running host's API: `GET` when `body` is `None`, else `POST` with the
    /// token. Returns the status code and the JSON body.
    pub fn api(&self, path: &str, body: Option<&Value>) -> (u16, Value) {
        match body {
            None => answer(self.request("GET", path, &[], b"")),
            Some(body) => self.post(path, body.to_string().as_bytes()),
        }
    }

    /// `POST` with the token and no body, for the routes that take none (cancel, retry,
    /// enable, ...). Returns the status code and the JSON body.
    pub fn act(&self, path: &str) -> (u16, Value) {
        self.post(path, b"")
    }

    fn post(&self, path: &str, body: &[u8]) -> (u16, Value) {
        let auth = format!("Bearer {}", self.token());
        let mut headers = vec![("Authorization", auth.as_str())];
        if !body.is_empty() {
            headers.push(("Content-Type", "application/json"));
        }
        answer(self.request("POST", path, &headers, body))
    }

    /// Runs `hypernet --data-dir <data> ARGS` with its output going into a pipe whose
    /// reader is already gone, as in `hypernet ... | head` once `head` has what it wants.
    pub fn run_into_closed_pipe(&self, args: &[&str]) -> Run {
        let (reader, writer) = std::io::pipe().expect("a pipe");
        drop(reader);
        let out = self
            .command(args)
            .stdout(writer)
            .output()
            .expect("hypernet runs");
        Run::from(out)
    }

    /// Sends one request to the running host exactly as given: no header is added but
    /// `Host` and, for a body or a `POST`, `Content-Length`.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        http(&self.api_addr(), method, path, headers, body)
    }

    /// `hypernet plugin call TARGET QUERY [ARGS]` (no arguments when `args` is empty).
    pub fn call(&self, target: &str, query: &str, args: &str) -> Run {
        let mut argv = vec!["plugin", "call", target, query];
        if !args.is_empty() {
            argv.push(args);
        }
        self.run(&argv)
    }

    /// The `plugins list --json` entry of one plugin.
    pub fn plugin_status(&self, name: &str) -> Value {
        let list = self.run(&["plugins", "list", "--json"]).json();
        list["items"]
            .as_array()
            .and_then(|a| a.iter().find(|p| p["name"] == name).cloned())
            .unwrap_or_else(|| panic!("{name} is not listed in {list}"))
    }

    /// `hypernet plugins check --manifest <plugins.toml>`.
    pub fn check(&self) -> Run {
        let manifest = self.path().join("plugins.toml");
        self.run(&["plugins", "check", "--manifest", manifest.to_str().unwrap()])
    }

    /// Starts `hypernet run` with this folder's manifest and waits until its API is up.
    pub fn start(&self) -> Host {
        self.try_start()
            .unwrap_or_else(|log| panic!("host did not start:\n{log}"))
    }

    /// Like [`Env::start`], but returns the log when the host exits instead of starting.
    pub fn try_start(&self) -> Result<Host, String> {
        self.try_start_with_env(&[])
    }

    /// Like [`Env::start`], with extra environment variables (e.g. API keys) for the host.
    pub fn start_with_env(&self, vars: &[(&str, &str)]) -> Host {
        self.try_start_with_env(vars)
            .unwrap_or_else(|log| panic!("host did not start:\n{log}"))
    }

    /// Starts a host whose one worker, `Coder`, calls `openai/gpt-4o-mini` through
    /// provider-openai at the loopback `mock`.
    pub fn start_on_openai_mock(&self, mock: &mock_llm::MockLlm) -> Host {
        self.manifest(&format!(
            "[[plugin]]\nname = \"provider-openai\"\ncapabilities = [\"log\"]\n[plugin.config]\nbase_url = \"{}\"\napi_key_env = \"HN_TEST_OPENAI_KEY\"\n",
            mock.openai_base_url()
        ));
        self.config(
            "standing = []\n\n[[worker]]\nname = \"Coder\"\naccount = \"2.1\"\nmodel = \"openai/gpt-4o-mini\"\n",
        );
        self.start_with_env(&[("HN_TEST_OPENAI_KEY", "sk-mock")])
    }

    /// A world whose providers `provider-openai` and `provider-anthropic` (keys in
    /// `HN_TEST_OPENAI_KEY`, `HN_TEST_ANTHROPIC_KEY`) both talk to the loopback `mock`,
    /// with one worker, `Coder`, on `model`, and `extra` lines of `hypernet.toml`.
    pub fn on_mock_providers(mock: &mock_llm::MockLlm, model: &str, extra: &str) -> Env {
        let env = Env::new();
        env.manifest(&format!(
            "[[plugin]]\nname = \"provider-openai\"\ncapabilities = [\"log\"]\n[plugin.config]\nbase_url = \"{}\"\napi_key_env = \"HN_TEST_OPENAI_KEY\"\n\n\
             [[plugin]]\nname = \"provider-anthropic\"\ncapabilities = [\"log\"]\n[plugin.config]\nbase_url = \"{}\"\napi_key_env = \"HN_TEST_ANTHROPIC_KEY\"\n",
            mock.openai_base_url(),
            mock.url(),
        ));
        env.config(&format!(
            "standing = []\n{extra}\n[[worker]]\nname = \"Coder\"\naccount = \"2.1\"\nmodel = \"{model}\"\n"
        ));
        env
    }

    /// Like [`Env::try_start`], with extra environment variables for the host.
    pub fn try_start_with_env(&self, vars: &[(&str, &str)]) -> Result<Host, String> {
        let log_path = self.path().join(format!("host-{}.log", now_nanos()));
        let log = std::fs::File::create(&log_path).expect("log file");
        let data = self.data_dir();
        let _ = std::fs::remove_file(data.join("host.json"));
        let child = Command::new(hypernet_bin())
            .arg("--data-dir")
            .arg(&data)
            .args(["run", "--listen", "127.0.0.1:0", "--manifest"])
            .arg(self.path().join("plugins.toml"))
            .current_dir(self.path())
            .env("HYPERNET_LOG", "info")
            .envs(vars.iter().copied())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("hypernet run starts");
        let mut host = Host {
            child: Some(child),
            log: log_path,
            url: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = host
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                let _ = status;
                host.child = None;
                return Err(host.log());
            }
            if let Ok(text) = std::fs::read_to_string(data.join("host.json"))
                && let Ok(info) = serde_json::from_str::<Value>(&text)
                && info["pid"].as_u64() == host.child.as_ref().map(|c| u64::from(c.id()))
            {
                host.url = info["url"].as_str().unwrap_or_default().to_owned();
                return Ok(host);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!("timed out waiting for host.json\n{}", host.log()))
    }
}

/// An answer of the host's API.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers in the order sent, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
}

impl Response {
    /// The first value of the header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        first_header(&self.headers, name)
    }

    /// The body as JSON (panics, showing it, when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!(
                "HTTP {} body is not JSON ({e}): {:?}",
                self.status, self.body
            )
        })
    }
}

/// The first value of the header `name` (any case) in a list of names and values.
pub(crate) fn first_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A minimal HTTP/1.0 client for loopback calls in tests.
fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to the host");
    let mut head = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    // A host refusing a request (say, a body over its limit) may answer and close before
    // reading all of it; the answer is still there to read.
    let _ = stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body));
    let mut raw = Vec::new();
    if let Err(e) = stream.read_to_end(&mut raw) {
        assert!(
            !raw.is_empty(),
            "reading the answer to {method} {path}: {e}"
        );
    }
    let raw = String::from_utf8_lossy(&raw);
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Response {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// The status code and the JSON body (`null` when it is not JSON) of an answer.
fn answer(response: Response) -> (u16, Value) {
    let json = serde_json::from_str(&response.body).unwrap_or(Value::Null);
    (response.status, json)
}

fn now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// A running `hypernet run` process; killed when dropped.
pub struct Host {
    child: Option<Child>,
    log: PathBuf,
    /// Its API base URL.
    pub url: String,
}

impl Host {
    /// Everything it has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => c.try_wait().ok().flatten().is_none(),
            None => false,
        }
    }

    /// Sends SIGTERM and waits for a clean exit; returns the exit code.
    pub fn stop(mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        child.wait().ok()?.code()
    }

    /// Kills the process with SIGKILL (a crash).
    pub fn kill9(mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Waits until the log contains `needle` (or panics after 10 s).
    pub fn wait_for_log(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.log().contains(needle) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("log never showed {needle:?}:\n{}", self.log());
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Polls `f` until it returns `Some`, for up to 10 s.
pub fn eventually<T>(what: &str, f: impl FnMut() -> Option<T>) -> T {
    within(10, what, f)
}

/// Polls `f` every 25 ms until it returns `Some`, for up to `secs` seconds.
pub fn within<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}
