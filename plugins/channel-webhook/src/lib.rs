//! `channel-webhook`: messages POSTed as JSON to one URL, service `webhook`.
//!
//! The body is Slack's and Mattermost's incoming-webhook shape, `{"text": "..."}`, or a
//! `template`: any JSON value whose strings may hold placeholders (`{text}`, `{subject}`,
//! `{to}`, `{recipient}`, `{sender}`, `{id}`, `{thread}`, `{tags}`), filled in the parsed
//! JSON, so no value can break the document. With a secret configured, every request is
//! signed: `X-Hypernet-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">` and
//! `X-Hypernet-Timestamp`; `X-Hypernet-Delivery` carries the message id, the same on every
//! retry, so a receiver can drop repeats. Outbound only.
//!
//! ```toml
//! [[plugin]]
//! name = "channel-webhook"
//! [plugin.config]
//! url_env = "HYPERNET_WEBHOOK_URL"        # default: the variable holding the URL
//! # base_url = "https://hooks.example.org" # or a URL in the config (then url_env is unused)
//! # path = "/hypernet"                     # appended to base_url
//! secret_env = "HYPERNET_WEBHOOK_SECRET"  # default; unset variable: unsigned requests
//! # template = { content = "{subject}: {text}", meta = { id = "{id}", tags = "{tags}" } }
//! ```
//!
//! The URL (it often holds a token) and the secret are read once, at start, and appear in
//! no log, error or debug output.

mod signature;
mod template;

#[cfg(test)]
mod tests;

use hypernet_plugin_api::channel::{
    Channel, ChannelError, ChannelInfo, Delivery, HttpRequest, Outbound,
};
use hypernet_plugin_api::{Host, PluginError};
use serde::Deserialize;
use serde_json::Value;

/// The `[config]` table; every key is optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Config {
    /// The variable holding the URL (default `HYPERNET_WEBHOOK_URL`), read when `base_url`
    /// is not set.
    url_env: String,
    /// The URL's root, instead of `url_env`.
    base_url: Option<String>,
    /// Appended to `base_url` (default empty).
    path: String,
    /// The variable holding the signing secret (default `HYPERNET_WEBHOOK_SECRET`).
    secret_env: String,
    /// The body, with placeholders (default `{"text": "{text}"}`).
    template: Option<Value>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            url_env: "HYPERNET_WEBHOOK_URL".to_owned(),
            base_url: None,
            path: String::new(),
            secret_env: "HYPERNET_WEBHOOK_SECRET".to_owned(),
            template: None,
        }
    }
}

fn is_http(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

impl Config {
    fn validate(&self) -> Result<(), PluginError> {
        match &self.base_url {
            Some(base) if !is_http(base) => {
                return Err(PluginError::invalid(format!(
                    "`base_url` must start with http:// or https://, got `{base}`"
                )));
            }
            None if !self.path.is_empty() => {
                return Err(PluginError::invalid(format!(
                    "`path` (`{}`) needs `base_url`",
                    self.path
                )));
            }
            None if self.url_env.is_empty() => {
                return Err(PluginError::invalid(
                    "`url_env` must name an environment variable (or set `base_url`)",
                ));
            }
            _ => {}
        }
        if self.secret_env.is_empty() {
            return Err(PluginError::invalid(
                "`secret_env` must name an environment variable",
            ));
        }
        if let Some(template) = &self.template {
            template::check(template).map_err(PluginError::invalid)?;
        }
        Ok(())
    }
}

/// The running channel. The URL and the secret are secrets, so `Debug` is written by hand.
struct Webhook {
    config: Config,
    url: String,
    secret: Option<Vec<u8>>,
    /// Seconds since the Unix epoch, for the signature's timestamp.
    clock: fn() -> u64,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("config", &self.config)
            .field("url", &"<redacted>")
            .field("signed", &self.secret.is_some())
            .finish()
    }
}

fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Webhook {
    fn new(
        config: Config,
        env: impl Fn(&str) -> Option<String>,
        clock: fn() -> u64,
    ) -> Result<Self, PluginError> {
        config.validate()?;
        let set = |var: &str| env(var).filter(|v| !v.trim().is_empty());
        let url = match &config.base_url {
            Some(base) => format!("{}{}", base.trim_end_matches('/'), config.path),
            None => {
                let url = set(&config.url_env).ok_or_else(|| {
                    PluginError::invalid(format!(
                        "environment variable {} is not set; channel-webhook needs the URL to post to (or set `base_url`)",
                        config.url_env
                    ))
                })?;
                if !is_http(url.trim()) {
                    return Err(PluginError::invalid(format!(
                        "environment variable {} must hold an http:// or https:// URL",
                        config.url_env
                    )));
                }
                url.trim().to_owned()
            }
        };
        let secret = set(&config.secret_env).map(String::into_bytes);
        tracing::info!(
            signed = secret.is_some(),
            template = config.template.is_some(),
            "webhook channel ready"
        );
        Ok(Webhook {
            config,
            url,
            secret,
            clock,
        })
    }

    /// The body for a message: the template filled in, or `{"text": ...}`.
    fn body(&self, message: &Outbound) -> Value {
        match &self.config.template {
            Some(template) => template::render(template, message),
            None => serde_json::json!({ "text": message.text }),
        }
    }
}

impl Channel for Webhook {
    type Config = Config;

    fn validate(config: &Config) -> Result<(), PluginError> {
        config.validate()
    }

    fn start(config: Config, _host: Host) -> Result<Self, PluginError> {
        Webhook::new(config, |var| std::env::var(var).ok(), unix_seconds)
    }

    fn describe(&self) -> ChannelInfo {
        ChannelInfo::default()
    }

    fn deliver(&mut self, message: &Outbound) -> Result<Delivery, ChannelError> {
        let body = self.body(message).to_string();
        let mut headers = vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            (signature::DELIVERY.to_owned(), message.id.clone()),
        ];
        if let Some(secret) = &self.secret {
            headers.extend(signature::headers(secret, (self.clock)(), &body));
        }
        Ok(Delivery::http(HttpRequest {
            method: "POST".to_owned(),
            url: self.url.clone(),
            headers,
            body,
        }))
    }
}

hypernet_plugin_api::register_channel!(Webhook, "webhook");
hypernet_plugin_api::export_plugin!();
