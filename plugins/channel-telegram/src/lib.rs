//! `channel-telegram`: people reach the swarm through a Telegram bot, and the swarm reaches
//! them, through the Bot API (<https://core.telegram.org/bots/api>).
//!
//! Sans-IO: it builds `sendMessage` calls (HTML, split at 4096 characters, buttons as an
//! inline keyboard) and reads their answers; it builds the `getUpdates` long poll and reads
//! the updates into commands, or, in webhook mode, checks and reads the updates Telegram
//! posts to `/api/channels/telegram/webhook`. The bot token is read once, at start, from an
//! environment variable; it sits in every request's address (`/bot<token>/<method>`), so no
//! address appears in a log or an error.
//!
//! ```toml
//! [[plugin]]
//! name = "channel-telegram"
//! [plugin.config]
//! base_url = "https://api.telegram.org"   # default
//! token_env = "TELEGRAM_BOT_TOKEN"        # default: where the token is read from
//! mode = "poll"                           # default; or "webhook"
//! poll_timeout_s = 25                     # default: how long one getUpdates waits
//! allowed_chats = [123456789]             # optional: the only chats read
//! webhook_url = "https://swarm.example.org/api/channels/telegram/webhook"  # webhook mode
//! webhook_secret_env = "TELEGRAM_WEBHOOK_SECRET"  # default, webhook mode
//! ```

mod answer;
mod config;
mod send;
mod updates;
mod webhook;

use config::{Config, Mode};
use hypernet_plugin_api::channel::{
    Channel, ChannelError, ChannelInfo, Delivery, HttpRequest, HttpResponse, Inbound,
    InboundRequest, Outbound, Polled, Receipt,
};
use hypernet_plugin_api::{Host, PluginError};
use send::ReplyContext;
use serde_json::{Value, json};
use updates::ChatFilter;

/// The updates the bot asks for.
const ALLOWED_UPDATES: [&str; 2] = ["message", "callback_query"];

/// The running channel. It holds the token and the webhook secret, so its `Debug` output is
/// written by hand.
struct Telegram {
    config: Config,
    token: String,
    /// The webhook secret, in webhook mode.
    secret: Option<String>,
    filter: ChatFilter,
    /// The offset of the poll in flight, kept when it brings nothing.
    cursor: Option<String>,
}

impl std::fmt::Debug for Telegram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telegram")
            .field("config", &self.config)
            .field("token", &"<redacted>")
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("cursor", &self.cursor)
            .finish()
    }
}

impl Telegram {
    fn new(config: Config, token: String, secret: Option<String>) -> Telegram {
        tracing::info!(
            base_url = %config.base_url,
            mode = ?config.mode,
            "telegram channel ready"
        );
        let filter = ChatFilter(config.allowed_chats());
        Telegram {
            config,
            token,
            secret,
            filter,
            cursor: None,
        }
    }

    /// A Bot API call: `POST {base_url}/bot<token>/<method>` with a JSON body.
    fn request(&self, method: &str, body: &Value) -> HttpRequest {
        HttpRequest {
            method: "POST".to_owned(),
            url: format!(
                "{}/bot{}/{method}",
                self.config.base_url.trim_end_matches('/'),
                self.token
            ),
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            body: body.to_string(),
        }
    }
}

impl Channel for Telegram {
    type Config = Config;

    fn validate(config: &Config) -> Result<(), PluginError> {
        config.validate()
    }

    fn start(config: Config, _host: Host) -> Result<Self, PluginError> {
        config.validate()?;
        let token = config::secret_from_env(&config.token_env, "a bot token")?;
        let secret = match config.mode {
            Mode::Poll => None,
            Mode::Webhook => {
                let secret =
                    config::secret_from_env(&config.webhook_secret_env, "a webhook secret")?;
                config::check_webhook_secret(&secret, &config.webhook_secret_env)?;
                Some(secret)
            }
        };
        Ok(Telegram::new(config, token, secret))
    }

