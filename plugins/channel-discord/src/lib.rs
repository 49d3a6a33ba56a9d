//! `channel-discord`: people reached on Discord, service `discord`.
//!
//! Messages go out through webhooks, one per worker if configured, so each worker shows
//! with its own name and picture; the person is mentioned (`<@id>`, and only they may be
//! pinged). Slash commands and button presses come in through the application's
//! Interactions endpoint, `POST /api/channels/discord/interactions`, verified with the
//! application's Ed25519 public key; the answer edits the deferred interaction response.
//! `hypernet channels setup discord` registers the slash commands. Sans-IO: the host sends
//! every request this channel builds.
//!
//! ```toml
//! [[plugin]]
//! name = "channel-discord"
//! [plugin.config]
//! base_url = "https://discord.com/api/v10"  # default
//! webhook_env = "DISCORD_WEBHOOK"           # default: `<id>/<token>` or the webhook's URL
//! avatar_url = "https://example.org/swarm.png"   # optional: for workers without their own
//! buttons = true                            # default: needs an application-owned webhook
//! application_id = "123456789012345678"     # for `setup`; then the bot token is required
//! bot_token_env = "DISCORD_BOT_TOKEN"       # default
//! public_key = "<64 hex digits>"            # or public_key_env: enables interactions
//! [plugin.config.personalities.scout]
//! webhook_env = "DISCORD_WEBHOOK_SCOUT"     # optional: default webhook otherwise
//! username = "Scout"                        # optional: the worker's name otherwise
//! avatar_url = "https://example.org/scout.png"
//! ```
//!
//! Secrets (webhook tokens, the bot token) are read once, at start, and appear in no log,
//! error or debug output.

mod answers;
mod commands;
mod config;
mod content;
mod interactions;
mod outbound;

#[cfg(test)]
mod tests;

use config::{Config, Secrets};
use hypernet_plugin_api::channel::{
    Channel, ChannelError, ChannelInfo, Delivery, HttpRequest, HttpResponse, Inbound,
    InboundRequest, Outbound, Receipt,
};
use hypernet_plugin_api::{Host, PluginError};
use outbound::Look;

/// The running channel.
#[derive(Debug)]
struct Discord {
    config: Config,
    secrets: Secrets,
}

impl Discord {
    fn new(config: Config, env: impl Fn(&str) -> Option<String>) -> Result<Self, PluginError> {
        config.validate()?;
        let secrets = Secrets::read(&config, env)?;
        tracing::info!(
            base_url = %config.base_url,
            personalities = config.personalities.len(),
            interactions = secrets.public_key.is_some(),
            setup = config.application_id.is_some(),
            "discord channel ready"
        );
        Ok(Discord { config, secrets })
    }

    /// How a message from `sender` looks: the personality's name and picture, the
    /// message's own picture first.
    fn look<'a>(&'a self, message: &'a Outbound) -> Look<'a> {
        let personality = self.config.personalities.get(&message.sender.name);
        Look {
            username: personality
                .and_then(|p| p.username.as_deref())
                .or(Some(message.sender.name.as_str())),
            avatar_url: message
                .sender
                .avatar_url
                .as_deref()
                .or(personality.and_then(|p| p.avatar_url.as_deref()))
                .or(self.config.avatar_url.as_deref()),
            buttons: self.config.buttons,
        }
    }
}

impl Channel for Discord {
    type Config = Config;

    fn validate(config: &Config) -> Result<(), PluginError> {
        config.validate()
    }

    fn start(config: Config, _host: Host) -> Result<Self, PluginError> {
        Discord::new(config, |var| std::env::var(var).ok())
    }

    fn describe(&self) -> ChannelInfo {
        ChannelInfo {
            buttons: self.config.buttons,
            polls: false,
        }
    }

    fn deliver(&mut self, message: &Outbound) -> Result<Delivery, ChannelError> {
        let look = self.look(message);
        let requests = match &message.reply {
            Some(reply) => {
                outbound::interaction_requests(&self.config.base_url, reply, look, message)?
            }
            None => {
                let webhook = self
                    .secrets
                    .worker_webhooks
                    .get(&message.sender.name)
                    .unwrap_or(&self.secrets.webhook);
                outbound::webhook_requests(&self.config.base_url, webhook, look, message)?
            }
        };
        Ok(Delivery::Http { requests })
    }

    fn parse_delivery(
        &mut self,
        _message: &Outbound,
        _part: usize,
        response: &HttpResponse,
    ) -> Result<Receipt, ChannelError> {
        if (200..300).contains(&response.status) {
            Ok(answers::receipt(response))
        } else {
            Err(answers::classify(response))
        }
    }

    fn inbound(&mut self, request: &InboundRequest) -> Inbound {
        interactions::handle(self.secrets.public_key.as_ref(), request)
    }

    fn setup(&mut self) -> Vec<HttpRequest> {
        let (Some(application_id), Some(token)) =
            (&self.config.application_id, &self.secrets.bot_token)
        else {
            tracing::warn!("channel-discord: set `application_id` to register the slash commands");
            return Vec::new();
        };
        vec![HttpRequest {
            method: "PUT".to_owned(),
            url: format!(
                "{}/applications/{application_id}/commands",
                self.config.base_url.trim_end_matches('/')
            ),
            headers: vec![
                ("authorization".to_owned(), format!("Bot {}", token.0)),
                ("content-type".to_owned(), "application/json".to_owned()),
            ],
            body: commands::definitions().to_string(),
        }]
    }
}

hypernet_plugin_api::register_channel!(Discord, "discord");
hypernet_plugin_api::export_plugin!();
