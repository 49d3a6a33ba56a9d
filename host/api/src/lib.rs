//! The HTTP API served by `hypernet run` (loopback by default). Read calls are open;
//! mutating calls need the host's bearer token (`<data-dir>/api-token`). [`openapi`]
//! describes every route, built from the same list as the router.

mod approvals;
mod audit;
mod body;
mod budget;
mod bus;
mod channels;
mod coordinator;
mod cost;
mod dashboard;
mod describe;
mod error;
mod events;
mod extract;
mod federation;
mod graph;
mod keys;
mod listen;
mod metrics;
pub mod openapi;
pub mod page;
mod status;
mod tasks;
mod workers;

pub use error::{ApiError, ErrorBody, ErrorDetail};
pub use listen::no_delay;
pub use page::{Page, PageQuery};

use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::{Json, Router};
use extract::Query;
use hypernet_engine::{PluginState, PluginStatus, Registry};
use hypernet_plugin_api::ErrorCode;
use hypernet_swarm::config::ApiConfig;
use openapi::refusals::{BadPage, NoSuchPlugin, StoreFailed};
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use utoipa_axum::router::UtoipaMethodRouter;

/// A route's handler with its documentation, made when asked for: the documentation of every
/// route at once (its schemas, collected per route) is megabytes, and the router needs it
/// only one route at a time while it is built.
macro_rules! route {
    ($handler:path) => {
        (|| utoipa_axum::routes!($handler)) as MakeRoute
    };
}

/// Makes a route's handler with its `#[utoipa::path]` documentation.
type MakeRoute = fn() -> UtoipaMethodRouter<AppState>;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The plugin registry (and through it the store and bus).
    pub registry: Arc<Registry>,
    /// The bearer token mutating calls must present.
    pub token: Arc<str>,
    /// The scheduler.
    pub scheduler: hypernet_swarm::scheduler::Scheduler,
    /// Messages to people.
    pub outbox: hypernet_swarm::outbox::Outbox,
    /// Commands from people, through channel plugins.
    pub channels: hypernet_swarm::channels::Channels,
    /// The audit log and the keyring.
    pub audit: hypernet_swarm::audit::Audit,
}

