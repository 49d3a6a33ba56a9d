//! The host's event stream (`GET /api/events`, a WebSocket), followed for as long as the
//! console runs: streamed output (`task.output`) and the changes that make a refresh worth
//! it. A lost stream is opened again after a pause, from the last event seen
//! (`?after=`), so no output is missed while the host keeps it.

use anyhow::{Context, Result, bail};
use futures_util::StreamExt;
use serde_json::Value;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// The kinds followed: tasks (their output too), workers, plugins, the budget.
const KINDS: &str = "task.,worker.,plugin.,budget.";

/// The pause before opening a lost stream again.
const RETRY: Duration = Duration::from_secs(2);

/// What the stream tells the loop.
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    /// Events flow.
    Connected,
    /// One event `{"id", "kind", "source", "at_ms", "payload"}`.
    Event(Value),
    /// The stream was lost, and why; it is opened again.
    Lost(String),
}

/// Follows the stream of the host at `base` (`http://127.0.0.1:7477`) until the receiver
/// of `tx` is dropped or the task is aborted.
pub fn follow(base: String, token: Option<String>, tx: mpsc::Sender<Update>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut after = None;
        loop {
            let why = match stream(&base, token.as_deref(), &mut after, &tx).await {
                Ok(()) if tx.is_closed() => return,
                Ok(()) => "the host closed the stream".to_owned(),
                Err(err) => format!("{err:#}"),
            };
            tracing::debug!(%why, "event stream lost");
            if tx.send(Update::Lost(why)).await.is_err() {
                return;
            }
            tokio::time::sleep(RETRY).await;
        }
    })
}

/// The stream's address: `ws://` for `http://`, the kinds, and where to resume.
fn url(base: &str, after: Option<u64>) -> String {
    let base = match base.strip_prefix("http") {
        Some(rest) => format!("ws{rest}"),
        None => base.to_owned(),
    };
    let mut url = format!("{base}/api/events?kinds={KINDS}");
    if let Some(id) = after {
        url.push_str(&format!("&after={id}"));
    }
    url
}

/// One connection: passes events on until it ends; `after` follows the last one.
async fn stream(
    base: &str,
    token: Option<&str>,
    after: &mut Option<u64>,
    tx: &mpsc::Sender<Update>,
) -> Result<()> {
    let url = url(base, *after);
    let mut request = url.as_str().into_client_request()?;
    if let Some(token) = token {
        let bearer = format!("Bearer {token}")
            .parse()
            .context("the API token is not fit for a header")?;
        request.headers_mut().insert("authorization", bearer);
    }
    let (mut socket, _) = connect_async(request)
        .await
        .with_context(|| format!("opening {}", url.split('?').next().unwrap_or(&url)))?;
    if tx.send(Update::Connected).await.is_err() {
        return Ok(());
    }
    while let Some(frame) = socket.next().await {
        let text = match frame.context("reading the event stream")? {
            Message::Text(text) => text,
            Message::Close(_) => return Ok(()),
            _ => continue,
        };
        let event: Value =
            serde_json::from_str(&text).with_context(|| format!("an event is not JSON: {text}"))?;
        if let Some(error) = event.get("error") {
            bail!("the host dropped the stream: {error}");
        }
        if let Some(id) = event["id"].as_u64() {
            *after = Some(id);
        }
        if tx.send(Update::Event(event)).await.is_err() {
            return Ok(());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::url;

    #[test]
    fn the_stream_is_asked_for_its_kinds_and_resumed_after_the_last_event() {
        assert_eq!(
            url("http://127.0.0.1:7477", None),
            "ws://127.0.0.1:7477/api/events?kinds=task.,worker.,plugin.,budget."
        );
        assert_eq!(
            url("https://h:1", Some(42)),
            "wss://h:1/api/events?kinds=task.,worker.,plugin.,budget.&after=42"
        );
    }
}
