//! The SMTP connection: a blocking [`SmtpTransport`] built once from the config (TLS with
//! rustls, the system's roots plus `ca_file`, AUTH when a username is set), and the
//! classification of what the server or the connection answered.

use crate::config::{Config, TlsMode};
use hypernet_plugin_api::PluginError;
use hypernet_plugin_api::channel::ChannelError;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::{Error, SmtpTransport};
use std::time::Duration;

/// Reply codes that mean the login was refused (RFC 4954: 530 authentication required, 534
/// mechanism too weak, 535 credentials invalid, 538 encryption required).
const AUTH_CODES: [&str; 4] = ["530", "534", "535", "538"];

/// The transport for `config`, logging in with `password` when a username is set.
pub(crate) fn transport(
    config: &Config,
    domain: &str,
    password: Option<String>,
) -> Result<SmtpTransport, PluginError> {
    let mut builder = SmtpTransport::builder_dangerous(config.host.trim())
        .port(config.port())
        .timeout(Some(Duration::from_secs(config.timeout_s)))
        .hello_name(ClientId::Domain(domain.to_owned()));
    builder = match config.tls {
        TlsMode::Starttls => builder.tls(Tls::Required(tls_parameters(config)?)),
        TlsMode::Tls => builder.tls(Tls::Wrapper(tls_parameters(config)?)),
        TlsMode::None => builder.tls(Tls::None),
    };
    if let (Some(username), Some(password)) = (&config.username, password) {
        builder = builder.credentials(Credentials::new(username.clone(), password));
    }
    Ok(builder.build())
}

/// rustls parameters checking the server's certificate for `host`, trusting `ca_file` too.
fn tls_parameters(config: &Config) -> Result<TlsParameters, PluginError> {
    let mut builder = TlsParameters::builder(config.host.trim().to_owned());
    if let Some(path) = &config.ca_file {
        let pem = std::fs::read(path).map_err(|error| {
            PluginError::invalid(format!("reading `ca_file` {}: {error}", path.display()))
        })?;
        let certificate = Certificate::from_pem(&pem).map_err(|error| {
            PluginError::invalid(format!(
                "`ca_file` {} holds no PEM certificate: {error}",
                path.display()
            ))
        })?;
        builder = builder.add_root_certificate(certificate);
    }
    builder.build_rustls().map_err(|error| {
        PluginError::invalid(format!("TLS for the SMTP server {}: {error}", config.host))
    })
}

/// Classifies a failed send: a refused login is `Auth`; another permanent (5xx) answer is
/// `Rejected`; a transient (4xx) answer, a connection, TLS or timeout failure is
/// `Unavailable`, to be tried again.
pub(crate) fn classify(message_id: &str, error: &Error) -> ChannelError {
    let code = error.status().map(|code| code.to_string());
    let message = format!("message {message_id}: SMTP: {error}");
    let login_refused = code.as_deref().is_some_and(|c| AUTH_CODES.contains(&c))
        || (error.is_client() && error.to_string().contains("authentication"));
    if login_refused {
        ChannelError::Auth { message }
    } else if error.is_permanent() || error.is_client() {
        ChannelError::Rejected { message }
    } else {
        ChannelError::Unavailable { message }
    }
}
