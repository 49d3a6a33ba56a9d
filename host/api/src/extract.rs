//! Extractors whose refusals keep the API's one error shape (axum's own answer in plain
//! text): query strings, and JSON object bodies within the configured size limit.
//!
//! Every body the API documents is a JSON object, so [`Json`] and [`OptionalJson`] refuse
//! any other JSON value before decoding: serde would otherwise read a struct from an array
//! (`[1, 2]` as `{"daily_limit_usd": 1, "session_limit_usd": 2}`).

use super::ApiError;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri};
use serde::de::DeserializeOwned;

/// `?a=..&b=..` decoded into `T`; a bad or unknown parameter is a 400 naming it.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        decode_query(&parts.uri).map(Query)
    }
}

fn decode_query<T: DeserializeOwned>(uri: &Uri) -> Result<T, ApiError> {
    match axum::extract::Query::try_from_uri(uri) {
        Ok(axum::extract::Query(value)) => Ok(value),
        Err(rejection) => Err(ApiError::invalid(format!(
            "query string: {}",
            reason(&rejection)
        ))),
    }
}

/// A JSON object body decoded into `T`: 413 past the size limit, 400 for any other JSON
/// value or naming the bad field.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(body_refused)?;
        decode_json(&bytes).map(Json)
    }
}

/// Like [`Json`], but no body (empty, or JSON `null`, as the document allows) is `None`: for
/// routes whose body is optional.
#[derive(Debug)]
pub struct OptionalJson<T>(pub Option<T>);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(body_refused)?;
        if is_empty(&bytes) || bytes.trim_ascii() == b"null" {
            return Ok(OptionalJson(None));
        }
        decode_json(&bytes).map(|v| OptionalJson(Some(v)))
    }
}

/// True for a body that is empty or only whitespace: no body at all.
pub fn is_empty(body: &[u8]) -> bool {
    body.iter().all(u8::is_ascii_whitespace)
}

fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    refuse_non_object(bytes)?;
    match axum::Json::from_bytes(bytes) {
        Ok(axum::Json(value)) => Ok(value),
        Err(rejection) => Err(ApiError::invalid(format!(
            "request body: {}",
            reason(&rejection)
        ))),
    }
}

/// Refuses a body whose JSON value is not an object, naming what it is instead; a body that
/// is not JSON at all is left to the decoder, whose message says where it breaks.
fn refuse_non_object(bytes: &[u8]) -> Result<(), ApiError> {
    if bytes.trim_ascii_start().starts_with(b"{") {
        return Ok(());
    }
    let kind = match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(serde_json::Value::Array(_)) => "an array",
        Ok(serde_json::Value::String(_)) => "a string",
        Ok(serde_json::Value::Number(_)) => "a number",
        Ok(serde_json::Value::Bool(_)) => "a boolean",
        Ok(serde_json::Value::Null) => "null",
        Ok(serde_json::Value::Object(_)) | Err(_) => return Ok(()),
    };
    Err(ApiError::invalid(format!(
        "request body: expected a JSON object, not {kind}"
    )))
}

/// Why axum's decoder refused a query string or body, with the path of the field at fault
/// (`limit: invalid digit found in string`) and without axum's plain-text framing.
fn reason(rejection: &dyn std::error::Error) -> String {
    rejection
        .source()
        .map_or_else(|| rejection.to_string(), ToString::to_string)
}

/// Why a body could not be read, in the API's error shape.
pub fn body_refused(rejection: BytesRejection) -> ApiError {
    let status = rejection.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        super::body::too_large()
    } else {
        ApiError::new(
            status,
            "invalid",
            format!("request body: {}", rejection.body_text()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PageQuery;
    use crate::budget::SetBudget;

    fn message(err: ApiError) -> String {
        format!("{err:?}")
    }

    #[test]
    fn a_bad_parameter_or_field_is_named() {
        let uri: Uri = "/api/workers?offset=2&limit=abc".parse().unwrap();
        let err = message(decode_query::<PageQuery>(&uri).unwrap_err());
        assert!(err.contains("query string: limit: invalid digit"), "{err}");
        let uri: Uri = "/api/workers?colour=red".parse().unwrap();
        let err = message(decode_query::<PageQuery>(&uri).unwrap_err());
        assert!(err.contains("unknown field `colour`"), "{err}");

        let wrong_type = br#"{"daily_limit_usd": "five"}"#;
        let err = message(decode_json::<SetBudget>(wrong_type).unwrap_err());
        assert!(
            err.contains("request body: daily_limit_usd: invalid type"),
            "{err}"
        );
        let err = message(decode_json::<SetBudget>(b"{").unwrap_err());
        assert!(err.contains("request body: EOF while parsing"), "{err}");
    }

    #[test]
    fn only_an_object_is_a_body() {
        for (body, kind) in [
            (&b"[1, 2]"[..], "an array"),
            (b" [] ", "an array"),
            (b"\"x\"", "a string"),
            (b"true", "a boolean"),
            (b"null", "null"),
            (b"-1.5", "a number"),
        ] {
            let err = message(decode_json::<SetBudget>(body).unwrap_err());
            assert!(
                err.contains(&format!("expected a JSON object, not {kind}")),
                "{err}"
            );
        }
        let err = message(decode_json::<SetBudget>(b"nope").unwrap_err());
        assert!(err.contains("request body: expected ident"), "{err}");
        assert!(decode_json::<SetBudget>(b" {\"daily_limit_usd\": 1}").is_ok());
    }
}
