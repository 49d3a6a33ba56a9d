//! Unit tests: every request built and every answer read, against Discord's documented
//! wire formats.

mod config;
mod inbound;
mod outbound;
mod setup;

use crate::Discord;
use crate::config::Config;
use ed25519_dalek::{Signer, SigningKey};
use hypernet_plugin_api::channel::{InboundRequest, Outbound, Sender};
use std::collections::HashMap;

/// The default webhook's id and token in the tests.
const WEBHOOK: &str = "111111111111111111/default-token";

/// A key pair for signing interactions, from fixed seed bytes.
fn signing_key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

fn public_key_hex() -> String {
    hex::encode(signing_key().verifying_key().to_bytes())
}

/// A config from TOML.
fn config(toml_text: &str) -> Config {
    let value: toml::Value = toml::from_str(toml_text).expect("test config is TOML");
    Config::deserialize(value).expect("test config deserializes")
}

use serde::Deserialize;

/// A channel from a TOML config and these environment variables.
fn discord(toml_text: &str, env: &[(&str, &str)]) -> Discord {
    try_discord(toml_text, env).expect("channel starts")
}

fn try_discord(
    toml_text: &str,
    env: &[(&str, &str)],
) -> Result<Discord, hypernet_plugin_api::PluginError> {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Discord::new(config(toml_text), move |var| env.get(var).cloned())
}

/// A channel with only the default webhook.
fn plain() -> Discord {
    discord("", &[("DISCORD_WEBHOOK", WEBHOOK)])
}

/// A message from `worker` to Discord user 42.
fn message(worker: &str, text: &str) -> Outbound {
    Outbound {
        id: "M-000001".into(),
        to: "42".into(),
        recipient: "ada".into(),
        sender: Sender {
            name: worker.into(),
            avatar_url: None,
        },
        text: text.into(),
        ..Default::default()
    }
}

/// An interaction request signed with the test key (or `signature` when given).
fn signed(body: &str, signature: Option<&str>) -> InboundRequest {
    let timestamp = "1700000000";
    let good = hex::encode(
        signing_key()
            .sign(format!("{timestamp}{body}").as_bytes())
            .to_bytes(),
    );
    InboundRequest {
        method: "POST".into(),
        path: "interactions".into(),
        headers: vec![
            (
                "x-signature-ed25519".into(),
                signature.unwrap_or(&good).to_owned(),
            ),
            ("x-signature-timestamp".into(), timestamp.into()),
            ("content-type".into(), "application/json".into()),
        ],
        body: body.into(),
    }
}

/// A channel that verifies interactions with the test key.
fn with_interactions() -> Discord {
    discord(
        &format!("public_key = \"{}\"", public_key_hex()),
        &[("DISCORD_WEBHOOK", WEBHOOK)],
    )
}
