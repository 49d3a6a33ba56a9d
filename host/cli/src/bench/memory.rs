//! Peak memory of a real `hypernet run` process over a store of finished tasks.

use super::BenchOptions;
use super::swarm::Swarm;
use anyhow::{Context, Result, bail};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `VmHWM` (peak resident set) of a process, in KiB.
fn peak_rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .context("no VmHWM line")
}

pub(super) async fn stored_tasks(o: &BenchOptions) -> Result<(String, String, String)> {
    tracing::warn!(tasks = o.stored, "bench: memory (filling the store)");
    let swarm = Swarm::start(64, 0, None, false).await?;
    swarm.file(o.stored, "memory", 1000).await?;
    swarm.wait_finished(o.stored).await;
    let dir = swarm.stop().await;

    std::fs::write(
        dir.path().join("plugins.toml"),
        "[[plugin]]\nname = \"provider-sim\"\n",
    )?;
    std::fs::write(dir.path().join("hypernet.toml"), "standing = []\n")?;
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data)?;
    std::fs::rename(dir.path().join("hypernet.redb"), data.join("hypernet.redb"))?;
    let mut child = Command::new(std::env::current_exe()?)
        .arg("--data-dir")
        .arg(&data)
        .args(["run", "--listen", "127.0.0.1:0", "--manifest"])
        .arg(dir.path().join("plugins.toml"))
        .arg("--config")
        .arg(dir.path().join("hypernet.toml"))
        .env("HYPERNET_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting hypernet run")?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !data.join("host.json").exists() {
        if Instant::now() > deadline || child.try_wait()?.is_some() {
            let _ = child.kill();
            bail!("the host did not start on the filled store");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Let it settle, then read its high-water mark.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let peak = peak_rss_kib(child.id());
    let _ = child.kill();
    let _ = child.wait();
    let peak = peak?;
    Ok((
        format!(
            "peak RSS of `hypernet run` with {} finished tasks stored",
            o.stored
        ),
        format!("{:.1} MiB", peak as f64 / 1024.0),
        "<= 150 MiB".into(),
    ))
}
