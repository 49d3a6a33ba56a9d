//! A real `hypernet run` process, for the scenarios that measure the host from outside: its
//! resident memory and CPU read from `/proc`, its work filed through its HTTP API.

use anyhow::{Context, Result, bail, ensure};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What `/proc/<pid>` says of a process.
#[derive(Debug, Clone, Copy)]
pub(super) struct ProcStats {
    /// Resident set now (`VmRSS`), KiB.
    pub rss_kib: u64,
    /// Peak resident set (`VmHWM`), KiB.
    pub peak_kib: u64,
    /// User plus system CPU of every thread, live and exited.
    pub cpu: Duration,
}

impl ProcStats {
    /// Reads the stats of process `pid`.
    pub(super) fn of(pid: u32) -> Result<ProcStats> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .with_context(|| format!("reading /proc/{pid}/status"))?;
        let kib = |key: &str| -> Result<u64> {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
                .with_context(|| format!("no {key} line in /proc/{pid}/status"))
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .with_context(|| format!("reading /proc/{pid}/stat"))?;
        // The fields after the command name, which is in parentheses and may hold spaces:
        // utime and stime are the 14th and 15th fields of the line, 12th and 13th after it.
        let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks = |i: usize| -> Result<u64> {
            fields
                .get(i)
                .and_then(|f| f.parse().ok())
                .with_context(|| format!("/proc/{pid}/stat has no field {}", i + 3))
        };
        // SAFETY: sysconf reads a constant of the system and has no preconditions.
        let per_sec = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        let cpu = (ticks(11)? + ticks(12)?) as f64 / per_sec;
        Ok(ProcStats {
            rss_kib: kib("VmRSS:")?,
            peak_kib: kib("VmHWM:")?,
            cpu: Duration::from_secs_f64(cpu),
        })
    }
}

/// Where a process's resident memory is, from `/proc/<pid>/smaps`: KiB by kind of mapping.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct MemoryMap {
    /// Anonymous memory: the heap, thread stacks, the allocator's arenas.
    pub anonymous_kib: u64,
    /// The `hypernet` executable's pages.
    pub binary_kib: u64,
    /// The plugin libraries' pages.
    pub plugins_kib: u64,
    /// Everything else file-backed: the C library, the loader, the store file if mapped.
    pub other_files_kib: u64,
}

impl MemoryMap {
    /// Reads the map of process `pid`.
    pub(super) fn of(pid: u32) -> Result<MemoryMap> {
        let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps"))
            .with_context(|| format!("reading /proc/{pid}/smaps"))?;
        let mut map = MemoryMap::default();
        let mut path = String::new();
        for line in smaps.lines() {
            if let Some(rss) = line.strip_prefix("Rss:") {
                let kib: u64 = rss
                    .split_whitespace()
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let slot = if path.is_empty() || path.starts_with('[') {
                    &mut map.anonymous_kib
                } else if path.contains("libhypernet_plugin_") {
                    &mut map.plugins_kib
                } else if path.ends_with("/hypernet") {
                    &mut map.binary_kib
                } else {
                    &mut map.other_files_kib
                };
                *slot += kib;
            } else if line.split_whitespace().next().is_some_and(|range| {
                range.contains('-') && range.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
            }) {
                // A mapping's header: range, permissions, offset, device, inode, path.
                path = line.split_whitespace().nth(5).unwrap_or("").to_string();
            }
        }
        Ok(map)
    }

    /// One line: each kind in MiB.
    pub(super) fn summary(&self) -> String {
        format!(
            "heap and stacks {}, hypernet {}, plugins {}, other files {}",
            mib(self.anonymous_kib),
            mib(self.binary_kib),
            mib(self.plugins_kib),
            mib(self.other_files_kib)
        )
    }
}

/// KiB as MiB with one decimal.
pub(super) fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// A `hypernet run` child process on a data directory of its own, listening on a free
/// loopback port. Killed when dropped.
pub(super) struct ChildHost {
    child: Child,
    url: String,
    token: String,
    client: reqwest::Client,
    data: PathBuf,
    /// The number of the next task title, so that every filing is distinct.
    titles: AtomicUsize,
}

