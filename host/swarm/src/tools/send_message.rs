//! `send_message`: a worker writes to another worker, to every other worker, or to a
//! person.
//!
//! Where a message goes follows [`crate::bus::lookup`]: `*`/`all`, a worker's name or
//! address, or an address no worker answers to go on the bus between workers
//! ([`crate::bus`]), and so does every reply (`reply_to`, a bus message id, which marks
//! that message responded and puts the reply in its thread). Anything else is a person:
//! the message goes through the host's outbox, so the herald reviews it when loaded.
//!
//! Tier 2 either way. A message to a person waits for a person's approval while
//! `[tools] approval_required` lists `send_message` (the default), so what leaves the swarm
//! was seen by someone first; a message on the bus is listed as `worker_message` instead,
//! which the default does not hold. A host built without an outbox or a bus (tests,
//! benchmarks) answers that it cannot send that way.

use super::args::{bad, failed, string, string_or};
use super::{Requirement, Tier, Tool, ToolContext, ToolError};
use crate::bus::service::Outgoing;
use crate::bus::{Bus, MessageStatus, WorkerMessage, WorkerMessageId};
use crate::outbox::{NewMessage, Outbox};
use futures_util::future::BoxFuture;
use serde_json::{Value, json};

const TOOL: &str = "send_message";

/// The word `[tools] approval_required` lists to hold messages between workers.
pub const WORKER_MESSAGE: &str = "worker_message";

/// The tool; cheap to clone, sharing the outbox and the bus it sends through.
#[derive(Clone, Default)]
pub struct SendMessage {
    outbox: Option<Outbox>,
    bus: Option<Bus>,
}

impl std::fmt::Debug for SendMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SendMessage")
    }
}

impl SendMessage {
    /// The tool sending to people through `outbox` and to workers through `bus` (none:
    /// every call that would go that way answers that it cannot send).
    pub fn new(outbox: Option<Outbox>, bus: Option<Bus>) -> SendMessage {
        SendMessage { outbox, bus }
    }

    /// Whether a call with `args` goes on the bus.
    fn to_bus(&self, args: &Value) -> bool {
        let Some(bus) = &self.bus else {
            return false;
        };
        let to = args["to"].as_str().unwrap_or_default();
        bus.route(to, !args["reply_to"].is_null()).is_bus()
    }
}

/// The `reply_to` argument, if given.
fn reply_to(args: &Value) -> Result<Option<WorkerMessageId>, ToolError> {
    match &args["reply_to"] {
        Value::Null => Ok(None),
        Value::String(id) => id
            .parse()
            .map(Some)
            .map_err(|e| bad(TOOL, format!("`reply_to`: {e}"))),
        other => Err(bad(
            TOOL,
            format!("`reply_to` must be a string, not {other}"),
        )),
    }
}

/// What the model is told of messages put on the bus.
fn report(sent: &[WorkerMessage]) -> String {
    let each = |m: &WorkerMessage| match (&m.recipient, m.status) {
        (Some(r), status) => format!("message {} to {r}: {status}", m.id),
        (None, MessageStatus::Sent) => format!(
            "message {} to {}: sent, but no worker answers to `{}`; it is kept undelivered",
            m.id, m.to, m.to
        ),
        (None, status) => format!("message {} to {}: {status}", m.id, m.to),
    };
    let lines: Vec<String> = sent.iter().map(each).collect();
    let thread = sent
        .first()
        .map(|m| m.thread.to_string())
        .unwrap_or_default();
    format!("{} (thread {thread})", lines.join("; "))
}

impl Tool for SendMessage {
    fn name(&self) -> &str {
        TOOL
    }

    fn description(&self) -> &str {
        "Send a message to another worker (by name or address; \"*\" for every other worker) \
         or to a person. To answer a message from a worker, give its id as reply_to. A message \
         to a person may have to be approved first; the answer says what became of it."
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "to": {"type": "string", "description": "A worker, \"*\" for every other worker, or a person (with reply_to: default the sender of that message)"},
                "body": {"type": "string", "description": "The message"},
                "reply_to": {"type": "string", "description": "The id of the worker message this answers (WM-000001)"},
                "channel": {"type": "string", "description": "To a person: delivery channel: auto (default: the person's channels), log, telegram, email, ..."}
            },
            "required": ["body"]
        })
    }

    fn requirement(&self, args: &Value) -> Option<Requirement> {
        let needs = Requirement::at(Tier::Shared);
        Some(if self.to_bus(args) {
            needs.listed_as(WORKER_MESSAGE)
        } else {
            needs
        })
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
            let body = string(TOOL, &args, "body")?.to_owned();
            let reply_to = reply_to(&args)?;
            let to = if reply_to.is_some() {
                string_or(TOOL, &args, "to", "")?
            } else {
                string(TOOL, &args, "to")?
            }
            .to_owned();
            if let Some(bus) = self.bus.clone().filter(|_| self.to_bus(&args)) {
                let out = Outgoing {
                    from: ctx.worker.to_string(),
                    to,
                    body,
                    reply_to,
                };
                let sent = tokio::task::spawn_blocking(move || bus.send(out))
                    .await
                    .map_err(|e| failed(TOOL, e))?
                    .map_err(|e| failed(TOOL, e))?;
                return Ok(report(&sent));
            }
            if reply_to.is_some() {
                return Err(failed(
                    TOOL,
                    "the host has no bus between workers to reply on",
                ));
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_names_each_message_and_the_thread() {
        let m = |n: u64, to: &str, recipient: Option<&str>, status| WorkerMessage {
            id: WorkerMessageId(n),
            from: "Coder".into(),
            to: to.into(),
            recipient: recipient.map(str::to_owned),
            thread: WorkerMessageId(1),
            reply_to: None,
            body: "b".into(),
            status,
            created_ms: 0,
            updated_ms: 0,
        };
        assert_eq!(
            report(&[
                m(1, "*", Some("Reviewer"), MessageStatus::Delivered),
                m(2, "*", Some("Tester"), MessageStatus::Delivered)
            ]),
            "message WM-000001 to Reviewer: delivered; message WM-000002 to Tester: delivered (thread WM-000001)"
        );
        assert_eq!(
            report(&[m(3, "2.1.nobody", None, MessageStatus::Sent)]),
            "message WM-000003 to 2.1.nobody: sent, but no worker answers to `2.1.nobody`; it is kept undelivered (thread WM-000001)"
        );
    }

    #[test]
    fn reply_to_must_be_a_message_id() {
        assert_eq!(reply_to(&json!({})).unwrap(), None);
        assert_eq!(
            reply_to(&json!({"reply_to": "WM-000002"})).unwrap(),
            Some(WorkerMessageId(2))
        );
        let err = reply_to(&json!({"reply_to": "T-1"}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`reply_to`") && err.contains("`T-1`"), "{err}");
        assert!(reply_to(&json!({"reply_to": 3})).is_err());
    }

    #[test]
    fn without_a_bus_every_message_is_for_a_person() {
        let tool = SendMessage::default();
        let needs = tool.requirement(&json!({"to": "*", "body": "b"})).unwrap();
        assert_eq!(needs, Requirement::at(Tier::Shared));
    }
}
