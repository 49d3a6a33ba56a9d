//! Channel routes: the running channels, a channel's setup, and the endpoint each channel
//! receives its service's requests at (a Discord interaction, a Telegram webhook). That
//! endpoint needs no bearer token: the channel plugin checks the request itself (a
//! signature, a secret header) and answers 401 when it does not hold.

use super::{ApiError, AppState, ErrorBody};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use hypernet_plugin_api::channel::InboundRequest;
use hypernet_swarm::channels::{ChannelView, ChannelsError, SetupStep};
use serde::Deserialize;

impl From<ChannelsError> for ApiError {
    fn from(err: ChannelsError) -> Self {
        let (status, code) = match &err {
            ChannelsError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ChannelsError::Plugin { .. } => (StatusCode::BAD_GATEWAY, "plugin"),
            ChannelsError::Inbox(_) | ChannelsError::Stopped(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "store")
            }
        };
        ApiError::new(status, code, err.to_string())
    }
}

/// `{channel}` of a channel route.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ChannelPath {
    /// The channel's name (`discord`, `telegram`, ...).
    channel: String,
}

/// `{channel}/{path}` of a channel's inbound endpoint.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct InboundPath {
    /// The channel's name.
    channel: String,
    /// What the channel serves there (`interactions`, `webhook`).
    path: String,
}

/// List the running channels.
#[utoipa::path(
    get,
    path = "/api/channels",
    tag = "channels",
    operation_id = "list_channels",
    responses((status = 200, description = "Every running channel", body = Vec<ChannelView>)),
)]
pub(super) async fn list(State(state): State<AppState>) -> Json<Vec<ChannelView>> {
    Json(state.channels.list().await)
}

/// Set a channel up on its service (Discord: register the slash commands).
#[utoipa::path(
    post,
    path = "/api/channels/{channel}/setup",
    tag = "channels",
    operation_id = "setup_channel",
    params(ChannelPath),
    responses(
        (status = 200, description = "What each setup request got", body = Vec<SetupStep>),
        (status = 404, description = "`not_found`: no channel of that name is loaded", body = ErrorBody),
        (status = 502, description = "`plugin`: the channel plugin failed", body = ErrorBody),
    ),
)]
pub(super) async fn setup(
    State(state): State<AppState>,
    Path(ChannelPath { channel }): Path<ChannelPath>,
) -> Result<Json<Vec<SetupStep>>, ApiError> {
    Ok(Json(state.channels.setup(&channel).await?))
}

/// A request from a channel's service, handed to the channel as it came. No bearer token:
/// the channel verifies it (Discord's Ed25519 signature, Telegram's secret header).
#[utoipa::path(
    post,
    path = "/api/channels/{channel}/{path}",
    tag = "channels",
    operation_id = "channel_inbound",
    params(InboundPath),
    request_body(content = String, description = "The service's request, exactly as sent", content_type = "application/json"),
    responses(
        (status = 200, description = "The channel's answer, in the service's format"),
        (status = 400, description = "`invalid`: the body is not UTF-8 text", body = ErrorBody),
        (status = 401, description = "The channel refused the request's signature or secret"),
        (status = 404, description = "`not_found`: no channel of that name is loaded", body = ErrorBody),
        (status = 502, description = "`plugin`: the channel plugin failed", body = ErrorBody),
    ),
)]
pub(super) async fn inbound(
    State(state): State<AppState>,
    method: Method,
    Path(InboundPath { channel, path }): Path<InboundPath>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request = InboundRequest {
        method: method.to_string(),
        path,
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: String::from_utf8(body.to_vec())
            .map_err(|_| ApiError::invalid("the body is not UTF-8"))?,
    };
    let answer = state.channels.inbound(&channel, request).await?;
    let mut response = (
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY),
        answer.body,
    )
        .into_response();
    for (name, value) in answer.headers {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::try_from(name.as_str()),
            axum::http::HeaderValue::try_from(value.as_str()),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    Ok(response)
}