impl ChildHost {
    /// Writes `plugins.toml` and `hypernet.toml` into `dir`, then starts `hypernet run` on
    /// `dir/data` (kept if it holds a store already) and waits until its API answers.
    pub(super) async fn start(dir: &Path, manifest: &str, config: &str) -> Result<ChildHost> {
        let manifest_path = dir.join("plugins.toml");
        let config_path = dir.join("hypernet.toml");
        std::fs::write(&manifest_path, manifest)
            .with_context(|| format!("writing {}", manifest_path.display()))?;
        std::fs::write(&config_path, config)
            .with_context(|| format!("writing {}", config_path.display()))?;
        let data = dir.join("data");
        std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
        let _ = std::fs::remove_file(data.join("host.json"));
        let mut child = Command::new(crate::program::host_program()?)
            .arg("--data-dir")
            .arg(&data)
            .args(["run", "--listen", "127.0.0.1:0", "--manifest"])
            .arg(&manifest_path)
            .arg("--config")
            .arg(&config_path)
            .env("HYPERNET_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(dir.join("host.log")).context("creating host.log")?,
            ))
            .spawn()
            .context("starting hypernet run")?;
        let deadline = Instant::now() + Duration::from_secs(60);
        let url = loop {
            if let Ok(text) = std::fs::read_to_string(data.join("host.json"))
                && let Ok(v) = serde_json::from_str::<Value>(&text)
                && let Some(url) = v["url"].as_str()
            {
                break url.to_string();
            }
            if Instant::now() > deadline || child.try_wait()?.is_some() {
                let _ = child.kill();
                let log = std::fs::read_to_string(dir.join("host.log")).unwrap_or_default();
                bail!("the host did not start:\n{log}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let token = std::fs::read_to_string(data.join("api-token"))
            .context("reading the host's api-token")?
            .trim()
            .to_string();
        // A client is built only once a TLS crypto provider is installed, even for plain
        // HTTP; a scenario that starts no in-process swarm first has none yet.
        hypernet_llm::tls::install();
        let host = ChildHost {
            child,
            url,
            token,
            client: reqwest::Client::new(),
            data,
            titles: AtomicUsize::new(0),
        };
        host.status().await.context("the host's first status")?;
        Ok(host)
    }

    /// The process id.
    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The data directory.
    pub(super) fn data(&self) -> &Path {
        &self.data
    }

    /// Its `/proc` figures now.
    pub(super) fn stats(&self) -> Result<ProcStats> {
        ProcStats::of(self.pid())
    }

    /// Where its resident memory is now.
    pub(super) fn memory_map(&self) -> Result<MemoryMap> {
        MemoryMap::of(self.pid())
    }

    /// `GET /api/status`.
    pub(super) async fn status(&self) -> Result<Value> {
        let answer = self
            .client
            .get(format!("{}/api/status", self.url))
            .bearer_auth(&self.token)
            .send()
            .await
            .context("GET /api/status")?;
        ensure!(
            answer.status().is_success(),
            "GET /api/status: {}",
            answer.status()
        );
        answer.json().await.context("GET /api/status: the body")
    }

    /// How many tasks have `status` (`GET /api/tasks?status=`).
    pub(super) async fn count(&self, status: &str) -> Result<usize> {
        let answer = self
            .client
            .get(format!("{}/api/tasks?status={status}&limit=1", self.url))
            .bearer_auth(&self.token)
            .send()
            .await
            .context("GET /api/tasks")?;
        ensure!(
            answer.status().is_success(),
            "GET /api/tasks: {}",
            answer.status()
        );
        let page: Value = answer.json().await.context("GET /api/tasks: the body")?;
        page["total"]
            .as_u64()
            .map(|n| n as usize)
            .context("GET /api/tasks: no total")
    }

    /// Files `n` one-call tasks through `POST /api/tasks`, `batch` to a request, distinct
    /// from every other task filed through this host: titles `<tag> <number>`, numbered on
    /// from the last filing.
    pub(super) async fn file(&self, n: usize, tag: &str, batch: usize) -> Result<()> {
        let first = self.titles.fetch_add(n, Ordering::Relaxed);
        let end = first + n;
        let mut filed = first;
        while filed < end {
            let count = batch.min(end - filed);
            let tasks: Vec<Value> = (filed..filed + count)
                .map(|i| {
                    // Untagged: running tasks that share a tag are reported as
                    // contending for it, which is not the work measured.
                    json!({
                        "title": format!("{tag} {i}"),
                        "description": "Answer in one sentence.",
                    })
                })
                .collect();
            let answer = self
                .client
                .post(format!("{}/api/tasks", self.url))
                .bearer_auth(&self.token)
                .json(&json!({ "tasks": tasks }))
                .send()
                .await
                .context("POST /api/tasks")?;
            let status = answer.status();
            ensure!(
                status.is_success(),
                "POST /api/tasks: {status}: {}",
                answer.text().await.unwrap_or_default()
            );
            filed += count;
        }
        Ok(())
    }

    /// How many tasks the host holds unfinished (the sum of `GET /api/status` counts).
    pub(super) async fn unfinished(&self) -> Result<u64> {
        let status = self.status().await?;
        let counts = status["tasks"]
            .as_object()
            .with_context(|| format!("GET /api/status: no `tasks` object in {status}"))?;
        Ok(counts.values().filter_map(Value::as_u64).sum())
    }

    /// Connects to `GET /api/events?after=0` and reads what it replays (the retained
    /// events) until no frame has come for `quiet`: (events, bytes of their JSON).
    pub(super) async fn replay(&self, quiet: Duration) -> Result<(usize, usize)> {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        let ws = self.url.replacen("http", "ws", 1);
        let (mut socket, _) = tokio_tungstenite::connect_async(format!(
            "{ws}/api/events?after=0&token={}",
            self.token
        ))
        .await
        .context("connecting to /api/events")?;
        let (mut events, mut bytes) = (0, 0);
        while let Ok(Some(frame)) = tokio::time::timeout(quiet, socket.next()).await {
            if let Message::Text(text) = frame.context("reading /api/events")? {
                events += 1;
                bytes += text.len();
            }
        }
        Ok((events, bytes))
    }

    /// Waits until no task is unfinished (the status counts only unfinished ones), at most
    /// `limit`.
    pub(super) async fn wait_idle(&self, limit: Duration) -> Result<()> {
        let deadline = Instant::now() + limit;
        loop {
            let status = self.status().await?;
            if status["tasks"].as_object().is_some_and(|m| m.is_empty()) {
                return Ok(());
            }
            ensure!(
                Instant::now() < deadline,
                "tasks still unfinished after {limit:?}: {}",
                status["tasks"]
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Stops the host (SIGTERM, then SIGKILL after 10 s) and waits for it.
    pub(super) fn stop(mut self) -> Result<()> {
        // SAFETY: signalling our own child, whose pid is still ours until it is waited on.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait()?.is_none() {
            if Instant::now() > deadline {
                self.child.kill()?;
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for ChildHost {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
