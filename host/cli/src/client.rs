//! A small client for the running host's API.

use crate::datadir::DataDir;
use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;
use std::path::Path;

/// Talks to the host that uses one data directory.
pub struct Client {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl Client {
    /// Finds the running host of `data_dir`, or explains that none is running.
    pub fn connect(data_dir: &Path) -> Result<Client> {
        let data = DataDir::new(data_dir);
        let info = data.read_host_info().ok_or_else(|| {
            anyhow!(
                "no hypernet host is running for data directory {} (start one with `hypernet run`, or pass --data-dir)",
                data_dir.display()
            )
        })?;
        Ok(Client {
            base: info.url,
            token: data.read_token().ok(),
            http: {
                hypernet_llm::tls::install();
                reqwest::Client::new()
            },
        })
    }

    /// The host's base URL (`http://127.0.0.1:7477`).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The host's API token, when its file could be read.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// GET a path, returning JSON.
    pub async fn get(&self, path: &str) -> Result<Value> {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    /// POST JSON to a path (with the token), returning JSON.
    pub async fn post(&self, path: &str, body: Option<&Value>) -> Result<Value> {
        let mut request = self.http.post(format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        self.send(request).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value> {
        let response = request.send().await.map_err(|e| {
            if e.is_connect() {
                anyhow!(
                    "no hypernet host is answering at {} (it may have stopped; start one with `hypernet run`)",
                    self.base
                )
            } else {
                anyhow!("calling the host at {}: {e}", self.base)
            }
        })?;
        let status = response.status();
        let body: Value = response
            .json()
            .await
            .with_context(|| format!("reading the host's answer ({status})"))?;
        if !status.is_success() {
            let message = body["error"]["message"].as_str().unwrap_or("no message");
            bail!("{message} ({status})");
        }
        Ok(body)
    }
}
