//! The registry: calls by name, the three-way check, and what the observer is told.

use super::*;
use crate::workers::WorkerConfig;
use serde_json::json;
use std::sync::Mutex;

/// Says its text back; needs `tier` (none at all when `None`).
struct Echo {
    name: &'static str,
    tier: Option<Tier>,
}

impl Tool for Echo {
    fn name(&self) -> &str {
        self.name
    }
    fn description(&self) -> &str {
        "Says its text back."
    }
    fn input_schema(&self) -> Value {
        json!({"type": "object", "properties": {"text": {"type": "string"}}})
    }
    fn requirement(&self, _: &Value) -> Option<Requirement> {
        self.tier.map(Requirement::at)
    }
    fn call<'a>(
        &'a self,
        _: &'a ToolContext,
        args: Value,
    ) -> BoxFuture<'a, Result<String, ToolError>> {
        Box::pin(async move { Ok(args["text"].as_str().unwrap_or_default().to_owned()) })
    }
}

struct DenyAll;

impl Permission for DenyAll {
    fn check(&self, ctx: &ToolContext, tool: &str, _: &Value, _: Option<&Requirement>) -> Decision {
        Decision::Deny(format!("{} may not use {tool}", ctx.worker))
    }
}

/// Remembers every outcome as a line of text.
#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl ToolObserver for Recorder {
    fn observe(&self, call: &CallRecord<'_>) {
        let outcome = match call.outcome {
            CallOutcome::Ran(Ok(out)) => format!("ran: {out}"),
            CallOutcome::Ran(Err(e)) => format!("failed: {e}"),
            CallOutcome::Denied(r) => format!("denied: {r}"),
            CallOutcome::NeedsApproval(r) => format!("held: {r}"),
        };
        self.0.lock().unwrap().push(format!(
            "{} {} {} {} {outcome}",
            call.task, call.worker, call.tool, call.args
        ));
    }
}

fn echo(name: &'static str, tier: Option<Tier>) -> Echo {
    Echo { name, tier }
}

#[tokio::test]
async fn calls_by_name_and_refuses_the_rest_with_an_error() {
    let mut reg = ToolRegistry::new();
    reg.register(echo("echo", Some(Tier::ReadOnly)));
    let ctx = ToolContext::new(TaskId(1), "Trace", Arc::new(AllowAll));
    assert_eq!(reg.specs()[0].name, "echo");
    assert_eq!(
        reg.call(&ctx, "echo", json!({"text": "hi"})).await.unwrap(),
        "hi"
    );
    let unknown = reg.call(&ctx, "nope", json!({})).await.unwrap_err();
    assert_eq!(unknown.to_string(), "unknown tool `nope` (known: echo)");
    let bad = reg.call(&ctx, "echo", json!("hi")).await.unwrap_err();
    assert!(matches!(bad, ToolError::BadArguments { .. }), "{bad}");
    let denied = ToolContext {
        permission: Arc::new(DenyAll),
        ..ctx
    };
    let e = reg.call(&denied, "echo", json!({})).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "`echo` is not permitted: Trace may not use echo"
    );
}

#[tokio::test]
async fn the_observer_sees_every_outcome_denials_included() {
    let recorder = Arc::new(Recorder::default());
    let mut reg = ToolRegistry::new();
    reg.register(echo("echo", Some(Tier::ReadOnly)))
        .register(echo("deploy", Some(Tier::Destructive)))
        .register(echo("shell", Some(Tier::OwnWorkspace)))
        .register(echo("mystery", None))
        .set_observer(recorder.clone());
    let worker: WorkerConfig = toml::from_str("name = \"Trace\"\ntier = 2\n").unwrap();
    let perms = Arc::new(TierPermission::new(&[worker], &["shell".to_owned()]));
    let ctx = ToolContext::new(TaskId(4), "Trace", perms);
    for tool in ["echo", "deploy", "shell", "mystery", "nope"] {
        let _ = reg.call(&ctx, tool, json!({"text": "hi"})).await;
    }
    let e = reg.call(&ctx, "shell", json!({})).await.unwrap_err();
    assert!(matches!(e, ToolError::NeedsApproval { .. }));
    assert!(
        e.to_string()
            .starts_with("`shell` needs a person's approval: "),
        "{e}"
    );
    let seen = recorder.0.lock().unwrap().clone();
    assert_eq!(
        seen[..5],
        [
            r#"T-4 Trace echo {"text":"hi"} ran: hi"#,
            r#"T-4 Trace deploy {"text":"hi"} denied: `deploy` needs tier 4 (destructive); Trace has tier 2 (shared)"#,
            r#"T-4 Trace shell {"text":"hi"} held: calls of `shell` wait for approval ([tools] approval_required); it was not run"#,
            r#"T-4 Trace mystery {"text":"hi"} denied: `mystery` states no permission tier, so no worker may call it"#,
            r#"T-4 Trace nope {"text":"hi"} denied: unknown tool"#,
        ]
    );
    // A worker the table does not know is refused even read-only tools.
    let stranger = ToolContext {
        worker: "Spark-1".into(),
        ..ctx
    };
    let e = reg.call(&stranger, "echo", json!({})).await.unwrap_err();
    assert!(
        e.to_string().contains("`Spark-1` has no permission tier"),
        "{e}"
    );
}
