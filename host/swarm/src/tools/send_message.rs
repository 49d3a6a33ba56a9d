//! `send_message`: a worker writes to a person — through the host's outbox, so the herald
//! reviews it when loaded. Tier 2; by default every call waits for a person's approval
//! (`send_message` is in `[tools] approval_required`), so what leaves the swarm was seen by
//! someone first. A host built without an outbox (tests, benchmarks) answers that no
//! messages can be sent.

use super::args::{failed, string, string_or};
use super::{Requirement, Tier, Tool, ToolContext, ToolError};
use crate::outbox::{NewMessage, Outbox};
use futures_util::future::BoxFuture;
use serde_json::{Value, json};

/// The tool; cheap to clone, sharing the outbox it sends through.
#[derive(Clone, Default)]
pub struct SendMessage {
    outbox: Option<Outbox>,
}

impl std::fmt::Debug for SendMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SendMessage")
    }
}

impl SendMessage {
    /// The tool sending through `outbox` (none: every call answers that it cannot send).
    pub fn new(outbox: Option<Outbox>) -> SendMessage {
        SendMessage { outbox }
    }
}

impl Tool for SendMessage {
    fn name(&self) -> &str {
        "send_message"
    }

    fn description(&self) -> &str {
        "Send a message to a person (by name or address). A person may have to approve it \
         first; the answer says whether it was sent or held for review."
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "to": {"type": "string", "description": "The person"},
                "body": {"type": "string", "description": "The message"},
                "channel": {"type": "string", "description": "Delivery channel: auto (default: the person's channels), log, telegram, email, ..."}
            },
            "required": ["to", "body"]
        })
    }

    fn requirement(&self, _: &Value) -> Option<Requirement> {
        Some(Requirement::at(Tier::Shared))
    }

    /// Its answer is the host's own report of the message's fate.
    fn outside(&self) -> bool {
        false
    }

    fn call<'a>(
        &'a self,
        ctx: &'a ToolContext,
        args: Value,
    ) -> BoxFuture<'a, Result<String, ToolError>> {
        Box::pin(async move {
            const TOOL: &str = "send_message";
            let to = string(TOOL, &args, "to")?.to_owned();
            let body = string(TOOL, &args, "body")?.to_owned();
            let channel = string_or(TOOL, &args, "channel", "auto")?.to_owned();
            let outbox = self
                .outbox
                .as_ref()
                .ok_or_else(|| failed(TOOL, "the host has no outbox to send with"))?;
            let message = NewMessage {
                to,
                channel,
                body,
                sender: ctx.worker.to_string(),
                tags: vec![format!("task:{}", ctx.task)],
                thread: Some(ctx.task.to_string()),
                ..NewMessage::default()
            };
            let sent = outbox.file(message).await.map_err(|e| failed(TOOL, e))?;
            Ok(format!(
                "message {} to {}: {}",
                sent.id, sent.to, sent.status
            ))
        })
    }
}