/// One served route: its path, who may call it, and what makes its handler with the
/// handler's `#[utoipa::path]` documentation (which also gives the method).
type Route = (&'static str, Access, MakeRoute);

/// Every route the API serves. The router and the OpenAPI document are both built from this
/// one list; a handler without documentation cannot be listed.
fn routes() -> Vec<Route> {
    use Access::{Mutate, Open, Read};
    vec![
        ("/api/health", Open, route!(health)),
        ("/api/openapi.json", Open, route!(openapi::serve)),
        ("/api/status", Read, route!(status::status)),
        ("/metrics", Read, route!(metrics::metrics)),
        ("/api/summary", Read, route!(status::summary)),
        ("/api/tasks", Read, route!(tasks::list)),
        ("/api/tasks", Mutate, route!(tasks::file)),
        ("/api/tasks/{id}", Read, route!(tasks::show)),
        ("/api/tasks/{id}/graph", Read, route!(graph::show)),
        ("/api/tasks/{id}/cancel", Mutate, route!(tasks::cancel)),
        ("/api/tasks/{id}/retry", Mutate, route!(tasks::retry)),
        ("/api/tasks/{id}/answer", Mutate, route!(tasks::answer)),
        (
            "/api/tasks/{id}/decompose",
            Mutate,
            route!(coordinator::decompose),
        ),
        ("/api/conflicts", Read, route!(coordinator::conflicts)),
        ("/api/failures", Read, route!(tasks::failures)),
        ("/api/history", Read, route!(tasks::history)),
        ("/api/workers", Read, route!(workers::list)),
        ("/api/workers", Mutate, route!(workers::add)),
        ("/api/workers/{name}", Read, route!(workers::show)),
        ("/api/workers/{name}/pause", Mutate, route!(workers::pause)),
        (
            "/api/workers/{name}/resume",
            Mutate,
            route!(workers::resume),
        ),
        (
            "/api/workers/{name}/remove",
            Mutate,
            route!(workers::remove),
        ),
        (
            "/api/workers/{name}/personal",
            Read,
            route!(workers::personal),
        ),
        ("/api/budget", Read, route!(budget::show)),
        ("/api/budget", Mutate, route!(budget::set)),
        ("/api/budget/history", Read, route!(budget::history)),
        ("/api/cost", Read, route!(cost::report)),
        ("/api/cost/estimate", Read, route!(cost::estimate)),
        ("/api/plugins", Read, route!(list_plugins)),
        ("/api/plugins/{name}", Read, route!(show_plugin)),
        ("/api/plugins/{name}/describe", Read, route!(describe::show)),
        ("/api/plugins/{name}/enable", Mutate, route!(enable_plugin)),
        (
            "/api/plugins/{name}/disable",
            Mutate,
            route!(disable_plugin),
        ),
        (
            "/api/plugins/{name}/query/{query}",
            Mutate,
            route!(query_plugin),
        ),
        ("/api/approvals", Read, route!(approvals::list)),
        ("/api/approvals/{id}", Read, route!(approvals::show)),
        (
            "/api/approvals/{id}/approve",
            Mutate,
            route!(approvals::approve),
        ),
        ("/api/approvals/{id}/deny", Mutate, route!(approvals::deny)),
        ("/api/audit", Read, route!(audit::list)),
        ("/api/audit/verify", Read, route!(audit::verify)),
        ("/api/audit/prune", Mutate, route!(audit::prune)),
        ("/api/keys", Read, route!(keys::list)),
        ("/api/keys", Mutate, route!(keys::generate)),
        ("/api/keys/rotate", Mutate, route!(keys::rotate)),
        ("/api/keys/{id}/revoke", Mutate, route!(keys::revoke)),
        ("/api/channels", Read, route!(channels::list)),
        (
            "/api/channels/{channel}/setup",
            Mutate,
            route!(channels::setup),
        ),
        (
            "/api/channels/{channel}/{path}",
            Open,
            route!(channels::inbound),
        ),
        ("/api/messages", Read, route!(list_messages)),
        ("/api/messages", Mutate, route!(send_message)),
        ("/api/federation", Read, route!(federation::show)),
        ("/api/bus", Read, route!(bus::list)),
        ("/api/bus/{id}", Read, route!(bus::show)),
        // The event stream checks the token itself: browsers cannot set headers on a
        // WebSocket, so it also takes `?token=`.
        ("/api/events", Open, route!(events::stream)),
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
    for (path, access, make) in routes() {
        let (_, paths, handler) = make();
        let needs_token = match access {
            Access::Open => false,
            Access::Read => config.read_requires_token,
            Access::Mutate => true,
        };
        let rule = body::BodyRule {
            max: config.max_body_bytes,
            takes_body: openapi::takes_body(&paths),
        };
        let handler = handler.route_layer(middleware::from_fn_with_state(rule, body::bound));
        if needs_token {
            guarded = guarded.route(path, handler);
        } else {
            open = open.route(path, handler);
        }
    }
    let guarded = guarded.route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    let page = body::BodyRule {
        max: config.max_body_bytes,
        takes_body: false,
    };
    let dashboard =
        dashboard::router().route_layer(middleware::from_fn_with_state(page, body::bound));
    open.merge(guarded)
        .merge(dashboard)
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

/// Answer of `GET /api/health`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Health {
    /// Always true: the host answers.
    ok: bool,
    /// The host's version.
    version: &'static str,
    /// The host's process id.
    pid: u32,
}

/// Check that the host is up.
#[utoipa::path(
    get,
    path = "/api/health",
    tag = "host",
    operation_id = "health",
    responses((status = 200, description = "The host is up", body = Health)),
)]
async fn health() -> Json<Health> {
    Json(Health {
        ok: true,
        version: env!("CARGO_PKG_VERSION"),
        pid: std::process::id(),
    })
}

/// List the plugins of the manifest with their state and services.
#[utoipa::path(
    get,
    path = "/api/plugins",
    tag = "plugins",
    operation_id = "list_plugins",
    params(PageQuery),
    responses(
        (status = 200, description = "One page of the plugins, in load order", body = Page<PluginStatus>),
        BadPage,
    ),
)]
async fn list_plugins(
    State(state): State<AppState>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<PluginStatus>>, ApiError> {
    Ok(Json(Page::slice(state.registry.statuses(), page)?))
}

/// The `{name}` of `/api/plugins/{name}` and the routes below it.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
struct PluginPath {
    /// The plugin's name in the manifest.
    name: String,
}

/// Show one plugin.
#[utoipa::path(
    get,
    path = "/api/plugins/{name}",
    tag = "plugins",
    operation_id = "show_plugin",
    params(PluginPath),
    responses(
        (status = 200, description = "The plugin", body = PluginStatus),
        NoSuchPlugin,
    ),
)]
async fn show_plugin(
    State(state): State<AppState>,
    Path(PluginPath { name }): Path<PluginPath>,
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

/// Start a disabled or failed plugin (loading its library if needed).
#[utoipa::path(
    post,
    path = "/api/plugins/{name}/enable",
    tag = "plugins",
    operation_id = "enable_plugin",
    params(PluginPath),
    responses(
        (status = 200, description = "The plugin, loaded", body = PluginStatus),
        NoSuchPlugin,
        (status = 409, description = "`failed`: the plugin could not start, e.g. its key is missing (the message says why)", body = ErrorBody),
    ),
)]
async fn enable_plugin(
    State(state): State<AppState>,
    Path(PluginPath { name }): Path<PluginPath>,
) -> Result<Json<PluginStatus>, ApiError> {
    let registry = state.registry.clone();
    let enabled = blocking(move || {
        registry.enable(&name).map_err(|err| match err.code() {
            // The manifest or the environment keeps it from starting: the caller's to fix.
            ErrorCode::Failed => {
                ApiError::new(StatusCode::CONFLICT, err.code().as_str(), err.message())
            }
            _ => err.into(),
        })
    })
    .await?;
    Ok(Json(enabled))
}

