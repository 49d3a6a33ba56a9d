//! One OpenAI-compatible server as a provider sees it: where it is, how requests are
//! authenticated and named, and the requests it takes.

use crate::{TokenLimitField, chat_completions_url, models_url, parse_models, request_body};
use hypernet_plugin_api::provider::{
    CompletionRequest, HttpRequest, HttpResponse, Prepared, ProviderError,
};

/// A server: base URL, routing prefix, the headers every request carries (authorization
/// and the like) and the name of its output-token limit field.
pub struct Server {
    /// Base URL, e.g. `https://api.openai.com/v1`.
    pub base_url: String,
    /// Routing prefix of model ids (`openai` in `openai/gpt-4o`).
    pub prefix: String,
    /// Headers sent with every request.
    pub headers: Vec<(String, String)>,
    /// Which token-limit field the server reads.
    pub token_field: TokenLimitField,
}

impl Server {
    /// `POST <base>/chat/completions` for `request`, sending `model` as the wire id.
    pub fn chat(
        &self,
        request: &CompletionRequest,
        model: &str,
    ) -> Result<Prepared, ProviderError> {
        let body = request_body(request, model, self.token_field)?;
        let mut headers = self.headers.clone();
        headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
        tracing::debug!(model, stream = request.stream, "chat completion prepared");
        Ok(Prepared::Http {
            request: HttpRequest {
                method: "POST".to_owned(),
                url: chat_completions_url(&self.base_url),
                headers,
                body,
            },
        })
    }

    /// `GET <base>/models`.
    pub fn list_models(&self) -> HttpRequest {
        HttpRequest {
            method: "GET".to_owned(),
            url: models_url(&self.base_url),
            headers: self.headers.clone(),
            body: String::new(),
        }
    }

    /// The served models as routable ids (`<prefix>/<id>`).
    pub fn parse_models(&self, response: &HttpResponse) -> Result<Vec<String>, ProviderError> {
        Ok(parse_models(response)?
            .into_iter()
            .map(|id| format!("{}/{id}", self.prefix))
            .collect())
    }
}
