//! What the swarm tells people on its own, from the host's events:
//!
//! | event | kind | to | buttons |
//! |---|---|---|---|
//! | `task.needs_input` with a question | questions | the person who filed the task, else everyone receiving questions | — |
//! | `task.needs_input` with an approval | approvals | everyone receiving approvals | approve, deny |
//! | `task.failed` for good | failures | the person who filed the task, else everyone receiving failures | retry |
//!
//! Each carries the tag `notice` (the default herald config lets notices pass at once).
//! With no `[[person]]` configured, questions and approvals go to the host log, addressed to
//! whoever filed the task, as they always have. Every message is threaded by its task.
//! The listener also lets go of messages the herald approved.

use super::Detached;
use super::record::NOTICE;
use super::record::{LOG, NewMessage};
use crate::people::{People, Receives};
use hypernet_plugin_api::channel::{Button, ButtonStyle};
use serde_json::Value;

/// Starts the listener on the current runtime: a durable subscription (`host:outbox`), so
/// an event handled just before a crash comes again — and the message it calls for is
/// filed once, under the event's id.
pub(super) fn spawn(outbox: Detached) {
    let Some(live) = outbox.upgrade() else {
        return;
    };
    let mut events = live.registry.subscribe_durably("outbox");
    drop(live);
    tokio::spawn(async move {
        while let Some(batch) = events.next().await {
            for event in batch {
                let Some(live) = outbox.upgrade() else {
                    return;
                };
                handle(&live, &event).await;
                events.ack(event.id);
            }
        }
    });
}

/// Files what `event` calls for (once per event and recipient), or lets go of the message
/// the herald approved.
pub(super) async fn handle(outbox: &super::Outbox, event: &hypernet_plugin_api::Event) {
    if event.kind == "herald.outbound_approved" {
        let review = event.payload["id"].as_str().unwrap_or_default().to_owned();
        let live = outbox.clone();
        let sent = tokio::task::spawn_blocking(move || live.release(&review)).await;
        if let Ok(Err(e)) = sent {
            tracing::error!(error = %e, "cannot send an approved message");
        }
        return;
    }
    for mut message in messages(&outbox.people, &event.kind, &event.payload) {
        message.origin = Some(format!("event:{}:{}", event.id, message.to));
        if let Err(e) = outbox.file(message).await {
            tracing::error!(error = %e, "cannot tell a person what needs them");
        }
    }
}

