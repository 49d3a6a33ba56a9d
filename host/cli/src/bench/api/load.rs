//! The load generator: keep-alive HTTP/1.1 connections driven from a runtime and a thread
//! of their own, timed over a window after a warm-up, with the CPU the process and the
//! generator used meanwhile.

use anyhow::{Context, Result};
use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Runs `work` on a current-thread runtime of its own, on a thread of its own.
pub(super) async fn on_own_thread<T, F>(work: impl FnOnce() -> F + Send + 'static) -> Result<T>
where
    T: Send + 'static,
    F: Future<Output = Result<T>>,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("bench-load".into())
        .spawn(move || {
            let result = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("building the load generator's runtime")
                .and_then(|runtime| runtime.block_on(work()));
            let _ = tx.send(result);
        })
        .context("starting the load generator's thread")?;
    rx.await.context("the load generator's thread panicked")?
}

/// When the warm-up ends and when measuring stops.
#[derive(Debug, Clone, Copy)]
pub(super) struct Window {
    pub(super) from: Instant,
    pub(super) until: Instant,
}

impl Window {
    /// A warm-up of a fifth of `measure` (at most a second), then `measure`.
    pub(super) fn after_warmup(measure: Duration) -> Window {
        let from = Instant::now() + (measure / 5).min(Duration::from_secs(1));
        Window {
            from,
            until: from + measure,
        }
    }
}

/// CPU time the whole process and the generator's thread used over a window.
#[derive(Debug, Clone, Copy)]
pub(super) struct CpuUse {
    process: Duration,
    generator: Duration,
    window: Duration,
}

impl CpuUse {
    /// `CPU: host 0.86 cores (11.4 µs a request), generator 0.84`, for `per_second` units
    /// done while measuring; the host is everything but the generator.
    pub(super) fn describe(&self, per_second: f64, unit: &str) -> String {
        let cores = |d: Duration| d.as_secs_f64() / self.window.as_secs_f64().max(1e-9);
        let host = cores(self.process.saturating_sub(self.generator));
        format!(
            "CPU: host {host:.2} cores ({:.1} µs {unit}), generator {:.2}",
            host / per_second.max(1e-9) * 1e6,
            cores(self.generator)
        )
    }
}

/// User plus system CPU time from a Linux `stat` file (`/proc/self/stat`,
/// `/proc/thread-self/stat`: fields 14 and 15, in hundredths of a second).
pub(super) fn cpu_time(stat: &str) -> Option<Duration> {
    let text = std::fs::read_to_string(stat).ok()?;
    let fields: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
    Some(Duration::from_millis((ticks(11)? + ticks(12)?) * 10))
}

/// Samples CPU time when `window` opens and when it closes; run on the generator's thread.
pub(super) async fn cpu_over(window: Window) -> Option<CpuUse> {
    let sample = || {
        Some((
            cpu_time("/proc/self/stat")?,
            cpu_time("/proc/thread-self/stat")?,
        ))
    };
    tokio::time::sleep_until(window.from.into()).await;
    let (process, generator) = sample()?;
    tokio::time::sleep_until(window.until.into()).await;
    let (process_end, generator_end) = sample()?;
    Some(CpuUse {
        process: process_end.saturating_sub(process),
        generator: generator_end.saturating_sub(generator),
        window: window.until - window.from,
    })
}

/// Builds the `seq`-th request of connection `conn`.
pub(super) type MakeRequest = Arc<dyn Fn(usize, u64) -> Request<Full<Bytes>> + Send + Sync>;

/// What one connection, or all of them, measured.
#[derive(Debug, Default)]
pub(super) struct Measured {
    /// 2xx answers to requests sent inside the window.
    pub(super) ok: u64,
    /// Answers other than 2xx, warm-up included.
    pub(super) errors: u64,
    /// The first error's status and body.
    pub(super) first_error: Option<String>,
    /// Latency of each 2xx answer counted in `ok`.
    pub(super) latencies: Vec<Duration>,
    /// 2xx answers, warm-up included.
    pub(super) ok_total: u64,
    /// CPU use over the window.
    pub(super) cpu: Option<CpuUse>,
}

impl Measured {
    fn merge(&mut self, other: Measured) {
        self.ok += other.ok;
        self.errors += other.errors;
        self.ok_total += other.ok_total;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.latencies.extend(other.latencies);
    }
}

/// One keep-alive connection sending requests back to back until the window closes.
async fn drive_connection(
    addr: SocketAddr,
    conn: usize,
    make: MakeRequest,
    window: Window,
) -> Result<Measured> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .context("HTTP/1.1 handshake")?;
    let driver = tokio::spawn(connection);
    let mut measured = Measured::default();
    for seq in 0.. {
        let sent = Instant::now();
        if sent >= window.until {
            break;
        }
        let response = sender
            .send_request(make(conn, seq))
            .await
            .with_context(|| format!("request {seq} on connection {conn}"))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .with_context(|| format!("reading answer {seq} on connection {conn}"))?
            .to_bytes();
        let latency = sent.elapsed();
        if !status.is_success() {
            measured.errors += 1;
            measured
                .first_error
                .get_or_insert_with(|| format!("{status}: {}", String::from_utf8_lossy(&body)));
            continue;
        }
        measured.ok_total += 1;
        if sent >= window.from {
            measured.ok += 1;
            measured.latencies.push(latency);
        }
    }
    drop(sender);
    let _ = driver.await;
    Ok(measured)
}

/// Drives `connections` connections for `measure` after a warm-up.
pub(super) async fn drive(
    addr: SocketAddr,
    connections: usize,
    measure: Duration,
    make: MakeRequest,
) -> Result<Measured> {
    on_own_thread(move || async move {
        let window = Window::after_warmup(measure);
        let cpu = tokio::spawn(cpu_over(window));
        let tasks: Vec<_> = (0..connections.max(1))
            .map(|conn| tokio::spawn(drive_connection(addr, conn, make.clone(), window)))
            .collect();
        let mut total = Measured::default();
        for task in tasks {
            total.merge(task.await.context("a load connection panicked")??);
        }
        total.cpu = cpu.await.context("the CPU sampler panicked")?;
        Ok(total)
    })
    .await
}

/// `q`-quantile of sorted samples.
pub(super) fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let i = ((sorted.len() as f64 * q) as usize).min(sorted.len().saturating_sub(1));
    sorted.get(i).copied().unwrap_or_default()
}

pub(super) fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}
