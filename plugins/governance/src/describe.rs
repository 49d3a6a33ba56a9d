//! What the subsystem offers, for `hypernet plugins describe governance` and the API: the
//! queries `query` answers, with the shapes of their arguments and answers, and the events
//! it publishes. Shapes are example objects whose values name the types; times are Unix
//! milliseconds, weights both numbers and exact thousandths.

use hypernet_plugin_api::describe::{Description, EventDecl, QueryDecl};
use serde_json::{Value, json};

/// The proposal types, as `submit` takes them.
const TYPES: &str = "string: code_change, policy_change, resource_allocation, membership or \
                     standard_amendment";

/// A tally as queries return it.
fn tally() -> Value {
    json!({
        "approve": "number, the approving weight",
        "reject": "number",
        "abstain": "number",
        "approve_milli": "integer",
        "reject_milli": "integer",
        "abstain_milli": "integer",
        "counted": "integer, approving and rejecting votes",
        "abstained": "integer",
        "quorum": "integer",
        "threshold": "number (0.6)",
        "threshold_permille": "integer (600)",
        "quorum_met": "boolean",
        "passed": "boolean",
        "reason": "string (\"passed (66.7% ≥ 60%, quorum 3/3)\")",
    })
}

/// A proposal as queries return it.
fn proposal() -> Value {
    json!({
        "id": "string (GOV-0001)",
        "type": "string",
        "title": "string",
        "body": "string",
        "author": "string",
        "status": "string: deliberation, voting, passed, rejected, enacted or withdrawn",
        "budget": "{\"daily_limit_usd\", \"session_limit_usd\": number or null}, optional \
                   (a resource_allocation changing the budget)",
        "limits": "{\"<name>\": {\"soft\", \"hard\": integer}}, optional (a policy_change \
                   changing limits)",
        "permissions": "[{\"worker\": string, \"tier\": integer}], optional (a policy_change \
                        changing tool tiers)",
        "submitted_at_ms": "integer",
        "deliberation_ends_at_ms": "integer",
        "voting_ms": "integer, how long voting stays open",
        "voting_opened_at_ms": "integer or null",
        "voting_ends_at_ms": "integer or null",
        "votes": [{
            "voter": "string",
            "choice": "string",
            "weight_milli": "integer",
            "weight_source": "string: reputation or equal",
            "at_ms": "integer",
        }],
        "comments": [{
            "id": "string (C-00001)",
            "author": "string",
            "text": "string",
            "at_ms": "integer",
        }],
        "decision": "the tally at the decision, without `approve`, `reject`, `abstain` and \
                     `threshold`; null before",
        "decided_at_ms": "integer or null",
        "enacted_at_ms": "integer or null",
        "enactment": "the enactment (see `enact`), or null",
        "tally": tally(),
    })
}

/// What enacting did, as `enact` and `governance.enacted` report it.
const ENACTMENT: &str = "{\"budget\": {\"args\", \"answer\"} or {\"args\", \"error\"}, \
                         \"limits\": {...}, \"permissions\": [the same per tier]}, each only \
                         when the proposal changes it";

