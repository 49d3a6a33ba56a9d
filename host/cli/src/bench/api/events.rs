//! `/api/events` fan-out: WebSocket clients, connected from the generator's thread, follow
//! a quiet host's stream while a thread of its own publishes events on the bus at a steady
//! rate. Every event carries the time it was published, so each client also measures how
//! long delivery took.

use super::load::{Window, cpu_over, ms, on_own_thread, quantile};
use super::{Host, Row, TOKEN};
use crate::bench::BenchOptions;
use anyhow::{Context, Result, bail};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Read buffer of each WebSocket client.
const READ_BUFFER: usize = 16 * 1024;

/// How long a WebSocket client waits for the next event before giving up on the rest.
const EVENT_WAIT: Duration = Duration::from_secs(2);

/// What a client reads of each event.
#[derive(Deserialize)]
struct Seen {
    id: u64,
    payload: SeenPayload,
}

/// What the host sends a client it closes for falling behind.
#[derive(Deserialize)]
struct Notice {
    error: String,
}

#[derive(Deserialize)]
struct SeenPayload {
    /// Microseconds from the benchmark's origin to the event's publication.
    sent_us: u64,
}

/// What one WebSocket client received.
#[derive(Debug, Default)]
struct Followed {
    received: u64,
    /// Times an id was not the one after the previous.
    gaps: u64,
    first: Option<u64>,
    /// Publication to receipt, each event.
    delays: Vec<Duration>,
    /// When the last event arrived.
    last_at: Option<Instant>,
    /// Closed by the host for falling behind.
    too_slow: bool,
}

/// Follows the event stream until `expected` events arrived, the stream closed, or
/// nothing came for [`EVENT_WAIT`].
async fn follow(socket: &mut Socket, expected: u64, origin: Instant) -> Result<Followed> {
    let mut f = Followed {
        delays: Vec::with_capacity(expected as usize),
        ..Followed::default()
    };
    let mut last: Option<u64> = None;
    while f.received < expected {
        let frame = match tokio::time::timeout(EVENT_WAIT, socket.next()).await {
            Err(_) | Ok(None) => break,
            Ok(Some(frame)) => frame.context("reading the event stream")?,
        };
        let text = match frame {
            Message::Text(text) => text,
            Message::Close(_) => break,
            _ => continue,
        };
        let now = Instant::now();
        let seen: Seen = match serde_json::from_str(&text) {
            Ok(seen) => seen,
            Err(e) => {
                let notice: Notice = serde_json::from_str(&text).with_context(|| {
                    format!("an event stream frame that is not a bench event ({e}): {text}")
                })?;
                tracing::debug!(notice = %notice.error, "the host closed an event client");
                f.too_slow = true;
                break;
            }
        };
        if last.is_some_and(|l| seen.id != l + 1) {
            f.gaps += 1;
        }
        last = Some(seen.id);
        f.first.get_or_insert(seen.id);
        f.received += 1;
        f.last_at = Some(now);
        let sent = origin + Duration::from_micros(seen.payload.sent_us);
        f.delays.push(now.saturating_duration_since(sent));
    }
    Ok(f)
}

/// Publishes `n` events on the bus at `rate` per second, from a thread of its own;
/// returns the first event's id and when publishing started.
fn publish(
    registry: Arc<hypernet_engine::Registry>,
    n: u64,
    rate: u64,
    origin: Instant,
) -> Result<std::thread::JoinHandle<(u64, Instant)>> {
    std::thread::Builder::new()
        .name("bench-publish".into())
        .spawn(move || {
            let interval = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
            let started = Instant::now();
            let mut first = 0;
            for i in 0..n {
                let due = started + interval * i as u32;
                std::thread::sleep(due.saturating_duration_since(Instant::now()));
                let sent_us = origin.elapsed().as_micros() as u64;
                let id = registry.announce("bench.tick", json!({ "seq": i, "sent_us": sent_us }));
                if i == 0 {
                    first = id;
                }
            }
            (first, started)
        })
        .context("starting the event publisher")
}

