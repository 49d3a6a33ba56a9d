//! `GET /api/openapi.json`: the API's OpenAPI 3 document, built once from the API's route
//! list, the one the router is built from.
//!
//! Each handler's `#[utoipa::path]` gives its method, parameters, body and answers; the
//! route list adds who may call it (the bearer requirement and its 401 come from the route's
//! access level, so the document cannot disagree with the router about tokens). Types from
//! `hypernet-plugin-api` are described here by mirrors ([`Priority`], [`ServiceKind`],
//! [`ServiceInfo`]) so that the plugin ABI crate stays free of documentation machinery.

pub mod refusals;
#[cfg(test)]
mod tests;

pub use hypernet_model::schema::{Priority, ServiceInfo, ServiceKind};

use super::{Access, ErrorBody, Route};
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde_json::{Value, json};
use std::sync::LazyLock;
use utoipa::openapi::path::{Operation, PathItem, Paths};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ComponentsBuilder, Content, InfoBuilder, OpenApi, OpenApiBuilder, Ref, RefOr, ResponseBuilder,
};
use utoipa::{PartialSchema, ToSchema};

/// The name of the bearer security scheme in the document.
const BEARER: &str = "bearer";

/// The operation groups, in the order a reader meets them.
const TAGS: [(&str, &str); 12] = [
    ("host", "Health, status, totals and this document"),
    (
        "tasks",
        "Filing, listing, cancelling and retrying tasks; dependency graphs",
    ),
    ("workers", "Workers with their stats and recent activity"),
    ("budget", "Spend, limits and spend by day"),
    (
        "plugins",
        "Plugin states, run-time enable and disable, named queries",
    ),
    (
        "approvals",
        "Actions waiting for a person's approval: list, approve, deny",
    ),
    (
        "messages",
        "Messages to people, held for the herald when it is loaded",
    ),
    (
        "channels",
        "Channels to people: the running ones, their setup, the endpoint their services call",
    ),
    (
        "bus",
        "Messages between workers, with their threads and statuses",
    ),
    (
        "federation",
        "Other swarms: peers, their load, and the tasks delegated in and out",
    ),
    ("events", "The live event stream (WebSocket)"),
    (
        "security",
        "The signed audit log and its verification; the host's keys",
    ),
];

const DESCRIPTION: &str = "The HTTP API of a Hypernet Swarm host.\n\n\
Calls marked with the `bearer` requirement need `Authorization: Bearer <token>`; the token \
is in the data directory's `api-token` file. Reads are open unless the host sets \
`[api] read_requires_token`, which is why they list an empty requirement beside `bearer`.\n\n\
Every refusal is `{\"error\": {\"code\", \"message\"}}` (`ErrorBody`) with its status; an \
unknown path is a 404 `not_found` and a method a path does not take a 405 \
`method_not_allowed`. A body is the documented JSON object (any other JSON value is a \
400); a route that documents no body refuses one (400), and every route refuses a body \
over `[api] max_body_bytes` (413). Every list pages with `?offset=&limit=` (default 100, \
at most 1000) and answers `{\"items\", \"total\", \"offset\", \"limit\"}`.";

/// The document as JSON text, built on first use.
static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    let mut document =
        serde_json::to_value(build(super::routes())).expect("the OpenAPI document serializes");
    refer_to_named_schemas(&mut document);
    document.to_string()
});

/// The API's OpenAPI 3 document as JSON text, as `GET /api/openapi.json` serves it.
pub fn document() -> &'static str {
    &DOCUMENT
}

/// This API's OpenAPI 3 document.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "host",
    operation_id = "openapi",
    responses((status = 200, description = "This document", body = Object)),
)]
pub(super) async fn serve() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], document())
}

