//! Memory of a real `hypernet run` process: its peak over a store of finished tasks, and
//! its resident set as work is done (the curve: it should stay flat).

use super::BenchOptions;
use super::child::{ChildHost, mib};
use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::time::Duration;

/// The manifest of the measured hosts: the simulated provider, answering at once.
const SIM_MANIFEST: &str = "[[plugin]]\nname = \"provider-sim\"\n[plugin.config]\nlatency_ms = 0\n";

pub(super) async fn stored_tasks(o: &BenchOptions) -> Result<(String, String, String)> {
    tracing::warn!(tasks = o.stored, "bench: memory (filling the store)");
    let dir = tempfile::tempdir().context("temporary data directory")?;
    let filler = ChildHost::start(dir.path(), SIM_MANIFEST, &curve_config(64)).await?;
    work_through(&filler, 0, o.stored).await?;
    filler.stop()?;
    let host = ChildHost::start(
        dir.path(),
        "[[plugin]]\nname = \"provider-sim\"\n",
        "standing = []\n",
    )
    .await?;
    // Let it settle, then read its high-water mark.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let peak = host.stats()?.peak_kib;
    host.stop()?;
    Ok((
        format!(
            "peak RSS of `hypernet run` with {} finished tasks stored",
            o.stored
        ),
        mib(peak),
        "<= 150 MiB".into(),
    ))
}

