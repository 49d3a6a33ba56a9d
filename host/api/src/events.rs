//! `GET /api/events`: the host's events as a WebSocket stream of JSON text frames.
//!
//! Needs the bearer token, in the `Authorization` header or (for browsers, which cannot set
//! headers on a WebSocket) the `token` query parameter. `kinds` keeps only events whose
//! kind starts with one of its comma-separated prefixes; `after` first replays the retained
//! events with a larger id, then continues live. A client too slow to keep up is told how
//! many events it missed and closed; it never holds up the bus.

use super::extract::Query;
use super::{ApiError, AppState, ErrorBody, constant_time_eq};
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use hypernet_engine::bus::Following;
use hypernet_plugin_api::Event;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

/// Read buffer of a client's socket. Clients send only control frames, and every wait for
/// them prepares the whole buffer (the default 128 KiB would be zeroed after each event
/// sent); a larger frame still grows it.
const CLIENT_READ_BUFFER: usize = 4 * 1024;

/// The query parameters of `GET /api/events`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// The bearer token, for clients that cannot set headers.
    token: Option<String>,
    /// Comma-separated kind prefixes (`task.,budget.`); every event when absent.
    kinds: Option<String>,
    /// Replay the retained events with an id above this one first.
    after: Option<u64>,
}

/// Which events a client asked for.
#[derive(Debug, Clone)]
struct KindFilter(Vec<String>);

impl KindFilter {
    fn parse(kinds: Option<&str>) -> Self {
        KindFilter(
            kinds
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }

    fn admits(&self, event: &Event) -> bool {
        self.0.is_empty() || self.0.iter().any(|p| event.kind.starts_with(p.as_str()))
    }
}

/// Stream the host's events over a WebSocket.
///
/// A `GET` that upgrades to a WebSocket (`Connection: Upgrade`, `Upgrade: websocket`). It
/// needs the bearer token, in the `Authorization` header or, for browsers, as `?token=`.
///
/// The server sends one text frame per event, a JSON object `{"id", "kind", "source",
/// "at_ms", "payload"}`: `id` increases with each event the host publishes, `kind` is dotted
/// (`task.created`, `task.completed`, `budget.exhausted`, `plugin.disabled`, ...), `source`
/// is `host` or the publishing plugin, `at_ms` is ms since the Unix epoch and `payload` is
/// kind-specific. While a call streams, `task.output` events carry the model's text as it
/// arrives (payload `{"task", "worker", "model", "delta", "seq"}`; a call's deltas in `seq`
/// order add up to its answer). With `after`, the retained events (the newest 256 KiB of
/// them, as JSON) with a larger id come first, then live ones. A client too slow to keep up receives one frame
/// `{"error": "too slow: N events missed; reconnect with ?after=<id>"}` and is closed;
/// reconnecting with that `after` resumes without a gap while the events are retained.
/// Frames the client sends are ignored.
#[utoipa::path(
    get,
    path = "/api/events",
    tag = "events",
    operation_id = "events",
    params(EventsQuery),
    security(("bearer" = [])),
    responses(
        (status = 101, description = "Switched to the WebSocket; JSON text frames follow"),
        (status = 400, description = "`invalid`: not a WebSocket upgrade, or a bad parameter", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no token, or not this host's", body = ErrorBody),
    ),
)]
pub async fn stream(
    State(state): State<AppState>,
    Query(query): Query<EventsQuery>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let presented = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or(query.token.as_deref());
    let authorized =
        presented.is_some_and(|token| constant_time_eq(token.as_bytes(), state.token.as_bytes()));
    if !authorized {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "the event stream needs `Authorization: Bearer <token>` or `?token=<token>` (the token is in the data directory's api-token file)",
        ));
    }
    let upgrade = upgrade
        .map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid",
                format!("/api/events is a WebSocket: {e}"),
            )
        })?
        .read_buffer_size(CLIENT_READ_BUFFER);
    let filter = KindFilter::parse(query.kinds.as_deref());
    // Followed before the handshake is answered: a client that sees it accepted receives
    // every event announced from then on.
    let following = state.registry.follow(query.after);
    Ok(upgrade.on_upgrade(move |socket| async move {
        if let Err(e) = serve(socket, following, filter).await {
            tracing::debug!(error = %e, "event stream closed");
        }
    }))
}

/// What to do with one outcome of the live receiver.
#[derive(Debug, PartialEq)]
enum Step {
    /// Send this text frame and go on.
    Send(String),
    /// Not asked for: go on.
    Skip,
    /// Send this text frame, then close.
    SendAndClose(String),
    /// Close.
    Close,
}

/// Decides what an event (or a lag, or the bus closing) means for the client; `last` is
/// the id of the newest event it has been handed (sent or filtered out).
fn step(received: Result<Arc<Event>, RecvError>, last: &mut u64, filter: &KindFilter) -> Step {
    match received {
        Ok(event) => {
            *last = event.id;
            if filter.admits(&event) {
                Step::Send(serde_json::to_string(&*event).expect("events serialize"))
            } else {
                Step::Skip
            }
        }
        Err(RecvError::Lagged(missed)) => {
            tracing::info!(
                missed,
                last = *last,
                "event stream client too slow; closing it"
            );
            let error = format!("too slow: {missed} events missed; reconnect with ?after={last}");
            Step::SendAndClose(json!({ "error": error }).to_string())
        }
        Err(RecvError::Closed) => Step::Close,
    }
}

