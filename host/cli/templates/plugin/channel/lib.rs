//! `{{name}}`: a Hypernet channel plugin. It delivers each message for a person as one JSON
//! POST to the URL of its config:
//!
//! ```text
//! {"id": "M-000042", "to": "ada-ops", "recipient": "Ada", "sender": "Trace",
//!  "subject": "Question on T-12", "text": "...", "tags": ["question"]}
//! ```
//!
//! `to` is the person's address on this channel, from `[[person]]` in `hypernet.toml`:
//! `channels = { {{name}} = "ada-ops" }`.
//!
//! Channels are sans-IO where the protocol is HTTP: `deliver` says which requests to send
//! and `parse_delivery` reads each answer; the host sends them with its one HTTP client,
//! stores every message before sending it, and retries what `parse_delivery` calls
//! retryable. A channel can also take commands from people (`inbound`, `poll`); PLUGINS.md
//! in the Hypernet repository describes every method.

use hypernet_plugin_api::channel::{
    Channel, ChannelError, ChannelInfo, Delivery, HttpRequest, HttpResponse, Outbound, Receipt,
};
use hypernet_plugin_api::{Host, PluginError};
use serde::Deserialize;
use serde_json::{Value, json};

/// The entry's `[plugin.config]` table. `deny_unknown_fields` turns a misspelt key into a
/// load error that names it.
///
/// A URL that holds a token is a secret: keep it out of the manifest by naming, in the
/// config, an environment variable that holds it, and read the variable in `start`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// Where messages are POSTed: an `http://` or `https://` URL.
    url: String,
}

/// The running channel. The host calls it one call at a time, so `&mut self` needs no
/// locks.
struct Poster {
    url: String,
}

impl Channel for Poster {
    type Config = Config;

    /// Checks beyond the shape of the config; `hypernet plugins check` runs them too.
    fn validate(config: &Config) -> Result<(), PluginError> {
        if !(config.url.starts_with("http://") || config.url.starts_with("https://")) {
            return Err(PluginError::invalid(format!(
                "`url` must start with http:// or https://, got `{}`",
                config.url
            )));
        }
        Ok(())
    }

    fn start(config: Config, _host: Host) -> Result<Self, PluginError> {
        tracing::info!("channel ready");
        Ok(Poster { url: config.url })
    }

    /// No buttons (the host writes the commands a button would send into the text) and no
    /// polling for commands.
    fn describe(&self) -> ChannelInfo {
        ChannelInfo::default()
    }

    fn deliver(&mut self, message: &Outbound) -> Result<Delivery, ChannelError> {
        let body = json!({
            "id": message.id,
            "to": message.to,
            "recipient": message.recipient,
            "sender": message.sender.name,
            "subject": message.subject,
            "text": message.text,
            "tags": message.tags,
        });
        Ok(Delivery::http(HttpRequest {
            method: "POST".to_owned(),
            url: self.url.clone(),
            headers: vec![
                ("content-type".to_owned(), "application/json".to_owned()),
                // The same on every retry of a message: a receiver can drop repeats.
                ("idempotency-key".to_owned(), message.id.clone()),
            ],
            body: body.to_string(),
        }))
    }

    /// A 2xx answer delivered the message (its `id`, when the receiver gave one, is kept as
    /// the receipt); any other answer is classified by its status: 429 and 5xx are tried
    /// again later, 401 and 403 are an authentication failure, the rest a refusal.
    fn parse_delivery(
        &mut self,
        _message: &Outbound,
        _part: usize,
        response: &HttpResponse,
    ) -> Result<Receipt, ChannelError> {
        if !(200..300).contains(&response.status) {
            return Err(ChannelError::from_status(response));
        }
        let answer: Value = serde_json::from_str(&response.body).unwrap_or(Value::Null);
        Ok(Receipt {
            handle: answer["id"].as_str().map(str::to_owned),
            detail: None,
        })
    }
}

// The service, declared next to its code. Its name is the channel's name in
// `[[person]] channels` and in messages.
hypernet_plugin_api::register_channel!(Poster, "{{name}}");

// Once per library: what the host looks up when it loads the file.
hypernet_plugin_api::export_plugin!();

#[cfg(test)]
mod tests {
    use super::*;
    use hypernet_plugin_api::channel::Sender;
    use hypernet_plugin_api::testing::TestHost;

    /// Starts the channel as the host would: the config checked, then `start`.
    fn start(config: Value) -> Poster {
        let config: Config = serde_json::from_value(config).expect("the config's shape");
        Poster::validate(&config).expect("a valid config");
        Poster::start(config, TestHost::new("{{name}}").host()).expect("it starts")
    }

    fn message() -> Outbound {
        Outbound {
            id: "M-000042".into(),
            to: "ada-ops".into(),
            recipient: "Ada".into(),
            sender: Sender {
                name: "Trace".into(),
                avatar_url: None,
            },
            subject: "Question on T-12".into(),
            text: "Which wall?".into(),
            tags: vec!["question".into()],
            ..Outbound::default()
        }
    }

    fn answer(status: u16, body: &str) -> HttpResponse {
        HttpResponse {
            status,
            headers: vec![("retry-after".into(), "2".into())],
            body: body.into(),
        }
    }

    #[test]
    fn posts_the_message_as_json() {
        let mut channel = start(json!({ "url": "http://127.0.0.1:9/inbox" }));
        let Delivery::Http { requests } = channel.deliver(&message()).unwrap() else {
            panic!("HTTP requests for the host to send");
        };
        let [request] = requests.as_slice() else {
            panic!("one request, got {requests:?}");
        };
        assert_eq!(request.method, "POST");
        assert_eq!(request.url, "http://127.0.0.1:9/inbox");
        assert!(
            request
                .headers
                .contains(&("idempotency-key".into(), "M-000042".into()))
        );
        let body: Value = serde_json::from_str(&request.body).unwrap();
        assert_eq!(
            body,
            json!({
                "id": "M-000042", "to": "ada-ops", "recipient": "Ada", "sender": "Trace",
                "subject": "Question on T-12", "text": "Which wall?", "tags": ["question"],
            })
        );
    }

    #[test]
    fn reads_the_answers() {
        let mut channel = start(json!({ "url": "https://example.org/inbox" }));
        let sent = |channel: &mut Poster, status, body| {
            channel.parse_delivery(&message(), 0, &answer(status, body))
        };
        let receipt = sent(&mut channel, 200, r#"{"id": "in-7"}"#).unwrap();
        assert_eq!(receipt.handle.as_deref(), Some("in-7"));
        assert_eq!(sent(&mut channel, 204, "").unwrap(), Receipt::default());
        let busy = sent(&mut channel, 429, "slow down").unwrap_err();
        assert!(busy.is_retryable());
        assert_eq!(busy.retry_after_ms(), Some(2000));
        assert!(sent(&mut channel, 503, "").unwrap_err().is_retryable());
        let refused = sent(&mut channel, 400, "no such inbox").unwrap_err();
        assert!(!refused.is_retryable(), "{refused}");
    }

    #[test]
    fn refuses_a_url_that_is_not_http() {
        let config: Config = serde_json::from_value(json!({ "url": "ftp://x" })).unwrap();
        let err = Poster::validate(&config).unwrap_err();
        assert!(err.to_string().contains("`ftp://x`"), "{err}");
        assert!(serde_json::from_value::<Config>(json!({})).is_err());
    }
}