/// The queries and the events.
pub fn description() -> Description {
    let id = || json!({"id": "string (GOV-0001)"});
    Description::default()
        .query(
            QueryDecl::new("submit", "Submits a proposal, open for deliberation.")
                .args(json!({
                    "type": TYPES,
                    "title": "string",
                    "body": "string, optional",
                    "author": "string",
                    "budget": "{\"daily_limit_usd\", \"session_limit_usd\": number ≥ 0, \
                               optional}, optional (resource_allocation only)",
                    "limits": "{\"<name>\": {\"soft\", \"hard\": integer}}, optional \
                               (policy_change only)",
                    "permissions": "[{\"worker\": string, \"tier\": integer 0–4}], optional \
                                    (policy_change only)",
                }))
                .answer(proposal()),
        )
        .query(
            QueryDecl::new(
                "open_voting",
                "Opens voting on a proposal once its deliberation has ended.",
            )
            .args(json!({
                "id": "string (GOV-0001)",
                "force": "boolean, optional (default false): open before deliberation ends",
            }))
            .answer(proposal()),
        )
        .query(
            QueryDecl::new(
                "vote",
                "Casts a vote, weighted by the voter's reputation in the type's domains.",
            )
            .args(json!({
                "id": "string (GOV-0001)",
                "voter": "string",
                "choice": "string: approve, reject or abstain",
            }))
            .answer(json!({
                "id": "string",
                "voter": "string",
                "choice": "string",
                "weight": "number (1.1)",
                "weight_milli": "integer (1100)",
                "weight_source": "string: reputation or equal",
            })),
        )
        .query(
            QueryDecl::new("comment", "Comments on a proposal that was not withdrawn.")
                .args(json!({"id": "string (GOV-0001)", "author": "string", "text": "string"}))
                .answer(json!({
                    "id": "string (C-00001)",
                    "proposal": "string",
                    "author": "string",
                    "text": "string",
                    "at_ms": "integer",
                })),
        )
        .query(
            QueryDecl::new(
                "decide",
                "Closes voting and decides a proposal: passed or rejected.",
            )
            .args(json!({
                "id": "string (GOV-0001)",
                "force": "boolean, optional (default false): decide before voting ends",
            }))
            .answer(json!({
                "id": "string",
                "status": "string: passed or rejected",
                "tally": tally(),
            })),
        )
        .query(
            QueryDecl::new(
                "enact",
                "Enacts a passed proposal: its budget, limit and tier changes.",
            )
            .args(id())
            .answer(json!({"id": "string", "status": "enacted", "enactment": ENACTMENT})),
        )
        .query(
            QueryDecl::new(
                "withdraw",
                "Withdraws a proposal still in deliberation; only its author may.",
            )
            .args(json!({"id": "string (GOV-0001)", "author": "string"}))
            .answer(proposal()),
        )
        .query(
            QueryDecl::new("proposal", "One proposal with its current tally.")
                .args(id())
                .answer(proposal()),
        )
        .query(
            QueryDecl::new(
                "list",
                "The proposals, optionally only those in one status.",
            )
            .args(json!({"status": "string, optional"}))
            .answer(json!({
                "proposals": [{
                    "id": "string",
                    "type": "string",
                    "title": "string",
                    "author": "string",
                    "status": "string",
                    "votes": "integer",
                }],
            })),
        )
        .query(
            QueryDecl::new("tally", "A proposal's tally of the votes so far.")
                .args(id())
                .answer(tally()),
        )
        .query(
            QueryDecl::new("limits", "The soft and hard limits in force.")
                .answer(json!({"limits": {"<name>": {"soft": "integer", "hard": "integer"}}})),
        )
        .query(
            QueryDecl::new(
                "check_limit",
                "Where a value stands against a limit; an undefined limit allows it.",
            )
            .args(json!({"name": "string", "value": "integer ≥ 0"}))
            .answer(json!({
                "name": "string",
                "value": "integer",
                "soft": "integer or null",
                "hard": "integer or null",
                "level": "string: ok, warning or blocked",
                "defined": "boolean",
                "warning": "string, optional (an undefined limit)",
            })),
        )
        .event(
            EventDecl::new("governance.submitted", "A proposal was submitted.").payload(json!({
                "id": "string",
                "type": "string",
                "title": "string",
                "author": "string",
            })),
        )
        .event(
            EventDecl::new("governance.voting_opened", "Voting on a proposal opened.")
                .payload(json!({"id": "string", "voting_ends_at_ms": "integer"})),
        )
        .event(
            EventDecl::new("governance.voted", "A vote was cast.").payload(json!({
                "id": "string",
                "voter": "string",
                "choice": "string",
                "weight": "number",
                "weight_milli": "integer",
                "weight_source": "string: reputation or equal",
            })),
        )
        .event(
            EventDecl::new("governance.decided", "A proposal was decided.").payload(json!({
                "id": "string",
                "passed": "boolean",
                "reason": "string",
            })),
        )
        .event(
            EventDecl::new("governance.enacted", "A passed proposal was enacted.")
                .payload(json!({"id": "string", "enactment": ENACTMENT})),
        )
        .event(
            EventDecl::new(
                "governance.withdrawn",
                "A proposal was withdrawn by its author.",
            )
            .payload(json!({"id": "string", "author": "string"})),
        )
}

#[cfg(test)]
mod tests {
    use crate::{Governance, QUERY_FIELDS};
    use hypernet_plugin_api::testing::TestHost;
    use hypernet_plugin_api::{ErrorCode, Subsystem};
    use serde_json::{Value, json};
    use std::collections::BTreeSet;

    #[test]
    fn every_declared_query_is_answered() {
        let test = TestHost::new("governance");
        let config = serde_json::from_value(json!({})).unwrap();
        let mut g = Governance::start(config, test.host()).unwrap();
        let described = g.describe();
        // What `query` matches, in its order.
        let answered = [
            "submit",
            "open_voting",
            "vote",
            "comment",
            "decide",
            "enact",
            "withdraw",
            "proposal",
            "list",
            "tally",
            "limits",
            "check_limit",
        ];
        assert_eq!(described.query_names(), answered);
        // The declared arguments are the fields each query takes.
        for (name, fields) in QUERY_FIELDS {
            let decl = described.queries.iter().find(|q| q.name == *name).unwrap();
            let declared: BTreeSet<_> = decl
                .args
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, _)| k.as_str())
                .collect();
            assert_eq!(declared, fields.iter().copied().collect(), "`{name}`");
        }
        let id = "GOV-0001";
        let voter = |voter: &str| json!({"id": id, "voter": voter, "choice": "approve"});
        let calls = [
            (
                "submit",
                json!({"type": "code_change", "title": "t", "body": "b", "author": "ada"}),
            ),
            ("comment", json!({"id": id, "author": "bo", "text": "fine"})),
            ("open_voting", json!({"id": id, "force": true})),
            ("vote", voter("ada")),
            ("vote", voter("bo")),
            ("vote", voter("cy")),
            ("tally", json!({"id": id})),
            ("decide", json!({"id": id, "force": true})),
            ("enact", json!({"id": id})),
            ("proposal", json!({"id": id})),
            ("list", json!({"status": "enacted"})),
            (
                "submit",
                json!({"type": "membership", "title": "t", "author": "ada"}),
            ),
            ("withdraw", json!({"id": "GOV-0002", "author": "ada"})),
            ("limits", Value::Null),
            (
                "check_limit",
                json!({"name": "max_concurrent_workers", "value": 20}),
            ),
            ("check_limit", json!({"name": "max_gpus", "value": 1})),
        ];
        let mut called = BTreeSet::new();
        for (name, args) in calls {
            called.insert(name);
            let decl = described.queries.iter().find(|q| q.name == name).unwrap();
            let answer = g.query(name, args);
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

        let declared: Vec<_> = described.events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            declared,
            [
                "governance.submitted",
                "governance.voting_opened",
                "governance.voted",
                "governance.decided",
                "governance.enacted",
                "governance.withdrawn",
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
            published.insert(event.kind);
        }
        assert_eq!(published.len(), declared.len());
    }
}
