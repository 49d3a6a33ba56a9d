//! `channel-email`: messages to people by email, over SMTP.
//!
//! SMTP is not HTTP, so this channel does its own I/O: `deliver` sends the mail on the
//! channel's own thread (the host calls it there) and answers [`Delivery::Done`] with the
//! server's reply. Mails of one task thread in a mail client by their derived Message-ID,
//! In-Reply-To and References (see `compose`). Email is outbound only: commands come by the
//! other channels. The password is read once, at start, from an environment variable, and
//! appears in no log or error.
//!
//! ```toml
//! [[plugin]]
//! name = "channel-email"
//! [plugin.config]
//! host = "smtp.example.org"          # required
//! port = 587                         # default by tls: 587, 465 (tls), 25 (none)
//! tls = "starttls"                   # default; or "tls", "none"
//! username = "swarm@example.org"     # optional: AUTH only when set
//! password_env = "HYPERNET_SMTP_PASSWORD"  # default
//! from = "swarm@example.org"         # required; the display name is the worker's
//! ca_file = "/etc/hypernet/smtp-ca.pem"    # optional: a private server's CA
//! domain = "example.org"             # default: the domain of `from`
//! timeout_s = 30                     # default
//! ```

mod compose;
mod config;
mod smtp;

use config::Config;
use hypernet_plugin_api::channel::{
    Channel, ChannelError, ChannelInfo, Delivery, Outbound, Receipt,
};
use hypernet_plugin_api::{Host, PluginError};
use lettre::{Address, SmtpTransport, Transport};

/// The running channel. Its transport holds the password, so its `Debug` output is written
/// by hand.
struct Email {
    transport: SmtpTransport,
    from: Address,
    domain: String,
}

impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Email")
            .field("from", &self.from)
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

impl Email {
    fn new(config: &Config, password: Option<String>) -> Result<Email, PluginError> {
        config.validate()?;
        let domain = config.domain()?;
        let transport = smtp::transport(config, &domain, password)?;
        tracing::info!(
            host = %config.host,
            port = config.port(),
            tls = ?config.tls,
            auth = config.username.is_some(),
            "email channel ready"
        );
        Ok(Email {
            transport,
            from: config.sender_address()?,
            domain,
        })
    }
}

impl Channel for Email {
    type Config = Config;

    fn validate(config: &Config) -> Result<(), PluginError> {
        config.validate()
    }

    fn start(config: Config, _host: Host) -> Result<Self, PluginError> {
        let password = match &config.username {
            None => None,
            Some(_) => Some(
                std::env::var(&config.password_env)
                    .ok()
                    .filter(|p| !p.is_empty())
                    .ok_or_else(|| {
                        PluginError::invalid(format!(
                            "environment variable {} is not set; channel-email logs in as `username` with it",
                            config.password_env
                        ))
                    })?,
            ),
        };
        Email::new(&config, password)
    }

    fn describe(&self) -> ChannelInfo {
        ChannelInfo::default()
    }

    /// Sends the mail and waits for the server's answer; the receipt's handle is the
    /// Message-ID, its detail the server's reply.
    fn deliver(&mut self, message: &Outbound) -> Result<Delivery, ChannelError> {
        let mail = compose::compose(message, &self.from, &self.domain)?;
        let message_id = compose::message_id(&message.id, message.thread.as_deref(), &self.domain);
        let response = self
            .transport
            .send(&mail)
            .map_err(|error| smtp::classify(&message.id, &error))?;
        let reply = response.message().collect::<Vec<_>>().join(" ");
        tracing::debug!(message = %message.id, code = %response.code(), "mail accepted");
        Ok(Delivery::Done {
            receipt: Receipt {
                handle: Some(message_id),
                detail: Some(format!("{} {reply}", response.code())),
            },
        })
    }
}

hypernet_plugin_api::register_channel!(Email, "email");
hypernet_plugin_api::export_plugin!();

#[cfg(test)]
mod tests;
