//! Key routes: `GET /api/keys` lists the keyring (ids, owners, statuses, times — never a
//! secret); `POST /api/keys/rotate` replaces the host's active key; `POST
//! /api/keys/{id}/revoke` withdraws an older one. Each change is an audit entry.

use super::audit::API_ACTOR;
use super::openapi::refusals::BadPage;
use super::page::{Page, PageQuery};
use super::{ApiError, AppState, ErrorBody, blocking};
use axum::Json;
use axum::extract::{Path, State};
use hypernet_swarm::security::{KeyId, KeyRecord};

/// List the keyring's keys, oldest first.
#[utoipa::path(
    get,
    path = "/api/keys",
    tag = "security",
    operation_id = "list_keys",
    params(PageQuery),
    responses(
        (status = 200, description = "One page of the keys, oldest first", body = Page<KeyRecord>),
        BadPage,
    ),
)]
pub(super) async fn list(
    State(state): State<AppState>,
    super::extract::Query(page): super::extract::Query<PageQuery>,
) -> Result<Json<Page<KeyRecord>>, ApiError> {
    Ok(Json(Page::slice(state.audit.keys(), page)?))
}

/// Whose key a route makes or replaces.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyOwner {
    /// The entity the key speaks for (default `host`), e.g. a worker's address.
    #[serde(default)]
    pub owner: Option<String>,
}

impl KeyOwner {
    fn name(self) -> Result<String, ApiError> {
        let owner = self.owner.unwrap_or_else(|| "host".into());
        if owner.trim().is_empty() {
            return Err(ApiError::invalid("`owner` must not be empty"));
        }
        Ok(owner)
    }
}

/// Make the first key of an entity; refused (409) while it has an active key.
#[utoipa::path(
    post,
    path = "/api/keys",
    tag = "security",
    operation_id = "generate_key",
    request_body(content = Option<KeyOwner>, description = "Whose key (default `host`)"),
    responses(
        (status = 200, description = "The new active key", body = KeyRecord),
        (status = 400, description = "`invalid`: a bad body", body = ErrorBody),
        (status = 409, description = "`illegal_transition`: the owner has an active key; rotate it", body = ErrorBody),
        (status = 500, description = "`internal`: the keyring could not be written", body = ErrorBody),
    ),
)]
pub(super) async fn generate(
    State(state): State<AppState>,
    super::extract::OptionalJson(body): super::extract::OptionalJson<KeyOwner>,
) -> Result<Json<KeyRecord>, ApiError> {
    change_key(state, body, hypernet_swarm::audit::Audit::generate_key).await
}

/// Replace an entity's active key (default the host's) with a new one it endorses; the old
/// key becomes `rotated` and what it signed still verifies.
#[utoipa::path(
    post,
    path = "/api/keys/rotate",
    tag = "security",
    operation_id = "rotate_key",
    request_body(content = Option<KeyOwner>, description = "Whose key (default `host`)"),
    responses(
        (status = 200, description = "The new active key", body = KeyRecord),
        (status = 400, description = "`invalid`: a bad body", body = ErrorBody),
        (status = 409, description = "`illegal_transition`: the owner has no active key; generate one", body = ErrorBody),
        (status = 500, description = "`internal`: the keyring could not be written", body = ErrorBody),
    ),
)]
pub(super) async fn rotate(
    State(state): State<AppState>,
    super::extract::OptionalJson(body): super::extract::OptionalJson<KeyOwner>,
) -> Result<Json<KeyRecord>, ApiError> {
    change_key(state, body, hypernet_swarm::audit::Audit::rotate_key_of).await
}

/// Makes or replaces the key of the body's owner with `change` (recorded as the API's act).
async fn change_key(
    state: AppState,
    body: Option<KeyOwner>,
    change: fn(
        &hypernet_swarm::audit::Audit,
        &str,
        &str,
    ) -> Result<KeyRecord, hypernet_swarm::audit::AuditError>,
) -> Result<Json<KeyRecord>, ApiError> {
    let owner = body.unwrap_or_default().name()?;
    let audit = state.audit.clone();
    Ok(Json(
        blocking(move || change(&audit, &owner, API_ACTOR)).await?,
    ))
}

/// The `{id}` of `/api/keys/{id}/revoke`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(super) struct KeyPath {
    /// The key's id (`hk-` and 16 hex characters).
    id: String,
}

/// Revoke a key that is no longer active: what it signed stops verifying.
#[utoipa::path(
    post,
    path = "/api/keys/{id}/revoke",
    tag = "security",
    operation_id = "revoke_key",
    params(KeyPath),
    responses(
        (status = 200, description = "The key, revoked", body = KeyRecord),
        (status = 400, description = "`invalid`: not a key id", body = ErrorBody),
        (status = 404, description = "`not_found`: no such key", body = ErrorBody),
        (status = 409, description = "`illegal_transition`: the key is the active one (rotate first) or revoked already", body = ErrorBody),
    ),
)]
pub(super) async fn revoke(
    State(state): State<AppState>,
    Path(KeyPath { id }): Path<KeyPath>,
) -> Result<Json<KeyRecord>, ApiError> {
    let id: KeyId = id
        .parse()
        .map_err(|e: hypernet_swarm::security::KeyError| ApiError::invalid(e.to_string()))?;
    let audit = state.audit.clone();
    Ok(Json(
        blocking(move || audit.revoke_key(&id, API_ACTOR)).await?,
    ))
}
