//! What the subsystem offers, for `hypernet plugins describe herald` and the API: the
//! queries `queries::dispatch` answers, with the shapes of their arguments and answers, and
//! the events it publishes. Shapes are example objects whose values name the types.

use super::{EVENT_OUTBOUND_APPROVED, EVENT_REVIEW_CREATED, EVENT_STATE_CHANGED};
use hypernet_plugin_api::describe::{Description, EventDecl, QueryDecl};
use serde_json::{Value, json};

/// A review's state.
const STATE: &str = "string: pending, approved, held, escalated or released";

/// An outbound message.
fn message() -> Value {
    json!({
        "to": "string",
        "channel": "string",
        "body": "string",
        "sender": "string",
        "tags": ["string"],
    })
}

/// A review as queries return it.
fn review() -> Value {
    json!({
        "id": "string (HR-0001)",
        "kind": "string: outbound or content",
        "message": "{\"to\", \"channel\", \"body\", \"sender\": string, \"tags\": [string]}, \
                    optional (outbound)",
        "content": "string, optional (content)",
        "source": "string, optional (content)",
        "sha256": "string, 64 hex digits of the content (an outbound message's body)",
        "state": STATE,
        "notes": ["string"],
        "history": [{
            "from": "string",
            "to": "string",
            "by": "string",
            "note": "string, optional",
            "at_ms": "integer",
        }],
        "created_ms": "integer, Unix ms",
        "updated_ms": "integer",
    })
}

/// A moderation log entry.
fn log_entry() -> Value {
    json!({
        "seq": "integer, from 1",
        "action": "string: welcome, answer, flag, summarize, translate or hold",
        "actor": "string",
        "target": "string, optional",
        "detail": "string, optional",
        "at_ms": "integer",
    })
}

/// The queries and the events.
pub fn description() -> Description {
    let id = "string (HR-0001)";
    Description::default()
        .query(
            QueryDecl::new(
                "submit_outbound",
                "Files a message for people, held back until approved or cleared by a rule.",
            )
            .args(json!({
                "to": "string",
                "channel": "string",
                "body": "string",
                "sender": "string",
                "tags": "[string], optional",
            }))
            .answer(review()),
        )
        .query(
            QueryDecl::new("review_content", "Opens a review of plain content.")
                .args(json!({"content": "string", "source": "string"}))
                .answer(review()),
        )
        .query(
            QueryDecl::new(
                "approve",
                "Approves a pending or escalated review; an outbound message is then sent.",
            )
            .args(json!({"id": id, "reviewer": "string", "note": "string, optional"}))
            .answer(review()),
        )
        .query(
            QueryDecl::new(
                "hold",
                "Holds a pending or escalated review back, and logs the hold.",
            )
            .args(json!({"id": id, "reviewer": "string", "reason": "string"}))
            .answer(review()),
        )
        .query(
            QueryDecl::new(
                "escalate",
                "Hands a pending or held review up for a higher-level decision.",
            )
            .args(json!({
                "id": id,
                "reason": "string",
                "by": "string, optional (default \"herald\")",
            }))
            .answer(review()),
        )
        .query(
            QueryDecl::new(
                "release",
                "Releases a held review; an outbound message is then sent.",
            )
            .args(json!({"id": id, "reviewer": "string", "note": "string, optional"}))
            .answer(review()),
        )
        .query(
            QueryDecl::new("review", "One review.")
                .args(json!({"id": id}))
                .answer(review()),
        )
        .query(
            QueryDecl::new(
                "pending",
                "The reviews awaiting a decision (pending or escalated), oldest first.",
            )
            .answer(json!({"count": "integer", "reviews": [review()]})),
        )
        .query(
            QueryDecl::new("log", "The newest moderation log entries, oldest first.")
                .args(json!({"limit": "integer, optional (default 50, at most 500)"}))
                .answer(json!({
                    "entries": [log_entry()],
                    "kept": "integer, entries kept (at most 500)",
                    "last_seq": "integer",
                })),
        )
        .query(
            QueryDecl::new("record", "Appends an action to the moderation log.")
                .args(json!({
                    "action": "string: welcome, answer, flag, summarize, translate or hold",
                    "actor": "string",
                    "target": "string, optional",
                    "detail": "string, optional",
                }))
                .answer(log_entry()),
        )
        .event(
            EventDecl::new(EVENT_REVIEW_CREATED, "A review was opened.").payload(json!({
                "id": "string",
                "kind": "string: outbound or content",
                "state": "pending",
                "sha256": "string",
            })),
        )
        .event(
            EventDecl::new(EVENT_STATE_CHANGED, "A review changed state.").payload(json!({
                "id": "string",
                "from": STATE,
                "to": STATE,
                "by": "string",
                "note": "string or null",
            })),
        )
        .event(
            EventDecl::new(
                EVENT_OUTBOUND_APPROVED,
                "An outbound message was cleared; delivery channels send it.",
            )
            .payload(json!({
                "id": "string",
                "state": "string: approved or released",
                "by": "string",
                "sha256": "string",
                "message": message(),
            })),
        )
}

