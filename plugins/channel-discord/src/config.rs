//! The `[config]` table and the secrets it names, read once at start.

use ed25519_dalek::VerifyingKey;
use hypernet_plugin_api::PluginError;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The `[config]` table; every key is optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Config {
    /// API root (default `https://discord.com/api/v10`).
    pub base_url: String,
    /// The variable holding the default webhook, `<id>/<token>` or its whole URL (default
    /// `DISCORD_WEBHOOK`).
    pub webhook_env: String,
    /// The picture shown beside workers without one of their own.
    pub avatar_url: Option<String>,
    /// Per worker: its own webhook, name and picture.
    pub personalities: BTreeMap<String, Personality>,
    /// Whether messages carry buttons (they need an application-owned webhook; default true).
    pub buttons: bool,
    /// The application's id, for `setup` (registering the slash commands).
    pub application_id: Option<String>,
    /// The application's public key, hex, for verifying interactions.
    pub public_key: Option<String>,
    /// The variable holding the public key instead.
    pub public_key_env: Option<String>,
    /// The variable holding the bot token `setup` uses (default `DISCORD_BOT_TOKEN`).
    pub bot_token_env: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            base_url: "https://discord.com/api/v10".to_owned(),
            webhook_env: "DISCORD_WEBHOOK".to_owned(),
            avatar_url: None,
            personalities: BTreeMap::new(),
            buttons: true,
            application_id: None,
            public_key: None,
            public_key_env: None,
            bot_token_env: "DISCORD_BOT_TOKEN".to_owned(),
        }
    }
}

/// How one worker appears: `[plugin.config.personalities.<worker>]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Personality {
    /// The variable holding this worker's webhook (default: the default webhook).
    pub webhook_env: Option<String>,
    /// The name shown (default: the worker's name).
    pub username: Option<String>,
    /// The picture shown.
    pub avatar_url: Option<String>,
}

impl Config {
    /// Checks what deserializing does not: URLs, ids, key shapes, one source for the key.
    pub fn validate(&self) -> Result<(), PluginError> {
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            return Err(PluginError::invalid(format!(
                "`base_url` must start with http:// or https://, got `{}`",
                self.base_url
            )));
        }
        for (field, value) in [
            ("webhook_env", &self.webhook_env),
            ("bot_token_env", &self.bot_token_env),
        ] {
            if value.is_empty() {
                return Err(PluginError::invalid(format!(
                    "`{field}` must name an environment variable"
                )));
            }
        }
        if let Some(id) = &self.application_id
            && !is_snowflake(id)
        {
            return Err(PluginError::invalid(format!(
                "`application_id` must be a Discord id (digits), got `{id}`"
            )));
        }
        if self.public_key.is_some() && self.public_key_env.is_some() {
            return Err(PluginError::invalid(
                "set one of `public_key` and `public_key_env`, not both",
            ));
        }
        if let Some(key) = &self.public_key {
            parse_public_key(key)
                .map_err(|why| PluginError::invalid(format!("`public_key` {why}")))?;
        }
        for (worker, p) in &self.personalities {
            if p.webhook_env.as_deref() == Some("") {
                return Err(PluginError::invalid(format!(
                    "`personalities.{worker}.webhook_env` must name an environment variable"
                )));
            }
            if p.username.as_deref().is_some_and(|u| u.trim().is_empty()) {
                return Err(PluginError::invalid(format!(
                    "`personalities.{worker}.username` must not be blank"
                )));
            }
        }
        Ok(())
    }
}

/// Whether `s` looks like a Discord id: a non-empty run of digits.
pub(crate) fn is_snowflake(s: &str) -> bool {
    !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit())
}

/// An Ed25519 public key from 64 hex digits, or what is wrong with it.
pub(crate) fn parse_public_key(hex_key: &str) -> Result<VerifyingKey, String> {
    let bytes: [u8; 32] = hex::decode(hex_key.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or("must be 64 hex digits (the application's public key)")?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| "is not a valid Ed25519 public key".to_owned())
}

