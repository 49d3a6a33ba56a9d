//! `http` (tier 3, with a grant): a GET or POST to an `http(s)` URL whose host is in
//! `[tools] http_allow_domains` (`api.example.com` exactly, `*.example.com` its
//! subdomains). Redirects are not followed — the answer says where it points, and a new
//! call to there is checked again — and the body is cut at `http_max_body_bytes`.
//!
//! The tool owns one `reqwest` client rather than sharing the model executor's
//! ([`hypernet_llm::HttpExecutor`]): that one follows redirects, which would carry a request
//! past the allowlist, and it retries, which a POST must not be.

use super::args::{self, bad, denied, failed};
use super::{Requirement, Tier, Tool, ToolContext, ToolError};
use futures_util::future::BoxFuture;
use serde_json::{Value, json};
use std::time::Duration;

const NAME: &str = "http";

/// Makes allowed HTTP requests.
#[derive(Debug, Clone)]
pub struct Http {
    allow: Vec<String>,
    max_body: usize,
    client: reqwest::Client,
}

/// Whether `host` is allowed by `allow` (exact names, or `*.` for subdomains).
pub fn host_allowed(host: &str, allow: &[String]) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    allow.iter().any(|entry| match entry.strip_prefix("*.") {
        Some(parent) => host
            .strip_suffix(parent)
            .is_some_and(|sub| sub.ends_with('.') && sub.len() > 1),
        None => host == *entry,
    })
}

impl Http {
    /// `http` for the hosts in `allow`, each request limited to `timeout`, bodies cut at
    /// `max_body` bytes.
    pub fn new(allow: Vec<String>, timeout: Duration, max_body: usize) -> Result<Http, String> {
        hypernet_llm::tls::install();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .build()
            .map_err(|e| format!("building the client of the `http` tool: {e}"))?;
        Ok(Http {
            allow,
            max_body,
            client,
        })
    }

    /// The checked URL and method of a call.
    fn target(&self, args: &Value) -> Result<(reqwest::Url, reqwest::Method), ToolError> {
        let raw = args::string(NAME, args, "url")?;
        let url = reqwest::Url::parse(raw)
            .map_err(|e| bad(NAME, format!("`url` {raw:?} is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(denied(
                NAME,
                format!("`{raw}`: only http and https URLs are allowed"),
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(denied(
                NAME,
                format!("`{raw}`: URLs may not carry credentials"),
            ));
        }
        let host = url.host_str().unwrap_or_default();
        if !host_allowed(host, &self.allow) {
            return Err(denied(
                NAME,
                format!(
                    "`{host}` is not in [tools] http_allow_domains (allowed: {})",
                    self.allow.join(", ")
                ),
            ));
        }
        let method = match args::string_or(NAME, args, "method", "GET")? {
            m if m.eq_ignore_ascii_case("GET") => reqwest::Method::GET,
            m if m.eq_ignore_ascii_case("POST") => reqwest::Method::POST,
            other => {
                return Err(bad(NAME, format!("`method` is GET or POST, not {other:?}")));
            }
        };
        Ok((url, method))
    }

    async fn send(&self, args: &Value) -> Result<String, ToolError> {
        let (url, method) = self.target(args)?;
        let mut request = self.client.request(method.clone(), url.clone());
        if method == reqwest::Method::POST {
            let body = args::string_or(NAME, args, "body", "")?.to_owned();
            let kind = args::string_or(NAME, args, "content_type", "application/json")?;
            request = request
                .header(reqwest::header::CONTENT_TYPE, kind)
                .body(body);
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| failed(NAME, format!("{method} {url}: {}", e.without_url())))?;
        let mut text = format!("HTTP {}\n", response.status());
        for name in [reqwest::header::CONTENT_TYPE, reqwest::header::LOCATION] {
            if let Some(v) = response.headers().get(&name) {
                text.push_str(&format!(
                    "{name}: {}\n",
                    String::from_utf8_lossy(v.as_bytes())
                ));
            }
        }
        let mut body = Vec::new();
        let mut cut = false;
        while let Some(chunk) = response.chunk().await.map_err(|e| {
            failed(
                NAME,
                format!("reading the body of {url}: {}", e.without_url()),
            )
        })? {
            let room = self.max_body - body.len();
            if chunk.len() > room {
                body.extend_from_slice(&chunk[..room]);
                cut = true;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        text.push('\n');
        text.push_str(&String::from_utf8_lossy(&body));
        if cut {
            text.push_str(&format!(
                "\n[body cut at {} bytes ([tools] http_max_body_bytes)]",
                self.max_body
            ));
        }
        Ok(text)
    }
}

impl Tool for Http {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "Makes an HTTP GET or POST request to an allowed host and returns the status, content type and body (cut when long). Redirects are not followed."
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "url": {"type": "string", "description": format!("http(s) URL; allowed hosts: {}", self.allow.join(", "))},
                "method": {"type": "string", "enum": ["GET", "POST"], "description": "Default GET"},
                "body": {"type": "string", "description": "POST body"},
                "content_type": {"type": "string", "description": "POST content type (default application/json)"}
            },
            "required": ["url"]
        })
    }