    fn describe(&self) -> ChannelInfo {
        ChannelInfo {
            buttons: true,
            polls: self.config.mode == Mode::Poll,
        }
    }

    fn deliver(&mut self, message: &Outbound) -> Result<Delivery, ChannelError> {
        let requests = send::calls(message)?
            .iter()
            .map(|call| self.request(call.method, &call.body))
            .collect();
        Ok(Delivery::Http { requests })
    }

    /// A `sendMessage` part answers the sent message's `message_id` as the handle. A
    /// refused `answerCallbackQuery` (the press is too old, or was answered before a restart)
    /// does not hold the reply back: it is logged and passed over.
    fn parse_delivery(
        &mut self,
        message: &Outbound,
        part: usize,
        response: &HttpResponse,
    ) -> Result<Receipt, ChannelError> {
        let answers_press =
            part == 0 && ReplyContext::of(message).is_some_and(|c| c.callback_query_id.is_some());
        if answers_press {
            return match answer::result("answerCallbackQuery", response) {
                Ok(_) => Ok(Receipt::default()),
                Err(error @ ChannelError::Rejected { .. }) => {
                    tracing::warn!(message = %message.id, %error, "button press not answered");
                    Ok(Receipt {
                        handle: None,
                        detail: Some(error.to_string()),
                    })
                }
                Err(error) => Err(error),
            };
        }
        let result = answer::result("sendMessage", response)?;
        Ok(Receipt {
            handle: result
                .get("message_id")
                .and_then(Value::as_i64)
                .map(|id| id.to_string()),
            detail: None,
        })
    }

    fn inbound(&mut self, request: &InboundRequest) -> Inbound {
        match (self.config.mode, &self.secret) {
            (Mode::Webhook, Some(secret)) => webhook::handle(request, secret, &self.filter),
            _ => Inbound::status(
                404,
                "channel-telegram reads updates by polling (`mode = \"poll\"`)",
            ),
        }
    }

    /// `getUpdates` (<https://core.telegram.org/bots/api#getupdates>): `offset` = the
    /// cursor (the last `update_id` + 1), `timeout` = `poll_timeout_s`, `allowed_updates`.
    fn poll(&mut self, cursor: Option<&str>) -> Option<HttpRequest> {
        if self.config.mode != Mode::Poll {
            return None;
        }
        let mut body = json!({
            "timeout": self.config.poll_timeout_s,
            "allowed_updates": ALLOWED_UPDATES,
        });
        self.cursor = cursor.map(str::to_owned);
        match cursor.map(|c| c.parse::<i64>()) {
            Some(Ok(offset)) => body["offset"] = json!(offset),
            Some(Err(_)) => {
                tracing::warn!(
                    cursor,
                    "poll cursor is not an update offset: polling from the oldest update"
                );
                self.cursor = None;
            }
            None => {}
        }
        Some(self.request("getUpdates", &body))
    }

    fn parse_poll(&mut self, response: &HttpResponse) -> Result<Polled, ChannelError> {
        let result = answer::result("getUpdates", response)?;
        updates::polled(result, &self.filter, self.cursor.as_deref())
    }

    /// Webhook mode: `setWebhook` with `webhook_url` and the secret; poll mode:
    /// `deleteWebhook`, since Telegram refuses `getUpdates` while a webhook is set.
    fn setup(&mut self) -> Vec<HttpRequest> {
        match (self.config.mode, &self.secret, &self.config.webhook_url) {
            (Mode::Webhook, Some(secret), Some(url)) => vec![self.request(
                "setWebhook",
                &json!({
                    "url": url,
                    "secret_token": secret,
                    "allowed_updates": ALLOWED_UPDATES,
                }),
            )],
            _ => vec![self.request("deleteWebhook", &json!({ "drop_pending_updates": false }))],
        }
    }
}

hypernet_plugin_api::register_channel!(Telegram, "telegram");
hypernet_plugin_api::export_plugin!();

#[cfg(test)]
mod tests;
