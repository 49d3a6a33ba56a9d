//! The `[config]` table and its checks.

use hypernet_plugin_api::PluginError;
use lettre::Address;
use serde::Deserialize;
use std::path::PathBuf;

/// How the connection to the server is secured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum TlsMode {
    /// Plain connection upgraded with STARTTLS, which the server must offer (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption (a relay on the same machine, port 25).
    None,
}

impl TlsMode {
    /// The usual port for the mode.
    fn default_port(self) -> u16 {
        match self {
            TlsMode::Starttls => 587,
            TlsMode::Tls => 465,
            TlsMode::None => 25,
        }
    }
}

/// The `[config]` table: `host` and `from` are required.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    /// The SMTP server's name (also the name its certificate must carry).
    pub host: String,
    /// Its port (default by `tls`: 587, 465 or 25).
    #[serde(default)]
    pub port: Option<u16>,
    /// `starttls` (default), `tls` or `none`.
    #[serde(default)]
    pub tls: TlsMode,
    /// The login; none: no AUTH.
    #[serde(default)]
    pub username: Option<String>,
    /// The environment variable holding the password (default `HYPERNET_SMTP_PASSWORD`),
    /// read only when `username` is set.
    #[serde(default = "default_password_env")]
    pub password_env: String,
    /// The sender's address; the display name is the worker's.
    pub from: String,
    /// A PEM file of certificates to trust besides the system's (a private server).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// The domain of Message-IDs and of the greeting (default: the domain of `from`).
    #[serde(default)]
    pub domain: Option<String>,
    /// Seconds allowed for each step of the conversation with the server (default 30).
    #[serde(default = "default_timeout_s")]
    pub timeout_s: u64,
}

fn default_password_env() -> String {
    "HYPERNET_SMTP_PASSWORD".to_owned()
}

fn default_timeout_s() -> u64 {
    30
}

impl Config {
    /// The port to connect to.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or_else(|| self.tls.default_port())
    }

    /// The `from` address, parsed.
    pub fn sender_address(&self) -> Result<Address, PluginError> {
        self.from.trim().parse().map_err(|error| {
            PluginError::invalid(format!(
                "`from` is not an email address: `{}` ({error})",
                self.from
            ))
        })
    }

    /// The domain of Message-IDs.
    pub fn domain(&self) -> Result<String, PluginError> {
        match &self.domain {
            Some(domain) => Ok(domain.trim().to_owned()),
            None => Ok(self.sender_address()?.domain().to_owned()),
        }
    }

    /// Checks what deserializing does not.
    pub fn validate(&self) -> Result<(), PluginError> {
        if self.host.trim().is_empty() {
            return Err(PluginError::invalid("`host` must name the SMTP server"));
        }
        if self.port == Some(0) {
            return Err(PluginError::invalid("`port` must not be 0"));
        }
        if self.timeout_s == 0 {
            return Err(PluginError::invalid("`timeout_s` must be at least 1"));
        }
        self.sender_address()?;
        let domain = self.domain()?;
        let valid_domain = !domain.is_empty()
            && domain
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        if !valid_domain {
            return Err(PluginError::invalid(format!(
                "`domain` must be a domain name (letters, digits, `.` and `-`), got `{domain}`"
            )));
        }
        if self.username.as_deref().is_some_and(|u| u.is_empty()) {
            return Err(PluginError::invalid(
                "`username` is empty: leave it out to send without AUTH",
            ));
        }
        if self.username.is_some() && self.password_env.is_empty() {
            return Err(PluginError::invalid(
                "`password_env` must name an environment variable",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: serde_json::Value) -> Result<Config, serde_json::Error> {
        serde_json::from_value(value)
    }

    #[test]
    fn defaults_are_starttls_on_587_with_the_domain_of_from() {
        let config =
            parse(json!({ "host": "smtp.example.org", "from": "swarm@example.org" })).unwrap();
        assert_eq!(config.tls, TlsMode::Starttls);
        assert_eq!(config.port(), 587);
        assert_eq!(config.password_env, "HYPERNET_SMTP_PASSWORD");
        assert_eq!(config.timeout_s, 30);
        assert_eq!(config.domain().unwrap(), "example.org");
        assert!(config.validate().is_ok());
    }

    #[test]
    fn ports_follow_the_tls_mode() {
        let tls = parse(json!({ "host": "h", "from": "a@b.c", "tls": "tls" })).unwrap();
        assert_eq!(tls.port(), 465);
        let none = parse(json!({ "host": "h", "from": "a@b.c", "tls": "none" })).unwrap();
        assert_eq!(none.port(), 25);
        let set = parse(json!({ "host": "h", "from": "a@b.c", "port": 2525 })).unwrap();
        assert_eq!(set.port(), 2525);
    }

    #[test]
    fn host_and_from_are_required_and_typos_are_named() {
        assert!(
            parse(json!({ "from": "a@b.c" }))
                .unwrap_err()
                .to_string()
                .contains("host")
        );
        let err = parse(json!({ "host": "h", "from": "a@b.c", "usrname": "x" })).unwrap_err();
        assert!(err.to_string().contains("usrname"), "{err}");
        let err = parse(json!({ "host": "h", "from": "a@b.c", "tls": "ssl" })).unwrap_err();
        assert!(err.to_string().contains("ssl"), "{err}");
    }

    #[test]
    fn a_bad_from_or_domain_is_named() {
        let config = parse(json!({ "host": "h", "from": "not an address" })).unwrap();
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("not an address")
        );
        let config = parse(json!({ "host": "h", "from": "a@b.c", "domain": "x y" })).unwrap();
        assert!(config.validate().unwrap_err().to_string().contains("x y"));
    }
}
