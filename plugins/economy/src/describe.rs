//! What the subsystem offers, for `hypernet plugins describe economy` and the API: the
//! queries `query` answers, with the shapes of their arguments and answers, and the events
//! it publishes. Shapes are example objects whose values name the types. Amounts and
//! qualities are answered as decimal strings (`"12.3456"`) and read from a JSON number or
//! a string.

use hypernet_plugin_api::describe::{Description, EventDecl, QueryDecl};
use serde_json::{Value, json};

/// An amount or quality given to a query.
const DECIMAL: &str = "decimal, as a number or a string";

/// A ledger entry of the given kind, as queries return it.
fn entry(kind: &str) -> Value {
    let mut entry = json!({
        "id": "string (CON-000001)",
        "at_ms": "integer, Unix ms",
        "contributor": "string",
        "kind": kind,
    });
    let fields = match kind {
        "gpu" => json!({"tokens": "integer"}),
        "human" => json!({"record": "string"}),
        "ai" => json!({
            "tokens": "integer",
            "quality": "decimal string, 0–2",
            "task": "string, optional",
        }),
        _ => json!({
            "tokens": "integer, optional (gpu, ai)",
            "record": "string, optional (human)",
            "quality": "decimal string, optional (ai)",
            "task": "string, optional (ai)",
        }),
    };
    for (key, shape) in fields.as_object().into_iter().flatten() {
        entry[key] = shape.clone();
    }
    entry
}

/// A contributor pool of a distribution.
fn pool() -> Value {
    json!({
        "amount": "decimal string",
        "paid": "boolean, false when nobody qualified",
        "reason": "string, optional (why it was not paid)",
        "payouts": [{
            "contributor": "string",
            "tokens": "integer, optional (gpu, ai)",
            "records": "integer, optional (human)",
            "average_quality": "decimal string, optional (ai)",
            "amount": "decimal string",
        }],
        "paid_total": "decimal string",
        "unallocated": "decimal string",
    })
}

/// A wallet's balance.
fn balance() -> Value {
    json!({"wallet": "string", "balance": "decimal string"})
}

/// The queries and the events.
pub fn description() -> Description {
    let wallet_change = || json!({"wallet": "string", "amount": format!("{DECIMAL}, above 0")});
    Description::default()
        .query(
            QueryDecl::new("record_gpu", "Records a GPU contribution of tokens.")
                .args(json!({"contributor": "string", "tokens": "integer ≥ 0"}))
                .answer(entry("gpu")),
        )
        .query(
            QueryDecl::new("record_human", "Records a human contribution.")
                .args(json!({"contributor": "string", "record": "string, what was done"}))
                .answer(entry("human")),
        )
        .query(
            QueryDecl::new(
                "record_ai",
                "Records an AI contribution; a task already recorded is refused.",
            )
            .args(json!({
                "worker": "string",
                "tokens": "integer ≥ 0",
                "quality": format!("{DECIMAL}, optional (default 1, clamped to 0–2)"),
                "task": "string, optional",
            }))
            .answer(entry("ai")),
        )
        .query(
            QueryDecl::new(
                "set_quality",
                "Sets the quality of a task's AI contribution.",
            )
            .args(json!({"task": "string", "quality": format!("{DECIMAL}, clamped to 0–2")}))
            .answer(entry("ai")),
        )
        .query(
            QueryDecl::new(
                "ledger",
                "The contributions, optionally of one kind and since a time, with totals.",
            )
            .args(json!({
                "kind": "string, optional: gpu, human or ai",
                "since_ms": "integer, optional (default 0)",
            }))
            .answer(json!({
                "count": "integer",
                "entries": [entry("any")],
                "totals": {
                    "gpu_tokens": "integer",
                    "human_records": "integer",
                    "ai_tokens": "integer",
                },
            })),
        )
        .query(
            QueryDecl::new(
                "distribute",
                "Splits revenue among the period's contributors, optionally crediting AI wallets.",
            )
            .args(json!({
                "revenue": format!("{DECIMAL}, ≥ 0, at most 4 decimals"),
                "period": "string: daily, weekly, monthly (or 30d) or all",
                "credit": "boolean, optional (default false): add the AI payouts to wallets",
            }))
            .answer(json!({
                "period": "string",
                "since_ms": "integer",
                "revenue": "decimal string",
                "pools": {
                    "gpu": pool(),
                    "development": "decimal string",
                    "human": pool(),
                    "ai": pool(),
                    "platform": "decimal string",
                },
                "credited": "boolean",
            })),
        )
        .query(
            QueryDecl::new("earn", "Adds to a wallet.")
                .args(wallet_change())
                .answer(balance()),
        )
        .query(
            QueryDecl::new(
                "spend",
                "Takes from a wallet; refused when the balance is short.",
            )
            .args(wallet_change())
            .answer(balance()),
        )
        .query(
            QueryDecl::new(
                "transfer",
                "Moves an amount between two wallets, all or nothing.",
            )
            .args(json!({
                "from": "string",
                "to": "string",
                "amount": format!("{DECIMAL}, above 0"),
            }))
            .answer(json!({"from": balance(), "to": balance()})),
        )
        .query(
            QueryDecl::new(
                "balance",
                "A wallet's balance (zero for an unknown wallet).",
            )
            .args(json!({"wallet": "string"}))
            .answer(balance()),
        )
        .query(
            QueryDecl::new("wallets", "Every wallet's balance and their total.").answer(json!({
                "wallets": {"<wallet>": "decimal string"},
                "total": "decimal string",
            })),
        )
        .event(
            EventDecl::new(
                "economy.contribution",
                "A contribution was recorded, by a query or from a completed task.",
            )
            .payload(json!({
                "id": "string (CON-000001)",
                "kind": "string: gpu, human or ai",
                "contributor": "string",
                "tokens": "integer (0 for human)",
            })),
        )
        .event(
            EventDecl::new("economy.distributed", "Revenue was distributed.").payload(json!({
                "period": "string",
                "revenue": "decimal string",
                "pools": {
                    "gpu": "decimal string",
                    "development": "decimal string",
                    "human": "decimal string",
                    "ai": "decimal string",
                    "platform": "decimal string",
                },
            })),
        )
}