/// Sends the replay then the live events until the client leaves or falls behind.
async fn serve(
    mut socket: WebSocket,
    following: Following,
    filter: KindFilter,
) -> Result<(), axum::Error> {
    let Following {
        replay,
        mut live,
        newest,
    } = following;
    let mut last = newest;
    for event in replay {
        if let Step::Send(text) = step(Ok(event), &mut last, &filter) {
            socket.send(Message::Text(text.into())).await?;
        }
    }
    loop {
        let received = tokio::select! {
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return Ok(()),
                Some(Ok(_)) => continue,
            },
            received = live.recv() => received,
        };
        match step(received, &mut last, &filter) {
            Step::Send(text) => socket.send(Message::Text(text.into())).await?,
            Step::Skip => {}
            Step::SendAndClose(text) => {
                socket.send(Message::Text(text.into())).await?;
                return socket.send(Message::Close(None)).await;
            }
            Step::Close => return socket.send(Message::Close(None)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use hypernet_engine::{Manifest, Registry, RegistryOptions};
    use tokio_tungstenite::tungstenite;
    use tungstenite::client::IntoClientRequest;

    /// A host without plugins serving the API on a loopback port.
    async fn serve_api(dir: &std::path::Path) -> (Arc<Registry>, std::net::SocketAddr) {
        let manifest = Manifest::parse("", "test manifest", dir).expect("empty manifest");
        let store = hypernet_swarm::persist::open_store(&dir.join("hypernet.redb")).expect("store");
        let audit =
            hypernet_swarm::audit::Audit::open(store.clone(), &dir.join("keys")).expect("audit");
        let registry =
            Registry::start(manifest, store.clone(), RegistryOptions::default()).expect("registry");
        let config = hypernet_swarm::config::HostConfig {
            standing: Vec::new(),
            ..Default::default()
        };
        let parts = hypernet_swarm::scheduler::Parts {
            store,
            registry: registry.clone(),
            inbox: hypernet_swarm::scheduler::Inbox::default(),
            permissions: Arc::new(hypernet_swarm::tools::TierPermission::new(&[], &[])),
            audit: None,
            outbox: None,
            probe: None,
        };
        let scheduler = hypernet_swarm::scheduler::Scheduler::start(&config, parts)
            .await
            .expect("scheduler");
        let executor = hypernet_llm::HttpExecutor::new(&config.http).expect("HTTP client");
        let outbox = hypernet_swarm::outbox::Outbox::start(
            registry.clone(),
            Default::default(),
            Default::default(),
            executor.clone(),
        );
        let channels =
            hypernet_swarm::channels::Channels::start(hypernet_swarm::channels::ChannelsParts {
                registry: registry.clone(),
                outbox: outbox.clone(),
                scheduler: scheduler.clone(),
                audit: None,
                executor,
                config: Default::default(),
            });
        let app = super::super::router(
            AppState {
                registry: registry.clone(),
                token: Arc::from("secret"),
                scheduler,
                outbox,
                channels,
                audit,
            },
            &config.api,
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        (registry, addr)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_client_receives_every_event_announced_after_its_handshake() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (registry, addr) = serve_api(dir.path()).await;
        // Announced the moment each handshake is answered: a client subscribed only once
        // its upgrade ran would miss some of these.
        for client in 0..20 {
            let request = format!("ws://{addr}/api/events?token=secret")
                .into_client_request()
                .expect("request");
            let (mut socket, _) = tokio_tungstenite::connect_async(request)
                .await
                .expect("connect");
            let id = registry.announce("test.marker", json!({ "client": client }));
            let frame = tokio::time::timeout(std::time::Duration::from_secs(5), socket.next())
                .await
                .unwrap_or_else(|_| panic!("client {client} did not receive event {id}"))
                .expect("a frame")
                .expect("a readable frame");
            let event: serde_json::Value =
                serde_json::from_str(frame.to_text().expect("text")).expect("JSON");
            assert_eq!(event["id"], id, "client {client}");
        }
    }

    #[test]
    fn kind_prefixes_filter_and_an_empty_filter_admits_all() {
        let event = |kind: &str| Event::new(kind, "host", json!({}));
        let filter = KindFilter::parse(Some("task., budget."));
        assert!(filter.admits(&event("task.created")));
        assert!(filter.admits(&event("budget.exhausted")));
        assert!(!filter.admits(&event("plugin.enabled")));
        assert!(KindFilter::parse(None).admits(&event("plugin.enabled")));
        assert!(KindFilter::parse(Some(",")).admits(&event("anything")));
    }

    #[test]
    fn a_lagging_receiver_is_told_what_it_missed_and_closed() {
        let (tx, mut rx) = tokio::sync::broadcast::channel(2);
        for id in 1..=5 {
            let mut event = Event::new("task.ready", "host", json!({}));
            event.id = id;
            let _ = tx.send(Arc::new(event));
        }
        let filter = KindFilter::parse(None);
        let mut last = 0;
        let missed = match rx.try_recv() {
            Err(tokio::sync::broadcast::error::TryRecvError::Lagged(n)) => n,
            other => panic!("expected a lag, got {other:?}"),
        };
        assert_eq!(missed, 3);
        let lagged = step(Err(RecvError::Lagged(missed)), &mut last, &filter);
        assert_eq!(
            lagged,
            Step::SendAndClose(
                json!({ "error": "too slow: 3 events missed; reconnect with ?after=0" })
                    .to_string()
            )
        );
        let next = rx.try_recv().expect("the newest two remain");
        assert!(matches!(step(Ok(next), &mut last, &filter), Step::Send(_)));
        assert_eq!(last, 4);
        let hidden = KindFilter::parse(Some("budget."));
        let newest = rx.try_recv().expect("newest");
        assert_eq!(step(Ok(newest), &mut last, &hidden), Step::Skip);
        assert_eq!(last, 5, "filtered events still advance the resume point");
        drop(tx);
        assert_eq!(
            step(Err(RecvError::Closed), &mut last, &filter),
            Step::Close
        );
    }
}
