//! `GET /api/events`: the host's events as a WebSocket stream of JSON text frames.
//!
//! Needs the bearer token, in the `Authorization` header or (for browsers, which cannot set
//! headers on a WebSocket) the `token` query parameter. `kinds` keeps only events whose
//! kind starts with one of its comma-separated prefixes; `after` first replays the retained
//! events with a larger id, then continues live. A client too slow to keep up is told how
//! many events it missed and closed; it never holds up the bus.

use super::{ApiError, AppState, constant_time_eq};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use hypernet_plugin_api::Event;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

/// The query parameters of `GET /api/events`.
#[derive(Debug, Default, Deserialize)]
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

/// Upgrades an authorized request to the event stream.
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
    let upgrade = upgrade.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid",
            format!("/api/events is a WebSocket: {e}"),
        )
    })?;
    let filter = KindFilter::parse(query.kinds.as_deref());
    let after = query.after.unwrap_or(u64::MAX);
    let registry = state.registry.clone();
    Ok(upgrade.on_upgrade(move |socket| async move {
        // Without `after` nothing is replayed: u64::MAX is above every id.
        let (replay, live) = registry.follow(after);
        if let Err(e) = serve(socket, replay, live, filter).await {
            tracing::debug!(error = %e, "event stream closed");
        }
    }))
}

/// Sends the replay then the live events until the client leaves or falls behind.
async fn serve(
    mut socket: WebSocket,
    replay: Vec<Arc<Event>>,
    mut live: tokio::sync::broadcast::Receiver<Arc<Event>>,
    filter: KindFilter,
) -> Result<(), axum::Error> {
    let mut last = 0;
    for event in replay {
        last = event.id;
        send(&mut socket, &event, &filter).await?;
    }
    loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return Ok(()),
                Some(Ok(_)) => {}
            },
            event = live.recv() => match event {
                Ok(event) => {
                    last = event.id;
                    send(&mut socket, &event, &filter).await?;
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::info!(missed, last, "event stream client too slow; closing it");
                    let text = json!({
                        "error": format!("too slow: {missed} events missed; reconnect with ?after={last}")
                    });
                    socket.send(Message::Text(text.to_string().into())).await?;
                    return socket.send(Message::Close(None)).await;
                }
                Err(RecvError::Closed) => return socket.send(Message::Close(None)).await,
            },
        }
    }
}

async fn send(
    socket: &mut WebSocket,
    event: &Event,
    filter: &KindFilter,
) -> Result<(), axum::Error> {
    if !filter.admits(event) {
        return Ok(());
    }
    let text = serde_json::to_string(event).expect("events serialize");
    socket.send(Message::Text(text.into())).await
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
