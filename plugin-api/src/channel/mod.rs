//! Channels to people, sans-IO where the protocol is HTTP: a channel turns an [`Outbound`]
//! message into the HTTP requests that deliver it and reads the answers; turns an HTTP
//! request the host received for it (a Discord interaction, a Telegram webhook) into
//! [`InboundCommand`]s and the response to give; and, for channels that poll (Telegram's
//! `getUpdates`), builds the poll request and reads what it brought. The host does the I/O
//! with its one HTTP client, stores every message before sending it, retries what
//! [`ChannelError::is_retryable`] allows, and keeps the poll cursor durably with the
//! commands it read.
//!
//! A protocol the host does not speak (SMTP) is delivered by the channel itself, on its own
//! thread, answering [`Delivery::Done`].
//!
//! ```
//! use hypernet_plugin_api::channel::*;
//! use hypernet_plugin_api::{Host, PluginError};
//!
//! struct Shout { url: String }
//!
//! impl Channel for Shout {
//!     type Config = serde_json::Value;
//!     fn start(config: Self::Config, _host: Host) -> Result<Self, PluginError> {
//!         Ok(Shout { url: config["url"].as_str().unwrap_or("http://127.0.0.1:9/").into() })
//!     }
//!     fn describe(&self) -> ChannelInfo { ChannelInfo::default() }
//!     fn deliver(&mut self, message: &Outbound) -> Result<Delivery, ChannelError> {
//!         let body = serde_json::json!({ "text": message.text.to_uppercase() }).to_string();
//!         Ok(Delivery::http(HttpRequest {
//!             method: "POST".into(), url: self.url.clone(),
//!             headers: vec![("content-type".into(), "application/json".into())], body,
//!         }))
//!     }
//! }
//! hypernet_plugin_api::register_channel!(Shout, "shout");
//! ```

mod error;
mod types;

pub use crate::provider::{HttpRequest, HttpResponse};
pub use error::ChannelError;
pub use types::{
    Button, ButtonStyle, ChannelInfo, Delivery, Inbound, InboundCommand, InboundRequest, Outbound,
    Polled, Receipt, Sender, split_text,
};

use crate::{Host, PluginError};
use serde::de::DeserializeOwned;

/// A channel to people. Implement it, then register it with
/// [`register_channel!`](crate::register_channel).
///
/// The host serializes calls to one channel instance (`&mut self`, no locks), and calls it
/// on the channel's own thread, so a channel that does its own blocking I/O (SMTP) stalls
/// nobody else.
pub trait Channel: Sized + Send + 'static {
    /// The plugin's `[config]` table, typed. Use `#[serde(deny_unknown_fields)]` so a typo
    /// is reported by name.
    type Config: DeserializeOwned;

    /// Builds the channel from its config. Read secrets here, from the environment variables
    /// the config names; never log them.
    fn start(config: Self::Config, host: Host) -> Result<Self, PluginError>;

    /// Checks a config beyond what deserializing it checks. Called by `hypernet plugins
    /// check` and before `start`.
    fn validate(_config: &Self::Config) -> Result<(), PluginError> {
        Ok(())
    }

    /// What the channel can do.
    fn describe(&self) -> ChannelInfo;

    /// Turns a message into what the host should do to deliver it.
    fn deliver(&mut self, message: &Outbound) -> Result<Delivery, ChannelError>;

    /// Reads the answer to request `part` of [`Delivery::Http`] (any status). The default:
    /// 2xx is delivered, anything else is classified by [`ChannelError::from_status`].
    fn parse_delivery(
        &mut self,
        _message: &Outbound,
        _part: usize,
        response: &HttpResponse,
    ) -> Result<Receipt, ChannelError> {
        if (200..300).contains(&response.status) {
            Ok(Receipt::default())
        } else {
            Err(ChannelError::from_status(response))
        }
    }

    /// Handles an HTTP request the host received at `/api/channels/<plugin>/<path>`. The
    /// default answers 404.
    fn inbound(&mut self, _request: &InboundRequest) -> Inbound {
        Inbound::status(404, "this channel takes no inbound requests")
    }

    /// The request that fetches new inbound commands, for channels that poll, given the
    /// cursor the last [`Polled`] returned (none at first). `None`: the channel does not
    /// poll (the default).
    fn poll(&mut self, _cursor: Option<&str>) -> Option<HttpRequest> {
        None
    }

    /// Reads the answer to [`Channel::poll`] (any status).
    fn parse_poll(&mut self, response: &HttpResponse) -> Result<Polled, ChannelError> {
        Err(ChannelError::from_status(response))
    }

    /// The requests that set the channel up on its service (Discord: register the slash
    /// commands), run by `hypernet channels setup <plugin>`. None by default.
    fn setup(&mut self) -> Vec<HttpRequest> {
        Vec::new()
    }
}
