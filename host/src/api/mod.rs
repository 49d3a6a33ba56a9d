//! The HTTP API served by `hypernet run` (loopback by default). Read calls are open;
//! mutating calls need the host's bearer token (`<data-dir>/api-token`).

mod budget;
mod dashboard;
mod error;
mod events;
mod tasks;

pub use error::ApiError;

use crate::plugins::{PluginStatus, Registry};
use axum::extract::{Path, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::sync::Arc;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The plugin registry (and through it the store and bus).
    pub registry: Arc<Registry>,
    /// The bearer token mutating calls must present.
    pub token: Arc<str>,
    /// The scheduler.
    pub scheduler: crate::scheduler::Scheduler,
    /// Messages to people.
    pub outbox: crate::outbox::Outbox,
}

/// The API router.
pub fn router(state: AppState) -> Router {
    let mutating = Router::new()
        .route("/api/plugins/{name}/enable", post(enable_plugin))
        .route("/api/plugins/{name}/disable", post(disable_plugin))
        .route("/api/plugins/{name}/query/{query}", post(query_plugin))
        .route("/api/tasks", post(tasks::file))
        .route("/api/tasks/{id}/cancel", post(tasks::cancel))
        .route("/api/tasks/{id}/retry", post(tasks::retry))
        .route("/api/budget", post(budget::set))
        .route("/api/messages", post(send_message))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .route("/api/health", get(health))
        .route("/api/plugins", get(list_plugins))
        .route("/api/plugins/{name}", get(show_plugin))
        .route("/api/tasks", get(tasks::list))
        .route("/api/tasks/{id}", get(tasks::show))
        .route("/api/status", get(tasks::status))
        .route("/api/summary", get(tasks::summary))
        .route("/api/workers", get(tasks::workers))
        .route("/api/workers/{name}", get(tasks::worker))
        .route("/api/failures", get(tasks::failures))
        .route("/api/history", get(tasks::history))
        .route("/api/budget", get(budget::show))
        .route("/api/messages", get(list_messages))
        .route("/api/events", get(events::stream))
        .merge(mutating)
        .merge(dashboard::router())
        .with_state(state)
}

async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match presented {
        Some(token) if constant_time_eq(token.as_bytes(), state.token.as_bytes()) => {
            Ok(next.run(request).await)
        }
        Some(_) => Err(ApiError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "unauthorized",
            "the bearer token does not match this host's",
        )),
        None => Err(ApiError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this call needs `Authorization: Bearer <token>` (the token is in the data directory's api-token file)",
        )),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn health() -> Json<Value> {
    Json(json!({ "ok": true, "version": env!("CARGO_PKG_VERSION"), "pid": std::process::id() }))
}

async fn list_plugins(State(state): State<AppState>) -> Json<Vec<PluginStatus>> {
    Json(state.registry.statuses())
}

async fn show_plugin(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<PluginStatus>, ApiError> {
    Ok(Json(state.registry.status(&name)?))
}

/// Runs a blocking registry or store operation off the async workers.
pub(crate) async fn blocking<T: Send + 'static, E: Into<ApiError> + Send + 'static>(
    f: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| {
            ApiError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                e.to_string(),
            )
        })?
        .map_err(Into::into)
}

async fn enable_plugin(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<PluginStatus>, ApiError> {
    let registry = state.registry.clone();
    Ok(Json(blocking(move || registry.enable(&name)).await?))
}

async fn disable_plugin(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<PluginStatus>, ApiError> {
    let registry = state.registry.clone();
    Ok(Json(blocking(move || registry.disable(&name)).await?))
}

async fn send_message(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Json<crate::outbox::Message>, ApiError> {
    let message: crate::outbox::NewMessage =
        serde_json::from_slice(&body).map_err(|e| ApiError::invalid(format!("message: {e}")))?;
    let filed = state
        .outbox
        .file(message)
        .await
        .map_err(|e| ApiError::invalid(format!("{e:#}")))?;
    Ok(Json(filed))
}

async fn list_messages(
    State(state): State<AppState>,
) -> Result<Json<Vec<crate::outbox::Message>>, ApiError> {
    let outbox = state.outbox.clone();
    let internal =
        |e: String| ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "internal", e);
    let all = tokio::task::spawn_blocking(move || outbox.all())
        .await
        .map_err(|e| internal(e.to_string()))?
        .map_err(|e| internal(format!("{e:#}")))?;
    Ok(Json(all))
}

async fn query_plugin(
    State(state): State<AppState>,
    Path((name, query)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let args: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::invalid(format!("request body is not JSON: {e}")))?
    };
    Ok(Json(state.registry.query(&name, &query, args).await?))
}