/// `clients` WebSocket clients follow `/api/events` of a quiet host while events are
/// published at `--api-event-rate` for `--api-seconds`.
pub(super) async fn fan_out(o: &BenchOptions, measure: Duration) -> Result<Row> {
    let clients = o.api_clients.max(1);
    let rate = o.api_event_rate.max(1);
    let n = ((rate as f64 * measure.as_secs_f64()).round() as u64).max(1);
    tracing::warn!(
        clients,
        rate,
        seconds = o.api_seconds,
        "bench: api GET /api/events fan-out"
    );
    // No tasks are filed: the published events are the only ones on the bus.
    let host = Host::start(1).await?;
    let url = format!("ws://{}/api/events", host.addr);
    let origin = Instant::now();
    let (connected_tx, connected_rx) = tokio::sync::oneshot::channel();
    let followers = on_own_thread(move || async move {
        let mut sockets = Vec::with_capacity(clients);
        for client in 0..clients {
            let mut request = url.as_str().into_client_request()?;
            request
                .headers_mut()
                .insert("authorization", format!("Bearer {TOKEN}").parse()?);
            // A smaller read buffer than the default 128 KiB, which is zeroed before each
            // read: the generator must not be what limits delivery.
            let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
            let (socket, _) =
                tokio_tungstenite::connect_async_with_config(request, Some(config), false)
                    .await
                    .with_context(|| format!("client {client} connecting to {url}"))?;
            sockets.push(socket);
        }
        let _ = connected_tx.send(());
        let now = Instant::now();
        let cpu = tokio::spawn(cpu_over(Window {
            from: now,
            until: now + measure,
        }));
        let tasks: Vec<_> = sockets
            .into_iter()
            .map(|mut socket| {
                tokio::spawn(async move {
                    let followed = follow(&mut socket, n, origin).await;
                    let _ = socket.close(None).await;
                    followed
                })
            })
            .collect();
        let mut all = Vec::with_capacity(clients);
        for task in tasks {
            all.push(task.await.context("an event client panicked")??);
        }
        Ok((all, cpu.await.context("the CPU sampler panicked")?))
    });
    let followers = tokio::spawn(followers);
    // The host follows the bus for each client before answering its handshake.
    if connected_rx.await.is_err() {
        // The clients failed to connect; their error says why.
        followers.await.context("the event clients panicked")??;
        bail!("the event clients stopped before connecting");
    }
    let publisher = publish(host.swarm.registry.clone(), n, rate, origin)?;
    let (followed, cpu) = followers.await.context("the event clients panicked")??;
    let (first_id, started) = tokio::task::spawn_blocking(move || publisher.join())
        .await
        .context("waiting for the event publisher")?
        .map_err(|_| anyhow::anyhow!("the event publisher panicked"))?;
    host.stop().await;

    let received: Vec<u64> = followed.iter().map(|f| f.received).collect();
    let (min, max) = (
        received.iter().copied().min().unwrap_or(0),
        received.iter().copied().max().unwrap_or(0),
    );
    let lost: u64 = received.iter().map(|r| n.saturating_sub(*r)).sum();
    let gaps: u64 = followed.iter().map(|f| f.gaps).sum();
    let too_slow = followed.iter().filter(|f| f.too_slow).count();
    let late_start = followed
        .iter()
        .filter(|f| f.first.is_some_and(|id| id != first_id))
        .count();
    let delivered: u64 = received.iter().sum();
    let span = followed
        .iter()
        .filter_map(|f| f.last_at)
        .max()
        .map_or(Duration::ZERO, |last| {
            last.saturating_duration_since(started)
        });
    let delivered_per_second = delivered as f64 / span.as_secs_f64().max(1e-9);
    let mut delays: Vec<Duration> = followed.into_iter().flat_map(|f| f.delays).collect();
    delays.sort_unstable();
    Ok((
        format!(
            "api: /api/events fan-out, {clients} WebSocket clients, {rate} events/s for {} s",
            o.api_seconds
        ),
        format!(
            "{delivered_per_second:.0} events/s delivered; per client {min}-{max} of {n}; lost {lost}, gaps {gaps}, late starts {late_start}, closed as too slow {too_slow}; publish to receipt p50 {}, p99 {}{}",
            ms(quantile(&delays, 0.5)),
            ms(quantile(&delays, 0.99)),
            cpu.map(|c| format!("; {}", c.describe(delivered_per_second, "an event")))
                .unwrap_or_default(),
        ),
        "lost 0".into(),
    ))
}