/// The messages an event calls for (none for most events).
pub fn messages(people: &People, kind: &str, payload: &Value) -> Vec<NewMessage> {
    let text = |key: &str| payload[key].as_str().unwrap_or_default().to_owned();
    let (id, title, worker, filed_by) =
        (text("id"), text("title"), text("worker"), text("filed_by"));
    let sender = if worker.is_empty() {
        "host".to_owned()
    } else {
        worker.clone()
    };
    let (receives, body, tags, buttons) = match kind {
        "task.needs_input" => match payload["approval"].as_str() {
            Some(approval) => (
                Receives::Approvals,
                format!(
                    "{id} \"{title}\" waits for your decision ({approval}). {worker} asks: {}\n\
                     Answer with: approve {approval} | deny {approval} <reason>",
                    text("question")
                ),
                vec![
                    NOTICE.to_owned(),
                    "approval".to_owned(),
                    format!("approval:{approval}"),
                ],
                vec![
                    Button::new("Approve", format!("approve {approval}")),
                    Button::new("Deny", format!("deny {approval}")).style(ButtonStyle::Danger),
                ],
            ),
            None => (
                Receives::Questions,
                format!(
                    "{id} \"{title}\" needs your input. {worker} asks: {}\n\
                     Answer with: answer {id} <your answer>  (or: hypernet task answer {id} \"<your answer>\")",
                    text("question")
                ),
                vec![NOTICE.to_owned(), "clarification".to_owned()],
                Vec::new(),
            ),
        },
        "task.failed" if payload["retry_at_ms"].is_null() => (
            Receives::Failures,
            format!(
                "{id} \"{title}\" failed for good: {}\nRetry with: retry {id}",
                text("error")
            ),
            vec![NOTICE.to_owned(), "failure".to_owned()],
            vec![Button::new("Retry", format!("retry {id}")).style(ButtonStyle::Secondary)],
        ),
        _ => return Vec::new(),
    };
    let recipients: Vec<String> = if people.all().is_empty() {
        if receives == Receives::Failures {
            return Vec::new();
        }
        vec![if filed_by.is_empty() {
            "person".to_owned()
        } else {
            filed_by.clone()
        }]
    } else {
        match people
            .find(&filed_by)
            .filter(|p| receives != Receives::Approvals && p.receives(receives))
        {
            Some(p) => vec![p.name.clone()],
            None => people.receiving(receives).map(|p| p.name.clone()).collect(),
        }
    };
    recipients
        .into_iter()
        .map(|to| {
            let mut m = NewMessage::new(to, sender.clone(), body.clone());
            if people.all().is_empty() {
                m.channel = LOG.into();
            }
            m.subject = Some(format!("{id} {title}"));
            m.thread = Some(id.clone()).filter(|t| !t.is_empty());
            m.tags = tags.clone();
            m.buttons = buttons.clone();
            m
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::people::Person;
    use serde_json::json;

    fn person(name: &str, receives: &[Receives]) -> Person {
        Person {
            name: name.into(),
            channels: [("telegram".to_owned(), format!("{name}-chat"))]
                .into_iter()
                .collect(),
            receives: receives.to_vec(),
            commands: true,
            alerts_off: Vec::new(),
        }
    }

    #[test]
    fn without_people_questions_go_to_the_log_and_failures_nowhere() {
        let none = People::default();
        let q = json!({"id": "T-3", "title": "Fix", "worker": "builder", "filed_by": "cli", "question": "Which branch?", "approval": null});
        let m = messages(&none, "task.needs_input", &q);
        assert_eq!(
            (m.len(), m[0].to.as_str(), m[0].channel.as_str()),
            (1, "cli", "log")
        );
        assert!(m[0].body.contains("Which branch?") && m[0].body.contains("answer T-3"));
        assert_eq!(m[0].thread.as_deref(), Some("T-3"));
        let failed = json!({"id": "T-3", "title": "Fix", "error": "boom", "retry_at_ms": null});
        assert!(messages(&none, "task.failed", &failed).is_empty());
    }

    #[test]
    fn people_get_what_they_receive() {
        use Receives::*;
        let people = People::new(vec![
            person("ada", &[Questions, Approvals, Failures]),
            person("bo", &[Approvals]),
            person("cy", &[Failures]),
        ]);
        let approval = json!({"id": "T-4", "title": "Deploy", "worker": "ops", "filed_by": "ada", "question": "run shell?", "approval": "AQ-0002"});
        let m = messages(&people, "task.needs_input", &approval);
        let to: Vec<_> = m.iter().map(|m| m.to.as_str()).collect();
        assert_eq!(to, ["ada", "bo"]);
        let commands: Vec<_> = m[0].buttons.iter().map(|b| b.command.as_str()).collect();
        assert_eq!(commands, ["approve AQ-0002", "deny AQ-0002"]);
        assert_eq!(m[0].sender, "ops");
        // A failure goes to its filer when they receive failures, else to everyone who does.
        let failed = json!({"id": "T-5", "title": "X", "error": "boom", "retry_at_ms": null, "filed_by": "ada"});
        assert_eq!(messages(&people, "task.failed", &failed)[0].to, "ada");
        let failed = json!({"id": "T-5", "title": "X", "error": "boom", "retry_at_ms": null, "filed_by": "api"});
        let to: Vec<_> = messages(&people, "task.failed", &failed)
            .into_iter()
            .map(|m| m.to)
            .collect();
        assert_eq!(to, ["ada", "cy"]);
        // A failure that will be retried tells nobody.
        let retried = json!({"id": "T-5", "title": "X", "error": "boom", "retry_at_ms": 5});
        assert!(messages(&people, "task.failed", &retried).is_empty());
    }
}
