//! `GET /api/plugins/{name}/describe`: what a plugin offers, service by service — a
//! subsystem's queries and events (its `plugin.describe` answer) and tools (`tools.list`),
//! a provider's models.

use super::openapi::refusals::NoSuchPlugin;
use super::{ApiError, AppState, ErrorBody};
use axum::Json;
use axum::extract::{Path, State};
use hypernet_engine::Registry;
use hypernet_plugin_api::describe::{self, Description};
use hypernet_plugin_api::protocol::provider::Op;
use hypernet_plugin_api::provider::ProviderInfo;
use hypernet_plugin_api::{ErrorCode, ServiceKind, tool};
use serde::Serialize;
use serde_json::Value;

/// What one plugin offers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PluginDescription {
    /// The plugin's name in the manifest.
    pub plugin: String,
    /// Its services; none while it is not running.
    pub services: Vec<ServiceDescription>,
}

/// What one service offers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ServiceDescription {
    /// The service's name.
    pub name: String,
    /// Where queries go: the plugin's name, or `plugin:service` when it has several.
    pub address: String,
    /// `subsystem`, `provider` or `channel`.
    #[schema(value_type = hypernet_model::schema::ServiceKind)]
    pub kind: ServiceKind,
    /// Whether it describes its queries and events (a plugin built before descriptions
    /// existed, or one that declares nothing, does not).
    pub declared: bool,
    /// Its queries: `{name, description, args, answer}`.
    #[schema(value_type = Vec<Object>)]
    pub queries: Vec<describe::QueryDecl>,
    /// The events it publishes: `{kind, description, payload}`.
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<describe::EventDecl>,
    /// The tools it offers the models: `{name, description, input_schema, tier}`.
    #[schema(value_type = Vec<Object>)]
    pub tools: Vec<Value>,
    /// A provider's models (ids, or prefixes ending in `/`).
    pub models: Vec<String>,
}

/// Describe what a plugin offers: each service's queries (with their arguments and
/// answers), the events it publishes, its tools and a provider's models.
#[utoipa::path(
    get,
    path = "/api/plugins/{name}/describe",
    tag = "plugins",
    operation_id = "describe_plugin",
    params(("name" = String, Path, description = "The plugin's name in the manifest")),
    responses(
        (status = 200, description = "What it offers", body = PluginDescription),
        NoSuchPlugin,
        (status = 409, description = "`disabled` or `failed`: the plugin is not running; enable it", body = ErrorBody),
        (status = 500, description = "`failed` or `panicked`: the plugin failed while answering, or its description does not read", body = ErrorBody),
        (status = 503, description = "`unavailable`: the plugin did not answer in time", body = ErrorBody),
    ),
)]
pub(super) async fn show(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<PluginDescription>, ApiError> {
    let status = state.registry.status(&name)?;
    super::running(&state.registry, &name)?;
    let several = status.services.len() > 1;
    let mut services = Vec::new();
    for service in status.services {
        let address = if several {
            format!("{name}:{}", service.name)
        } else {
            name.clone()
        };
        services
            .push(describe_service(&state.registry, service.name, address, service.kind).await?);
    }
    Ok(Json(PluginDescription {
        plugin: name,
        services,
    }))
}

async fn describe_service(
    registry: &Registry,
    name: String,
    address: String,
    kind: ServiceKind,
) -> Result<ServiceDescription, ApiError> {
    let mut out = ServiceDescription {
        name,
        address,
        kind,
        declared: false,
        queries: Vec::new(),
        events: Vec::new(),
        tools: Vec::new(),
        models: Vec::new(),
    };
    match kind {
        ServiceKind::Subsystem => {
            if let Some(answer) = optional(registry, &out.address, describe::QUERY).await? {
                let d: Description = serde_json::from_value(answer).map_err(|e| {
                    ApiError::internal(format!("`{}` describes itself badly: {e}", out.address))
                })?;
                out.declared = true;
                (out.queries, out.events) = (d.queries, d.events);
            }
            if let Some(Value::Array(tools)) = optional(registry, &out.address, tool::LIST).await? {
                out.tools = tools;
            }
        }
        ServiceKind::Provider => {
            let answer = optional(registry, &out.address, Op::Describe.name()).await?;
            if let Some(info) = answer.and_then(|a| serde_json::from_value::<ProviderInfo>(a).ok())
            {
                out.models = info.models;
            }
        }
        _ => {}
    }
    Ok(out)
}

/// A query's answer, or `None` when the service does not know the query.
async fn optional(
    registry: &Registry,
    address: &str,
    query: &str,
) -> Result<Option<Value>, ApiError> {
    match registry.query(address, query, Value::Null).await {
        Ok(answer) => Ok(Some(answer)),
        Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}