/// Stop a plugin: it gets no events or calls until enabled again.
#[utoipa::path(
    post,
    path = "/api/plugins/{name}/disable",
    tag = "plugins",
    operation_id = "disable_plugin",
    params(PluginPath),
    responses(
        (status = 200, description = "The plugin, disabled", body = PluginStatus),
        NoSuchPlugin,
    ),
)]
async fn disable_plugin(
    State(state): State<AppState>,
    Path(PluginPath { name }): Path<PluginPath>,
) -> Result<Json<PluginStatus>, ApiError> {
    let registry = state.registry.clone();
    Ok(Json(blocking(move || registry.disable(&name)).await?))
}

/// Send a message to a person; it is held for the herald's approval when the herald is
/// loaded, else sent at once.
#[utoipa::path(
    post,
    path = "/api/messages",
    tag = "messages",
    operation_id = "send_message",
    request_body = hypernet_swarm::outbox::NewMessage,
    responses(
        (status = 200, description = "The message, stored: `held` for the herald, `queued` for its channels, or `sent`", body = hypernet_swarm::outbox::Message),
        (status = 400, description = "`invalid`: a bad or unknown field, or the message could not be filed", body = ErrorBody),
    ),
)]
async fn send_message(
    State(state): State<AppState>,
    extract::Json(message): extract::Json<hypernet_swarm::outbox::NewMessage>,
) -> Result<Json<hypernet_swarm::outbox::Message>, ApiError> {
    let filed = state
        .outbox
        .file(message)
        .await
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    Ok(Json(filed))
}

/// List every message with its status.
#[utoipa::path(
    get,
    path = "/api/messages",
    tag = "messages",
    operation_id = "list_messages",
    params(PageQuery),
    responses(
        (status = 200, description = "One page of the messages", body = Page<hypernet_swarm::outbox::Message>),
        BadPage,
        StoreFailed,
    ),
)]
async fn list_messages(
    State(state): State<AppState>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<hypernet_swarm::outbox::Message>>, ApiError> {
    let outbox = state.outbox.clone();
    let all = blocking(move || outbox.all().map_err(|e| ApiError::internal(e.to_string()))).await?;
    Ok(Json(Page::slice(all, page)?))
}

/// Call a plugin's named query with JSON arguments; answers what the plugin answers.
#[utoipa::path(
    post,
    path = "/api/plugins/{name}/query/{query}",
    tag = "plugins",
    operation_id = "query_plugin",
    params(
        ("name" = String, Path, description = "The plugin, or `plugin:service` when it has several services"),
        ("query" = String, Path, description = "The query's name"),
    ),
    request_body(content = Option<Value>, description = "The query's arguments: any JSON; no body means `null`"),
    responses(
        (status = 200, description = "The plugin's answer", body = Value),
        (status = 400, description = "`invalid`: the body is not JSON, the plugin refused the arguments, or it has several services and none was named", body = ErrorBody),
        (status = 403, description = "`capability_denied`: the plugin lacks a capability the query needs", body = ErrorBody),
        (status = 404, description = "`not_found`: no such plugin, service or query", body = ErrorBody),
        (status = 409, description = "`disabled` or `failed`: the plugin is not running; enable it (the message says why it failed)", body = ErrorBody),
        (status = 500, description = "`failed` or `panicked`: the plugin failed while answering", body = ErrorBody),
        (status = 503, description = "`unavailable`: the plugin did not answer in time", body = ErrorBody),
    ),
)]
async fn query_plugin(
    State(state): State<AppState>,
    Path((name, query)): Path<(String, String)>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let body = body.map_err(extract::body_refused)?;
    let args: Value = if extract::is_empty(&body) {
        Value::Null
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::invalid(format!("request body is not JSON: {e}")))?
    };
    running(&state.registry, &name)?;
    Ok(Json(state.registry.query(&name, &query, args).await?))
}

/// Refuses a call to a plugin that is not running (409, its state as the code): the caller's
/// to change by enabling it. An unknown plugin is left to the call, which names it.
pub(crate) fn running(registry: &Registry, address: &str) -> Result<(), ApiError> {
    let plugin = address
        .split_once(':')
        .map_or(address, |(plugin, _)| plugin);
    let Ok(status) = registry.status(plugin) else {
        return Ok(());
    };
    let message = match &status.state {
        PluginState::Loaded => return Ok(()),
        PluginState::Disabled => format!("plugin `{plugin}` is disabled; enable it first"),
        PluginState::Failed(reason) => format!("plugin `{plugin}` has failed: {reason}"),
    };
    Err(ApiError::new(
        StatusCode::CONFLICT,
        status.state.label(),
        message,
    ))
}
