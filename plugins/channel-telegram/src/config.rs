//! The `[config]` table and its checks.

use hypernet_plugin_api::PluginError;
use serde::Deserialize;

/// How commands reach the bot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Mode {
    /// The host long-polls `getUpdates`.
    #[default]
    Poll,
    /// Telegram posts each update to `POST /api/channels/telegram/webhook`.
    Webhook,
}

/// A chat id as written in TOML: a number (`-1001234`) or a string (`"-1001234"`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum ChatId {
    Number(i64),
    Text(String),
}

impl ChatId {
    fn as_string(&self) -> String {
        match self {
            ChatId::Number(n) => n.to_string(),
            ChatId::Text(s) => s.trim().to_owned(),
        }
    }
}

/// The `[config]` table; every key is optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Config {
    /// The Bot API root (default `https://api.telegram.org`).
    pub base_url: String,
    /// The environment variable holding the bot token (default `TELEGRAM_BOT_TOKEN`).
    pub token_env: String,
    /// `poll` (default) or `webhook`.
    pub mode: Mode,
    /// How long one `getUpdates` waits for an update, in seconds (default 25).
    pub poll_timeout_s: u32,
    /// Chats whose commands are read; none: every chat (the host still checks `[[person]]`).
    pub allowed_chats: Option<Vec<ChatId>>,
    /// The public HTTPS address Telegram posts updates to, in webhook mode.
    pub webhook_url: Option<String>,
    /// The environment variable holding the webhook secret (default
    /// `TELEGRAM_WEBHOOK_SECRET`), in webhook mode.
    pub webhook_secret_env: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            base_url: "https://api.telegram.org".to_owned(),
            token_env: "TELEGRAM_BOT_TOKEN".to_owned(),
            mode: Mode::Poll,
            poll_timeout_s: 25,
            allowed_chats: None,
            webhook_url: None,
            webhook_secret_env: "TELEGRAM_WEBHOOK_SECRET".to_owned(),
        }
    }
}

impl Config {
    /// The allowed chats as the strings `from` carries.
    pub fn allowed_chats(&self) -> Option<Vec<String>> {
        self.allowed_chats
            .as_ref()
            .map(|chats| chats.iter().map(ChatId::as_string).collect())
    }

    /// Checks what deserializing does not.
    pub fn validate(&self) -> Result<(), PluginError> {
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            return Err(PluginError::invalid(format!(
                "`base_url` must start with http:// or https://, got `{}`",
                self.base_url
            )));
        }
        if self.token_env.is_empty() {
            return Err(PluginError::invalid(
                "`token_env` must name an environment variable",
            ));
        }
        if self.poll_timeout_s > 50 {
            return Err(PluginError::invalid(format!(
                "`poll_timeout_s` must be at most 50 (a long poll the host keeps open), got {}",
                self.poll_timeout_s
            )));
        }
        if self
            .allowed_chats()
            .is_some_and(|chats| chats.iter().any(String::is_empty))
        {
            return Err(PluginError::invalid(
                "`allowed_chats` holds an empty chat id",
            ));
        }
        if self.mode == Mode::Webhook {
            match self.webhook_url.as_deref() {
                Some(url) if url.starts_with("https://") => {}
                Some(url) => {
                    return Err(PluginError::invalid(format!(
                        "`webhook_url` must start with https:// (Telegram posts only to HTTPS), got `{url}`"
                    )));
                }
                None => {
                    return Err(PluginError::invalid(
                        "`mode = \"webhook\"` needs `webhook_url`, the public address of /api/channels/telegram/webhook",
                    ));
                }
            }
            if self.webhook_secret_env.is_empty() {
                return Err(PluginError::invalid(
                    "`webhook_secret_env` must name an environment variable",
                ));
            }
        }
        Ok(())
    }
}

/// Reads a secret from the environment variable `name`; absent or blank is an error naming
/// the variable, never the value.
pub(crate) fn secret_from_env(name: &str, what: &str) -> Result<String, PluginError> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
        .ok_or_else(|| {
            PluginError::invalid(format!(
                "environment variable {name} is not set; channel-telegram needs {what}"
            ))
        })
}

/// Checks a webhook secret against Telegram's rule for `secret_token`: 1-256 characters
/// `A-Z`, `a-z`, `0-9`, `_` and `-`. The message names the variable, not the value.
pub(crate) fn check_webhook_secret(secret: &str, variable: &str) -> Result<(), PluginError> {
    let valid = (1..=256).contains(&secret.len())
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(PluginError::invalid(format!(
            "the secret in {variable} must be 1-256 characters of A-Z, a-z, 0-9, `_` and `-` (Telegram's rule for secret_token)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_json: serde_json::Value) -> Result<Config, serde_json::Error> {
        serde_json::from_value(toml_json)
    }

    #[test]
    fn defaults_poll_the_real_service() {
        let config = parse(serde_json::json!({})).unwrap();
        assert_eq!(config.base_url, "https://api.telegram.org");
        assert_eq!(config.token_env, "TELEGRAM_BOT_TOKEN");
        assert_eq!(config.mode, Mode::Poll);
        assert_eq!(config.poll_timeout_s, 25);
        assert!(config.validate().is_ok());
    }

    #[test]
    fn unknown_keys_are_refused_by_name() {
        let err = parse(serde_json::json!({ "tokn_env": "X" })).unwrap_err();
        assert!(err.to_string().contains("tokn_env"), "{err}");
    }

    #[test]
    fn allowed_chats_take_numbers_and_strings() {
        let config = parse(serde_json::json!({ "allowed_chats": [-100123, " 42 "] })).unwrap();
        assert_eq!(
            config.allowed_chats(),
            Some(vec!["-100123".to_owned(), "42".to_owned()])
        );
    }

    #[test]
    fn webhook_mode_needs_an_https_url() {
        let config = parse(serde_json::json!({ "mode": "webhook" })).unwrap();
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("webhook_url")
        );
        let config = parse(serde_json::json!({
            "mode": "webhook", "webhook_url": "http://example.org/hook"
        }))
        .unwrap();
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("https://") && err.contains("http://example.org/hook"));
    }

    #[test]
    fn a_long_poll_past_fifty_seconds_is_refused() {
        let config = parse(serde_json::json!({ "poll_timeout_s": 90 })).unwrap();
        assert!(config.validate().unwrap_err().to_string().contains("90"));
    }

    #[test]
    fn webhook_secrets_follow_telegrams_rule_and_are_not_echoed() {
        assert!(check_webhook_secret("abc_DEF-123", "S").is_ok());
        let err = check_webhook_secret("has space", "MY_SECRET").unwrap_err();
        assert!(err.to_string().contains("MY_SECRET"));
        assert!(!err.to_string().contains("has space"));
        assert!(check_webhook_secret("", "S").is_err());
        assert!(check_webhook_secret(&"a".repeat(257), "S").is_err());
    }
}