/// The document of `routes`: every route's operation, with its access applied, and every
/// schema they reach.
fn build(routes: Vec<Route>) -> OpenApi {
    let mut paths = Paths::new();
    // The 401s added below refer to the error shape whichever routes are listed.
    let mut schemas = vec![(ErrorBody::name().into_owned(), ErrorBody::schema())];
    ErrorBody::schemas(&mut schemas);
    for (_, access, make) in routes {
        let (route_schemas, mut route_paths, _) = make();
        for item in route_paths.paths.values_mut() {
            for operation in operations(item) {
                require(operation, access);
                bound_body(operation);
            }
        }
        paths.merge(route_paths);
        schemas.extend(route_schemas);
    }
    let bearer = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .description(Some(
            "The host's token, from `<data-dir>/api-token`; the CLI reads it itself",
        ))
        .build();
    let components = ComponentsBuilder::new()
        .schemas_from_iter(schemas)
        .security_scheme(BEARER, SecurityScheme::Http(bearer))
        .build();
    let tags = TAGS.map(|(name, description)| {
        TagBuilder::new()
            .name(name)
            .description(Some(description))
            .build()
    });
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Hypernet Swarm API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(DESCRIPTION))
                .build(),
        )
        .paths(paths)
        .components(Some(components))
        .tags(Some(tags))
        .build()
}

/// Replaces inline copies of named schemas with references to them: utoipa inlines the
/// arguments of generic types, so the items of `Page<Task>` would repeat all of `Task`.
fn refer_to_named_schemas(document: &mut Value) {
    let named: Vec<(Value, Value)> = document["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, schema)| {
            let reference = json!({ "$ref": format!("#/components/schemas/{name}") });
            (schema.clone(), reference)
        })
        .collect();
    fn walk(value: &mut Value, named: &[(Value, Value)], top: bool) {
        if !top && let Some((_, reference)) = named.iter().find(|(schema, _)| schema == value) {
            *value = reference.clone();
            return;
        }
        match value {
            Value::Object(fields) => fields.values_mut().for_each(|v| walk(v, named, false)),
            Value::Array(items) => items.iter_mut().for_each(|v| walk(v, named, false)),
            _ => {}
        }
    }
    if let Some(schemas) = document["components"]["schemas"].as_object_mut() {
        schemas
            .values_mut()
            .for_each(|schema| walk(schema, &named, true));
    }
    walk(&mut document["paths"], &named, true);
}

/// Every operation of a path item.
fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// Whether the documented route takes a request body; one that documents none refuses any.
pub(super) fn takes_body(paths: &Paths) -> bool {
    paths
        .paths
        .values()
        .flat_map(|item| [&item.get, &item.put, &item.post, &item.delete, &item.patch])
        .flatten()
        .any(|operation| operation.request_body.is_some())
}

/// Adds the refusals of the body layers, which every route has: the 413 of a body over
/// `[api] max_body_bytes`, and on a route that documents no body, the 400 of sending one.
fn bound_body(operation: &mut Operation) {
    let responses = &mut operation.responses.responses;
    responses.insert(
        "413".to_owned(),
        RefOr::T(error_response(
            "`too_large`: the body is over `[api] max_body_bytes`",
        )),
    );
    if operation.request_body.is_some() {
        return;
    }
    const NO_BODY: &str = "a body was sent, and this route takes none";
    match responses.get_mut("400") {
        Some(RefOr::T(response)) => {
            let own = response.description.trim_end_matches('.');
            response.description = format!("{own}; or {NO_BODY}");
        }
        _ => {
            let description = format!("`invalid`: {NO_BODY}");
            responses.insert("400".to_owned(), RefOr::T(error_response(&description)));
        }
    }
}

/// An answer of `description` whose body is the error shape.
fn error_response(description: &str) -> utoipa::openapi::Response {
    let body = Content::new(Some(RefOr::Ref(Ref::from_schema_name(ErrorBody::name()))));
    ResponseBuilder::new()
        .description(description)
        .content("application/json", body)
        .build()
}

/// Adds who may call an operation: the bearer requirement (optional for reads) and the 401
/// that refuses everyone else. Open routes that check a token themselves document it.
fn require(operation: &mut Operation, access: Access) {
    let (security, refused) = match access {
        Access::Open => return,
        Access::Read => (
            vec![
                SecurityRequirement::default(),
                SecurityRequirement::new(BEARER, Vec::<String>::new()),
            ],
            "`unauthorized`: the host sets `[api] read_requires_token` and the token is missing or wrong",
        ),
        Access::Mutate => (
            vec![SecurityRequirement::new(BEARER, Vec::<String>::new())],
            "`unauthorized`: the bearer token is missing or wrong",
        ),
    };
    operation.security = Some(security);
    operation
        .responses
        .responses
        .insert("401".to_owned(), RefOr::T(error_response(refused)));
}