/// A webhook's id and token. The token is a secret, so `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Webhook {
    pub id: String,
    pub token: String,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("id", &self.id)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl Webhook {
    /// Reads `<id>/<token>`, or a webhook URL `https://discord.com/api/webhooks/<id>/<token>`
    /// (only the id and token are kept: requests go to the configured `base_url`). Errors
    /// name the variable, never the value.
    pub fn parse(value: &str, var: &str) -> Result<Webhook, PluginError> {
        let value = value.trim();
        let rest = if value.starts_with("http://") || value.starts_with("https://") {
            let Some((_, rest)) = value.split_once("/webhooks/") else {
                return Err(PluginError::invalid(format!(
                    "environment variable {var} holds a URL without `/webhooks/<id>/<token>`"
                )));
            };
            rest.split(['?', '#']).next().unwrap_or_default()
        } else {
            value
        };
        let mut segments = rest.split('/');
        let id = segments.next().unwrap_or_default();
        let token = segments.next().unwrap_or_default();
        let token_ok = !token.is_empty()
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
        if !is_snowflake(id) || !token_ok {
            return Err(PluginError::invalid(format!(
                "environment variable {var} must hold a Discord webhook as `<id>/<token>` or its URL"
            )));
        }
        Ok(Webhook {
            id: id.to_owned(),
            token: token.to_owned(),
        })
    }
}

/// The secrets the config names, read from the environment.
#[derive(Debug)]
pub(crate) struct Secrets {
    /// The default webhook.
    pub webhook: Webhook,
    /// Workers with a webhook of their own.
    pub worker_webhooks: BTreeMap<String, Webhook>,
    /// The bot token, when `application_id` is set.
    pub bot_token: Option<BotToken>,
    /// The key interactions are verified with, when configured.
    pub public_key: Option<VerifyingKey>,
}

/// The bot token; `Debug` hides it.
#[derive(Clone)]
pub(crate) struct BotToken(pub String);

impl std::fmt::Debug for BotToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BotToken(<redacted>)")
    }
}

impl Secrets {
    /// Reads every variable the config names through `env`; a missing one is an error
    /// naming it.
    pub fn read(
        config: &Config,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Secrets, PluginError> {
        let required = |var: &str, why: &str| {
            env(var).filter(|v| !v.trim().is_empty()).ok_or_else(|| {
                PluginError::invalid(format!(
                    "environment variable {var} is not set; channel-discord needs {why}"
                ))
            })
        };
        let webhook = Webhook::parse(
            &required(&config.webhook_env, "the default webhook")?,
            &config.webhook_env,
        )?;
        let mut worker_webhooks = BTreeMap::new();
        for (worker, p) in &config.personalities {
            if let Some(var) = &p.webhook_env {
                let value = required(var, &format!("the webhook of worker `{worker}`"))?;
                worker_webhooks.insert(worker.clone(), Webhook::parse(&value, var)?);
            }
        }
        let bot_token = match &config.application_id {
            Some(_) => Some(BotToken(required(
                &config.bot_token_env,
                "the bot token to register commands (`application_id` is set)",
            )?)),
            None => None,
        };
        let public_key = match (&config.public_key, &config.public_key_env) {
            (Some(key), _) => Some(key.clone()),
            (None, Some(var)) => Some(required(var, "the application's public key")?),
            (None, None) => None,
        };
        let public_key = public_key
            .map(|key| {
                parse_public_key(&key).map_err(|why| {
                    let source = match &config.public_key_env {
                        Some(var) if config.public_key.is_none() => {
                            format!("the public key in environment variable {var}")
                        }
                        _ => "`public_key`".to_owned(),
                    };
                    PluginError::invalid(format!("{source} {why}"))
                })
            })
            .transpose()?;
        Ok(Secrets {
            webhook,
            worker_webhooks,
            bot_token: bot_token.map(|t| BotToken(t.0.trim().to_owned())),
            public_key,
        })
    }
}
