//! What the subsystem offers, for `hypernet plugins describe reputation` and the API: the
//! queries `query` answers, with the shapes of their arguments and answers, and the event
//! it publishes. Shapes are example objects whose values name the types.

use hypernet_plugin_api::describe::{Description, EventDecl, QueryDecl};
use serde_json::{Value, json};

/// An entry as queries return it.
fn entry() -> Value {
    json!({
        "id": "string (REP-000001)",
        "entity": "string",
        "domain": "string",
        "score": "number, 0–100, one decimal",
        "source": "string: self, peer, system, retroactive or another type",
        "evidence": "string",
        "reviewer": "string or null",
        "task": "string or null",
        "at_ms": "integer, Unix ms",
        "event": "integer, optional (the host event it was recorded from)",
    })
}

/// The answer of `record` and `review`.
fn recorded() -> Value {
    json!({
        "entry": entry(),
        "domain_score": "number, the entity's new score in the entry's domain",
        "overall": "number, the entity's new overall score",
    })
}

/// The queries and the event.
pub fn description() -> Description {
    Description::default()
        .query(
            QueryDecl::new("record", "Records a judgement of an entity in a domain.")
                .args(json!({
                    "entity": "string",
                    "domain": "string",
                    "score": "number, 0–100, at most one decimal",
                    "source": "string: self, peer, system, retroactive or another type",
                    "evidence": "string, optional (default \"\")",
                    "reviewer": "string, optional (required for peer, not the entity)",
                    "task": "string, optional",
                }))
                .answer(recorded()),
        )
        .query(
            QueryDecl::new(
                "review",
                "Records a peer review of an entity's task, by default in the task's domain.",
            )
            .args(json!({
                "reviewer": "string (not the entity)",
                "entity": "string",
                "task": "string",
                "score": "number, 0–100, at most one decimal",
                "comment": "string, optional",
                "domain": "string, optional (default: the task's domain for the entity, else code)",
            }))
            .answer(recorded()),
        )
        .query(
            QueryDecl::new(
                "entity",
                "An entity's domain scores, overall score and number of entries.",
            )
            .args(json!({"entity": "string"}))
            .answer(json!({
                "entity": "string",
                "domains": {"<domain>": "number"},
                "overall": "number or null",
                "entries": "integer",
            })),
        )
        .query(
            QueryDecl::new("scores", "An entity's domain scores and overall score.")
                .args(json!({"entity": "string"}))
                .answer(json!({"domains": {"<domain>": "number"}, "overall": "number or null"})),
        )
        .query(
            QueryDecl::new(
                "leaders",
                "The best-scored entities in a domain, by score then name.",
            )
            .args(json!({
                "domain": "string",
                "limit": "integer, optional (default `leaders_limit`, 10)",
            }))
            .answer(json!({
                "domain": "string",
                "leaders": [{"entity": "string", "score": "number", "entries": "integer"}],
            })),
        )
        .query(
            QueryDecl::new("entries", "An entity's evidence trail, newest first.")
                .args(json!({"entity": "string", "domain": "string, optional (only this domain)"}))
                .answer(json!({"entity": "string", "entries": [entry()]})),
        )
        .event(
            EventDecl::new(
                "reputation.recorded",
                "An entry was recorded, by a query or from a task outcome.",
            )
            .payload(json!({
                "id": "string (REP-000001)",
                "entity": "string",
                "domain": "string",
                "score": "number",
                "source": "string",
            })),
        )
}

#[cfg(test)]
mod tests {
    use crate::Reputation;
    use hypernet_plugin_api::testing::TestHost;
    use hypernet_plugin_api::{ErrorCode, Event, Subsystem};
    use serde_json::json;
    use std::collections::BTreeSet;

    #[test]
    fn every_declared_query_is_answered() {
        let test = TestHost::new("reputation");
        let config = serde_json::from_value(json!({})).unwrap();
        let mut rep = Reputation::start(config, test.host()).unwrap();
        let described = rep.describe();
        // What `query` matches, in its order.
        let answered = ["record", "review", "entity", "scores", "leaders", "entries"];
        assert_eq!(described.query_names(), answered);
        let calls = [
            (
                "record",
                json!({"entity": "Trace", "domain": "code", "score": 80, "source": "peer",
                       "reviewer": "Loom", "evidence": "tidy", "task": "T-1"}),
            ),
            (
                "review",
                json!({"reviewer": "Loom", "entity": "Trace", "task": "T-1", "score": 72.5,
                       "comment": "good tests"}),
            ),
            ("entity", json!({"entity": "Trace"})),
            ("scores", json!({"entity": "Trace"})),
            ("leaders", json!({"domain": "code", "limit": 5})),
            ("entries", json!({"entity": "Trace", "domain": "code"})),
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
            let answer = rep.query(name, args);
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
        }
        assert_eq!(called, answered.into_iter().collect());
        // A task outcome records an entry too.
        let outcome = json!({"id": "T-2", "title": "t", "tags": [], "worker": "Trace"});
        let mut event = Event::new("task.completed", "host", outcome);
        event.id = 7;
        rep.on_event(&event).unwrap();
        let entries = rep.query("entries", json!({"entity": "Trace"})).unwrap();
        assert_eq!(entries["entries"][0]["event"], 7);
        hypernet_plugin_api::testing::assert_declared_fields(
            "an entry",
            &super::entry(),
            &entries["entries"][0],
        );

        let declared: Vec<_> = described.events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(declared, ["reputation.recorded"]);
        let events = test.events();
        assert_eq!(events.len(), 3);
        for event in events {
            let decl = described.events.iter().find(|e| e.kind == event.kind);
            let decl = decl.unwrap_or_else(|| panic!("`{}` is not declared", event.kind));
            hypernet_plugin_api::testing::assert_declared_fields(
                &event.kind,
                &decl.payload,
                &event.payload,
            );
        }
    }
}
