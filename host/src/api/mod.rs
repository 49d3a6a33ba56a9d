//! The HTTP API served by `hypernet run` (loopback by default). Read calls are open;
//! mutating calls need the host's bearer token (`<data-dir>/api-token`).

mod budget;
mod error;
mod events;
mod extract;
mod graph;
pub mod page;
mod status;
mod tasks;
mod workers;

pub use error::ApiError;
pub use page::{Page, PageQuery};

use crate::config::ApiConfig;
use crate::plugins::{PluginStatus, Registry};
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};
use axum::{Json, Router};
use extract::Query;
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

/// Every route the API serves: path, method and handler. The router and the OpenAPI
/// document are both built from this one list.
fn routes() -> Vec<(&'static str, Access, MethodRouter<AppState>)> {
    use Access::{Mutate, Open, Read};
    vec![
        ("/api/health", Open, get(health)),
        ("/api/status", Read, get(status::status)),
        ("/api/summary", Read, get(status::summary)),
        ("/api/tasks", Read, get(tasks::list)),
        ("/api/tasks", Mutate, post(tasks::file)),
        ("/api/tasks/{id}", Read, get(tasks::show)),
        ("/api/tasks/{id}/graph", Read, get(graph::show)),
        ("/api/tasks/{id}/cancel", Mutate, post(tasks::cancel)),
        ("/api/tasks/{id}/retry", Mutate, post(tasks::retry)),
        ("/api/failures", Read, get(tasks::failures)),
        ("/api/history", Read, get(tasks::history)),
        ("/api/workers", Read, get(workers::list)),
        ("/api/workers/{name}", Read, get(workers::show)),
        ("/api/budget", Read, get(budget::show)),
        ("/api/budget", Mutate, post(budget::set)),
        ("/api/budget/history", Read, get(budget::history)),
        ("/api/plugins", Read, get(list_plugins)),
        ("/api/plugins/{name}", Read, get(show_plugin)),
        ("/api/plugins/{name}/enable", Mutate, post(enable_plugin)),
        ("/api/plugins/{name}/disable", Mutate, post(disable_plugin)),
        (
            "/api/plugins/{name}/query/{query}",
            Mutate,
            post(query_plugin),
        ),
        ("/api/messages", Read, get(list_messages)),
        ("/api/messages", Mutate, post(send_message)),
        // The event stream checks the token itself: browsers cannot set headers on a
        // WebSocket, so it also takes `?token=`.
        ("/api/events", Open, get(events::stream)),
    ]
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Anyone who can reach the port.
    Open,
    /// Anyone, unless `[api] read_requires_token` is set.
    Read,
    /// Holders of the bearer token.
    Mutate,
}

/// The API router.
pub fn router(state: AppState, config: &ApiConfig) -> Router {
    let mut open = Router::new();
    let mut guarded = Router::new();
    for (path, access, handler) in routes() {
        let needs_token = match access {
            Access::Open => false,
            Access::Read => config.read_requires_token,
            Access::Mutate => true,
        };
        if needs_token {
            guarded = guarded.route(path, handler);
        } else {
            open = open.route(path, handler);
        }
    }
    let guarded = guarded.route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    open.merge(guarded)
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .with_state(state)
}

async fn unknown_route(request: Request) -> ApiError {
    ApiError::not_found(format!("no route {}", request.uri().path()))
}

async fn wrong_method(request: Request) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{} does not take {}",
            request.uri().path(),
            request.method()
        ),
    )
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
        Some(_) => Err(ApiError::unauthorized(
            "the bearer token does not match this host's",
        )),
        None => Err(ApiError::unauthorized(
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

async fn list_plugins(
    State(state): State<AppState>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<PluginStatus>>, ApiError> {
    Ok(Json(Page::slice(state.registry.statuses(), page)?))
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
        .map_err(|e| ApiError::internal(e.to_string()))?
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
    extract::Json(message): extract::Json<crate::outbox::NewMessage>,
) -> Result<Json<crate::outbox::Message>, ApiError> {
    let filed = state
        .outbox
        .file(message)
        .await
        .map_err(|e| ApiError::invalid(format!("{e:#}")))?;
    Ok(Json(filed))
}

async fn list_messages(
    State(state): State<AppState>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<crate::outbox::Message>>, ApiError> {
    let outbox = state.outbox.clone();
    let all = blocking(move || {
        outbox
            .all()
            .map_err(|e| ApiError::internal(format!("{e:#}")))
    })
    .await?;
    Ok(Json(Page::slice(all, page)?))
}

async fn query_plugin(
    State(state): State<AppState>,
    Path((name, query)): Path<(String, String)>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let body = body.map_err(extract::body_refused)?;
    let args: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::invalid(format!("request body is not JSON: {e}")))?
    };
    Ok(Json(state.registry.query(&name, &query, args).await?))
}