    fn requirement(&self, _: &Value) -> Option<Requirement> {
        Some(Requirement::at(Tier::External).granted())
    }

    fn call<'a>(
        &'a self,
        ctx: &'a ToolContext,
        args: Value,
    ) -> BoxFuture<'a, Result<String, ToolError>> {
        Box::pin(async move {
            tracing::info!(task = %ctx.task, worker = %ctx.worker, url = %args["url"], "http request");
            self.send(&args).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::AllowAll;
    use hypernet_model::tasks::TaskId;
    use std::sync::Arc;

    async fn server() -> String {
        use axum::routing::{get, post};
        let app = axum::Router::new()
            .route("/big", get(|| async { "x".repeat(1000) }))
            .route(
                "/echo",
                post(|body: String| async move { format!("got {body}") }),
            )
            .route(
                "/away",
                get(|| async {
                    (
                        axum::http::StatusCode::FOUND,
                        [("location", "http://elsewhere.test/")],
                    )
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    }

    fn tool(allow: &[&str]) -> Http {
        let allow = allow.iter().map(|s| s.to_string()).collect();
        Http::new(allow, Duration::from_secs(5), 100).unwrap()
    }

    fn ctx() -> ToolContext {
        ToolContext::new(TaskId(1), "Trace", Arc::new(AllowAll))
    }

    #[test]
    fn hosts_match_exactly_or_as_subdomains() {
        let allow = ["api.example.com".to_owned(), "*.docs.rs".to_owned()];
        assert!(host_allowed("api.example.com", &allow));
        assert!(host_allowed("API.example.com.", &allow));
        assert!(host_allowed("serde.docs.rs", &allow));
        assert!(!host_allowed("docs.rs", &allow));
        assert!(!host_allowed("evildocs.rs", &allow));
        assert!(!host_allowed("example.com", &allow));
        assert!(!host_allowed("api.example.com.evil.org", &allow));
    }

    #[tokio::test]
    async fn gets_and_posts_to_allowed_hosts_with_the_body_cut() {
        let base = server().await;
        let http = tool(&["127.0.0.1"]);
        let out = http
            .call(&ctx(), json!({"url": format!("{base}/big")}))
            .await
            .unwrap();
        assert!(
            out.starts_with("HTTP 200 OK\ncontent-type: text/plain; charset=utf-8\n\n"),
            "{out}"
        );
        assert!(
            out.ends_with(&format!(
                "{}\n[body cut at 100 bytes ([tools] http_max_body_bytes)]",
                "x".repeat(100)
            )),
            "{out}"
        );
        let out = http
            .call(
                &ctx(),
                json!({"url": format!("{base}/echo"), "method": "POST", "body": "{\"a\":1}"}),
            )
            .await
            .unwrap();
        assert!(out.ends_with("\n\ngot {\"a\":1}"), "{out}");
        let out = http
            .call(&ctx(), json!({"url": format!("{base}/away")}))
            .await
            .unwrap();
        assert!(
            out.starts_with("HTTP 302 Found\nlocation: http://elsewhere.test/\n"),
            "{out}"
        );
    }

    #[tokio::test]
    async fn other_hosts_schemes_and_methods_are_refused() {
        let http = tool(&["api.example.com"]);
        for (url, needle) in [
            (
                "http://evil.example.org/x",
                "`evil.example.org` is not in [tools] http_allow_domains (allowed: api.example.com)",
            ),
            (
                "http://api.example.com.evil.org/",
                "`api.example.com.evil.org` is not in",
            ),
            (
                "http://api.example.com@evil.org/",
                "may not carry credentials",
            ),
            ("file:///etc/passwd", "only http and https URLs are allowed"),
            (
                "ftp://api.example.com/",
                "only http and https URLs are allowed",
            ),
        ] {
            let e = http.call(&ctx(), json!({"url": url})).await.unwrap_err();
            assert!(matches!(e, ToolError::Denied { .. }), "{url}: {e}");
            assert!(e.to_string().contains(needle), "{url}: {e}");
        }
        let e = http
            .call(
                &ctx(),
                json!({"url": "http://api.example.com/", "method": "DELETE"}),
            )
            .await
            .unwrap_err();
        assert!(matches!(e, ToolError::BadArguments { .. }), "{e}");
        let e = http
            .call(&ctx(), json!({"url": "not a url"}))
            .await
            .unwrap_err();
        assert!(matches!(e, ToolError::BadArguments { .. }), "{e}");
    }
}
