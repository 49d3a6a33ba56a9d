//! The answer of `GET /models`: `{"object":"list","data":[{"id",…}]}`.

use crate::wire::excerpt;
use hypernet_plugin_api::provider::{HttpResponse, ProviderError};
use serde::Deserialize;

#[derive(Deserialize)]
struct List {
    data: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default, deserialize_with = "crate::wire::lenient_string")]
    id: Option<String>,
}

/// The model ids of a models list, as the server names them, in its order. Only `id` is
/// read: LM Studio sends no `created`, llama.cpp adds `meta` (possibly null), Ollama
/// `owned_by: "library"`. Entries without an id are skipped.
///
/// ```
/// use hypernet_openai_compat::parse_models;
/// use hypernet_plugin_api::provider::HttpResponse;
///
/// let body = r#"{"data":[{"id":"qwen3-8b","object":"model","owned_by":"organization_owner"}],"object":"list"}"#;
/// let resp = HttpResponse { status: 200, headers: vec![], body: body.into() };
/// assert_eq!(parse_models(&resp).unwrap(), vec!["qwen3-8b"]);
/// ```
pub fn parse_models(response: &HttpResponse) -> Result<Vec<String>, ProviderError> {
    let list: List =
        serde_json::from_str(&response.body).map_err(|e| ProviderError::Malformed {
            message: format!(
                "the models list is not the expected JSON ({e}): {}",
                excerpt(&response.body)
            ),
        })?;
    Ok(list
        .data
        .into_iter()
        .filter_map(|e| e.id.filter(|id| !id.is_empty()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<Vec<String>, ProviderError> {
        parse_models(&HttpResponse {
            status: 200,
            headers: vec![],
            body: body.into(),
        })
    }

    #[test]
    fn lists_from_each_server() {
        // OpenAI
        assert_eq!(
            parse(r#"{"object":"list","data":[{"id":"gpt-4o","object":"model","created":1715367049,"owned_by":"system"},{"id":"gpt-4o-mini","object":"model","created":1721172741,"owned_by":"system"}]}"#).unwrap(),
            vec!["gpt-4o", "gpt-4o-mini"]
        );
        // LM Studio: no `created`, embedding models listed too.
        assert_eq!(
            parse(r#"{"data":[{"id":"qwen3-8b","object":"model","owned_by":"organization_owner"},{"id":"text-embedding-nomic-embed-text-v1.5","object":"model","owned_by":"organization_owner"}],"object":"list"}"#).unwrap(),
            vec!["qwen3-8b", "text-embedding-nomic-embed-text-v1.5"]
        );
        // llama.cpp: one entry, `meta` null while loading, newer `models[]`.
        assert_eq!(
            parse(r#"{"models":[{"name":"m","model":"m"}],"object":"list","data":[{"id":"/models/qwen.gguf","object":"model","created":1,"owned_by":"llamacpp","meta":null}]}"#).unwrap(),
            vec!["/models/qwen.gguf"]
        );
        assert_eq!(
            parse(r#"{"object":"list","data":[]}"#).unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_body_without_data_is_malformed() {
        assert!(matches!(
            parse(r#"{"object":"list"}"#),
            Err(ProviderError::Malformed { .. })
        ));
        assert!(matches!(
            parse("Not Found"),
            Err(ProviderError::Malformed { .. })
        ));
    }
}