/// Files tasks `from..to` through the host's API, `CURVE_BATCH` to a request, holding back
/// while more than `CURVE_OUTSTANDING` are unfinished, and waits until every one is done.
async fn work_through(host: &ChildHost, from: usize, to: usize) -> Result<()> {
    let mut filed = from;
    while filed < to {
        let n = CURVE_BATCH.min(to - filed);
        host.file(n, "memory", n).await?;
        filed += n;
        while host.unfinished().await? > CURVE_OUTSTANDING {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    host.wait_idle(Duration::from_secs(600)).await
}

/// Where the curve is read: tasks processed.
const CURVE_POINTS: [usize; 7] = [1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000];
/// Workers of the host the curve measures.
const CURVE_WORKERS: usize = 50;
/// Tasks in one `POST /api/tasks`.
const CURVE_BATCH: usize = 500;
/// Filing pauses while the host holds more unfinished tasks than this, so what the curve
/// shows is work done, not a queue growing.
const CURVE_OUTSTANDING: u64 = 2_000;

/// The points of a curve ending at `end`: the standard ones below it, then `end`.
fn curve_points(end: usize) -> Vec<usize> {
    let mut points: Vec<usize> = CURVE_POINTS.into_iter().filter(|&p| p < end).collect();
    points.push(end.max(1));
    points
}

/// `hypernet.toml` of the measured host: `workers` workers on the simulated model, no
/// standing priorities, personal time, tools or boot sequence, limits out of the way.
fn curve_config(workers: usize) -> String {
    let mut config = String::from(
        "standing = []\n\
         [tools]\nenabled = false\n\
         [personal_time]\nenabled = false\n\
         [identity]\nboot = false\n\
         [swarm_limits]\n\
         max_concurrent_workers = { soft = 10000, hard = 10000 }\n\
         max_task_queue_depth = { soft = 10000000, hard = 10000000 }\n",
    );
    for i in 0..workers {
        let _ = write!(config, "[[worker]]\nname = \"bench-{i}\"\n");
    }
    config
}

/// The resident set of an idle host: the least of a few readings over two seconds, once
/// the allocator has had time to return what the last tasks freed (a single reading varies
/// by a few MiB with what the last requests left behind).
async fn resting_rss(host: &ChildHost) -> Result<u64> {
    let mut least = u64::MAX;
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        least = least.min(host.stats()?.rss_kib);
    }
    Ok(least)
}

/// How much of a process's anonymous memory is in transparent huge pages
/// (`AnonHugePages` of `/proc/<pid>/smaps_rollup`), KiB: a page counts whole in the
/// resident set however little of it is used.
fn anon_huge_pages(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("AnonHugePages:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// `1,000`-style thousands.
fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The resident set of a `hypernet run` child (provider-sim at zero latency, 50 workers)
/// after 1,000 ... `--memory-tasks` tasks filed through its API and processed; the last
/// row is how much it grew from the first point to the last.
pub(super) async fn curve(o: &BenchOptions) -> Result<Vec<(String, String, String)>> {
    let points = curve_points(o.memory_tasks);
    let end = *points.last().expect("at least one point");
    tracing::warn!(tasks = end, workers = CURVE_WORKERS, "bench: memory curve");
    let dir = tempfile::tempdir().context("temporary data directory")?;
    let host = ChildHost::start(dir.path(), SIM_MANIFEST, &curve_config(CURVE_WORKERS)).await?;
    let mut rows = Vec::new();
    // (tasks, RSS, of it in transparent huge pages), KiB.
    let mut curve: Vec<(usize, u64, u64)> = Vec::new();
    let mut done = 0;
    for point in points {
        work_through(&host, done, point).await?;
        done = point;
        let rss = resting_rss(&host).await?;
        let huge = anon_huge_pages(host.pid()).unwrap_or(0);
        tracing::warn!(tasks = point, rss = %mib(rss), huge_pages = %mib(huge), "bench: memory curve");
        curve.push((point, rss, huge));
        rows.push((
            format!(
                "RSS of `hypernet run` after {} tasks processed ({CURVE_WORKERS} workers, zero-latency provider, filed through the API)",
                grouped(point)
            ),
            format!("{} ({} of it in huge pages)", mib(rss), mib(huge)),
            "—".into(),
        ));
    }
    let (replayed, replay_bytes) = host.replay(Duration::from_millis(500)).await?;
    let stats = host.stats()?;
    let database = host.data().join("hypernet.redb");
    let on_disk = std::fs::metadata(&database)
        .with_context(|| format!("reading the size of {}", database.display()))?
        .len();
    host.stop()?;
    let (first, last) = (curve[0], curve[curve.len() - 1]);
    let grown = last.1 as f64 - first.1 as f64;
    let grown_small =
        (last.1 - last.2.min(last.1)) as f64 - (first.1 - first.2.min(first.1)) as f64;
    let cpu_per_task = stats.cpu.as_secs_f64() * 1e6 / last.0 as f64;
    rows.push((
        format!(
            "RSS after {} tasks minus RSS after {}",
            grouped(last.0),
            grouped(first.0)
        ),
        format!(
            "{:+.1} MiB ({:+.1} MiB outside huge pages; peak {}; host CPU {cpu_per_task:.0} µs a task; store file {})",
            grown / 1024.0,
            grown_small / 1024.0,
            mib(stats.peak_kib),
            mib(on_disk / 1024)
        ),
        "<= 5 MiB".into(),
    ));
    rows.push((
        format!(
            "events replayed by `/api/events?after=0` after {} tasks",
            grouped(last.0)
        ),
        format!(
            "{} events, {:.1} KiB of JSON",
            grouped(replayed),
            replay_bytes as f64 / 1024.0
        ),
        format!(
            "<= {} KiB (the bus's bound)",
            hypernet_engine::bus::RETAINED_BYTES / 1024
        ),
    ));
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_curve_ends_where_asked() {
        assert_eq!(
            curve_points(100_000),
            [1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000]
        );
        assert_eq!(curve_points(3_000), [1_000, 2_000, 3_000]);
        assert_eq!(curve_points(500), [500]);
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(grouped(100_000), "100,000");
        assert_eq!(grouped(1_000), "1,000");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }

    #[test]
    fn the_measured_host_is_configured_as_the_curve_needs() {
        let config = hypernet_swarm::config::HostConfig::parse(&curve_config(3), "bench config")
            .expect("the host accepts it");
        assert_eq!(config.workers.len(), 3);
        assert!(config.standing.is_empty());
        assert!(!config.tools.enabled);
        assert!(!config.personal_time.enabled);
        assert!(!config.identity.boot);
        assert_eq!(config.swarm_limits.max_task_queue_depth.hard, 10_000_000);
    }
}