#[cfg(test)]
mod tests {
    use crate::Herald;
    use hypernet_plugin_api::testing::TestHost;
    use hypernet_plugin_api::{ErrorCode, Subsystem};
    use serde_json::{Value, json};
    use std::collections::BTreeSet;

    fn outbound(tags: &[&str]) -> Value {
        json!({"to": "ana", "channel": "discord", "body": "hello", "sender": "Trace",
               "tags": tags})
    }

    #[test]
    fn every_declared_query_is_answered() {
        let test = TestHost::new("herald");
        let config = serde_json::from_value(json!({"auto_approve_tags": ["routine"]})).unwrap();
        let mut herald = Herald::start(config, test.host()).unwrap();
        let described = herald.describe();
        // What `queries::dispatch` matches, in its order.
        let answered = [
            "submit_outbound",
            "review_content",
            "approve",
            "hold",
            "escalate",
            "release",
            "review",
            "pending",
            "log",
            "record",
        ];
        assert_eq!(described.query_names(), answered);
        let calls = [
            // HR-0001, approved at once by its tag; HR-0002 and HR-0004 wait.
            ("submit_outbound", outbound(&["routine"])),
            ("submit_outbound", outbound(&[])),
            (
                "review_content",
                json!({"content": "release notes", "source": "T-1"}),
            ),
            (
                "escalate",
                json!({"id": "HR-0002", "reason": "tone", "by": "Loom"}),
            ),
            (
                "approve",
                json!({"id": "HR-0002", "reviewer": "Ana", "note": "fine"}),
            ),
            (
                "hold",
                json!({"id": "HR-0003", "reviewer": "Ana", "reason": "check the numbers"}),
            ),
            (
                "release",
                json!({"id": "HR-0003", "reviewer": "Ana", "note": "checked"}),
            ),
            ("submit_outbound", outbound(&[])),
            ("review", json!({"id": "HR-0001"})),
            ("pending", json!({})),
            (
                "record",
                json!({"action": "welcome", "actor": "Herald", "target": "ana", "detail": "hi"}),
            ),
            ("log", json!({"limit": 10})),
        ];
        let mut called = BTreeSet::new();
        for (name, args) in calls {
            called.insert(name);
            let decl = described.queries.iter().find(|q| q.name == name).unwrap();
            hypernet_plugin_api::testing::assert_declared_fields(
                &format!("`{name}` arguments"),
                &decl.args,
                &args,
            );
            let answer = herald.query(name, args);
            if let Err(e) = &answer {
                assert!(
                    !(e.code() == ErrorCode::NotFound && e.message().starts_with("unknown query")),
                    "`{name}` is declared but not answered"
                );
            }
            let answer = answer.unwrap_or_else(|e| panic!("`{name}` refused: {e}"));
            hypernet_plugin_api::testing::assert_declared_fields(
                &format!("`{name}` answer"),
                &decl.answer,
                &answer,
            );
            for review in answer["reviews"].as_array().into_iter().flatten() {
                hypernet_plugin_api::testing::assert_declared_fields(
                    "a pending review",
                    &super::review(),
                    review,
                );
            }
            for entry in answer["entries"].as_array().into_iter().flatten() {
                hypernet_plugin_api::testing::assert_declared_fields(
                    "a log entry",
                    &super::log_entry(),
                    entry,
                );
            }
        }
        assert_eq!(called, answered.into_iter().collect());

        let declared: Vec<_> = described.events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            declared,
            [
                "herald.review_created",
                "herald.state_changed",
                "herald.outbound_approved",
            ]
        );
        let mut published = BTreeSet::new();
        for event in test.events() {
            let decl = described.events.iter().find(|e| e.kind == event.kind);
            let decl = decl.unwrap_or_else(|| panic!("`{}` is not declared", event.kind));
            hypernet_plugin_api::testing::assert_declared_fields(
                &event.kind,
                &decl.payload,
                &event.payload,
            );
            hypernet_plugin_api::testing::assert_declared_fields(
                &event.kind,
                &decl.payload["message"],
                &event.payload["message"],
            );
            published.insert(event.kind);
        }
        assert_eq!(published.len(), declared.len());
    }
}
