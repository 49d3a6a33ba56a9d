//! The [Interactions endpoint]: Discord POSTs each slash command and button press to
//! `/api/channels/discord/interactions`, signed with the application's Ed25519 key.
//!
//! Every request is [verified] first: `X-Signature-Ed25519` (hex) must be the signature of
//! `X-Signature-Timestamp` followed by the raw body, else 401 (Discord itself sends
//! badly signed requests to check that the endpoint refuses them). Then by `type`:
//! PING (1) is answered PONG `{"type":1}`; an APPLICATION_COMMAND (2) or a
//! MESSAGE_COMPONENT (3, a button) becomes an [`InboundCommand`] and is answered
//! DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE `{"type":5}` (Discord shows "thinking…" until the
//! host's answer edits it; a button's answer is a new message, so the message with the
//! buttons stays as it was).
//!
//! [Interactions endpoint]: https://discord.com/developers/docs/interactions/receiving-and-responding
//! [verified]: https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-validating-security-request-headers

use crate::commands;
use crate::outbound::InteractionReply;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use hypernet_plugin_api::channel::{Inbound, InboundCommand, InboundRequest};
use serde::Deserialize;
use serde_json::{Value, json};

/// Interaction types.
const PING: u8 = 1;
const APPLICATION_COMMAND: u8 = 2;
const MESSAGE_COMPONENT: u8 = 3;
/// Interaction callback types.
const PONG: u8 = 1;
const DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE: u8 = 5;

/// The fields of an [interaction] this channel reads.
///
/// [interaction]: https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object
#[derive(Debug, Deserialize)]
struct Interaction {
    #[serde(rename = "type")]
    kind: u8,
    #[serde(default)]
    id: String,
    #[serde(default)]
    application_id: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    data: Value,
    /// In a server: the member, whose `user` pressed or typed.
    #[serde(default)]
    member: Option<Member>,
    /// In a direct message: the user.
    #[serde(default)]
    user: Option<User>,
}

#[derive(Debug, Deserialize)]
struct Member {
    user: Option<User>,
}

#[derive(Debug, Deserialize)]
struct User {
    id: String,
}

/// Handles a request to the interactions endpoint, verified with `key` (none: the
/// endpoint is not configured).
pub(crate) fn handle(key: Option<&VerifyingKey>, request: &InboundRequest) -> Inbound {
    if request.path.trim_matches('/') != "interactions" {
        return Inbound::status(
            404,
            &format!(
                "no `{}` here; Discord's interactions go to `interactions`",
                request.path
            ),
        );
    }
    if !request.method.eq_ignore_ascii_case("POST") {
        return Inbound::status(405, "interactions are POSTed");
    }
    let Some(key) = key else {
        return Inbound::status(
            404,
            "interactions are not configured: set `public_key` or `public_key_env` in channel-discord's config",
        );
    };
    if let Err(why) = verify(key, request) {
        tracing::warn!(reason = why, "interaction refused");
        return Inbound::status(401, why);
    }
    let interaction: Interaction = match serde_json::from_str(&request.body) {
        Ok(i) => i,
        Err(e) => {
            return Inbound::status(400, &format!("the body is not an interaction: {e}"));
        }
    };
    match interaction.kind {
        PING => Inbound::json(200, &json!({ "type": PONG }), Vec::new()),
        APPLICATION_COMMAND | MESSAGE_COMPONENT => match command(&interaction) {
            Ok(command) => Inbound::json(
                200,
                &json!({ "type": DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE }),
                vec![command],
            ),
            Err(why) => Inbound::status(400, &why),
        },
        other => Inbound::status(400, &format!("interaction type {other} is not handled")),
    }
}

/// Checks the request's signature: `X-Signature-Ed25519` over `X-Signature-Timestamp` +
/// body.
fn verify(key: &VerifyingKey, request: &InboundRequest) -> Result<(), &'static str> {
    let (Some(signature), Some(timestamp)) = (
        request.header("x-signature-ed25519"),
        request.header("x-signature-timestamp"),
    ) else {
        return Err("missing X-Signature-Ed25519 or X-Signature-Timestamp");
    };
    let signature: [u8; 64] = hex::decode(signature.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or("X-Signature-Ed25519 is not 128 hex digits")?;
    let mut signed = Vec::with_capacity(timestamp.len() + request.body.len());
    signed.extend_from_slice(timestamp.as_bytes());
    signed.extend_from_slice(request.body.as_bytes());
    key.verify(&signed, &Signature::from_bytes(&signature))
        .map_err(|_| "invalid request signature")
}

/// The command an application command or a button press carries.
fn command(interaction: &Interaction) -> Result<InboundCommand, String> {
    let from = interaction
        .member
        .as_ref()
        .and_then(|m| m.user.as_ref())
        .or(interaction.user.as_ref())
        .map(|u| u.id.clone())
        .filter(|id| !id.is_empty())
        .ok_or("the interaction names no user (member.user.id or user.id)")?;
    if interaction.id.is_empty() || interaction.token.is_empty() {
        return Err("the interaction has no id or token".to_owned());
    }
    let data = &interaction.data;
    let text = if interaction.kind == APPLICATION_COMMAND {
        let name = data
            .get("name")
            .and_then(Value::as_str)
            .ok_or("the command has no `data.name`")?;
        let options = data
            .get("options")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        commands::command_line(name, options)
    } else {
        data.get("custom_id")
            .and_then(Value::as_str)
            .ok_or("the button has no `data.custom_id`")?
            .trim()
            .to_owned()
    };
    let reply = InteractionReply {
        application_id: interaction.application_id.clone(),
        token: interaction.token.clone(),
    };
    Ok(InboundCommand {
        id: interaction.id.clone(),
        from,
        text,
        reply: Some(serde_json::to_value(reply).map_err(|e| e.to_string())?),
    })
}