#[cfg(test)]
mod tests {
    use crate::{Economy, QUERY_FIELDS};
    use hypernet_plugin_api::testing::TestHost;
    use hypernet_plugin_api::{ErrorCode, Event, Subsystem};
    use serde_json::{Value, json};
    use std::collections::BTreeSet;

    #[test]
    fn every_declared_query_is_answered() {
        let test = TestHost::new("economy");
        let config = serde_json::from_value(json!({})).unwrap();
        let mut eco = Economy::start(config, test.host()).unwrap();
        let described = eco.describe();
        // What `query` matches, in its order.
        let answered = [
            "record_gpu",
            "record_human",
            "record_ai",
            "set_quality",
            "ledger",
            "distribute",
            "earn",
            "spend",
            "transfer",
            "balance",
            "wallets",
        ];
        assert_eq!(described.query_names(), answered);
        // The declared arguments are the fields each query takes.
        for (name, fields) in QUERY_FIELDS {
            let decl = described.queries.iter().find(|q| q.name == *name).unwrap();
            let args = decl.args.as_object().into_iter().flatten();
            let declared: BTreeSet<_> = args.map(|(k, _)| k.as_str()).collect();
            assert_eq!(declared, fields.iter().copied().collect(), "`{name}`");
        }
        // A completed task is recorded as an AI contribution.
        let task =
            json!({"id": "T-1", "worker": "Trace", "input_tokens": 300, "output_tokens": 200});
        eco.on_event(&Event::new("task.completed", "host", task))
            .unwrap();
        let calls = [
            ("record_gpu", json!({"contributor": "rig-1", "tokens": 300})),
            (
                "record_human",
                json!({"contributor": "ana", "record": "wrote the guide"}),
            ),
            (
                "record_ai",
                json!({"worker": "Loom", "tokens": "400", "quality": 1.5, "task": "T-2"}),
            ),
            ("set_quality", json!({"task": "T-1", "quality": "1.2"})),
            ("ledger", json!({})),
            ("ledger", json!({"kind": "ai", "since_ms": 0})),
            (
                "distribute",
                json!({"revenue": "90", "period": "all", "credit": true}),
            ),
            ("distribute", json!({"revenue": 3, "period": "daily"})),
            ("earn", json!({"wallet": "Moss", "amount": 5})),
            ("spend", json!({"wallet": "Moss", "amount": "1.5"})),
            (
                "transfer",
                json!({"from": "Moss", "to": "Trace", "amount": 1}),
            ),
            ("balance", json!({"wallet": "Trace"})),
            ("wallets", Value::Null),
        ];
        let mut called = BTreeSet::new();
        for (name, args) in calls {
            called.insert(name);
            let decl = described.queries.iter().find(|q| q.name == name).unwrap();
            let answer = eco.query(name, args);
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
            for (field, nested) in decl.answer.as_object().into_iter().flatten() {
                let what = format!("`{name}` answer's `{field}`");
                hypernet_plugin_api::testing::assert_declared_fields(&what, nested, &answer[field]);
            }
            for entry in answer["entries"].as_array().into_iter().flatten() {
                hypernet_plugin_api::testing::assert_declared_fields(
                    "a ledger entry",
                    &super::entry("any"),
                    entry,
                );
            }
            for pool in ["gpu", "human", "ai"] {
                let pool = &answer["pools"][pool];
                hypernet_plugin_api::testing::assert_declared_fields(
                    &format!("`{name}` pool"),
                    &super::pool(),
                    pool,
                );
            }
        }
        assert_eq!(called, answered.into_iter().collect());

        let declared: Vec<_> = described.events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(declared, ["economy.contribution", "economy.distributed"]);
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
                &decl.payload["pools"],
                &event.payload["pools"],
            );
            published.insert(event.kind);
        }
        assert_eq!(published.len(), declared.len());
    }
}
