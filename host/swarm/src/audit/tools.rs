//! Every tool call on the audit log: the registry's [`ToolObserver`] appends one entry per
//! call — `tool_call` for a call that ran (its result's length, or its error), `tool_denied`
//! for one refused or held for approval, with the reason. Long argument strings (a file's
//! new content) are cut, so the log records what was done without copying it whole; secrets
//! are redacted by [`super::Audit::append`] as everywhere.

use super::{Audit, AuditKind};
use crate::tools::{CallOutcome, CallRecord, ToolObserver};
use serde_json::{Value, json};

/// Characters of an argument string kept in an entry.
const ARG_CHARS: usize = 1000;

/// The observer over the audit log. Cheap to clone.
#[derive(Clone)]
pub struct ToolTrail {
    audit: Audit,
}

impl std::fmt::Debug for ToolTrail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ToolTrail")
    }
}

impl ToolTrail {
    /// Records every call in `audit`.
    pub fn new(audit: Audit) -> ToolTrail {
        ToolTrail { audit }
    }
}

/// `args` with every string longer than [`ARG_CHARS`] cut, saying how long it was.
fn clip(args: &Value) -> Value {
    match args {
        Value::String(s) if s.chars().count() > ARG_CHARS => {
            let kept: String = s.chars().take(ARG_CHARS).collect();
            Value::String(format!("{kept}… ({} characters)", s.chars().count()))
        }
        Value::Array(items) => Value::Array(items.iter().map(clip).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), clip(v))).collect())
        }
        other => other.clone(),
    }
}

/// The entry's kind and detail for one call.
fn entry(call: &CallRecord<'_>) -> (AuditKind, Value) {
    let mut detail = json!({
        "task": call.task,
        "tool": call.tool,
        "args": clip(call.args),
    });
    let kind = match call.outcome {
        CallOutcome::Ran(Ok(text)) => {
            detail["outcome"] = json!("ok");
            detail["result_chars"] = json!(text.chars().count());
            AuditKind::ToolCall
        }
        CallOutcome::Ran(Err(e)) => {
            detail["outcome"] = json!("error");
            detail["error"] = json!(e.to_string());
            AuditKind::ToolCall
        }
        CallOutcome::Denied(reason) => {
            detail["outcome"] = json!("denied");
            detail["reason"] = json!(reason);
            AuditKind::ToolDenied
        }
        CallOutcome::NeedsApproval(reason) => {
            detail["outcome"] = json!("held_for_approval");
            detail["reason"] = json!(reason);
            AuditKind::ToolDenied
        }
    };
    (kind, detail)
}

impl ToolObserver for ToolTrail {
    fn observe(&self, call: &CallRecord<'_>) {
        let (kind, detail) = entry(call);
        let (audit, worker) = (self.audit.clone(), call.worker.to_owned());
        // The append writes and syncs the store: off the task's async thread.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn_blocking(move || audit.record(kind, &worker, detail));
            }
            Err(_) => audit.record(kind, &worker, detail),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::ToolError;
    use hypernet_model::tasks::TaskId;

    fn record<'a>(args: &'a Value, outcome: CallOutcome<'a>) -> CallRecord<'a> {
        CallRecord {
            task: TaskId(3),
            worker: "Trace",
            tool: "write_file",
            args,
            outcome,
        }
    }

    #[test]
    fn each_outcome_has_its_kind_and_long_arguments_are_cut() {
        let long = "x".repeat(5000);
        let args = json!({"path": "a.txt", "content": long});
        let ok = Ok("wrote 5000 characters".to_owned());
        let (kind, detail) = entry(&record(&args, CallOutcome::Ran(&ok)));
        assert_eq!(kind, AuditKind::ToolCall);
        assert_eq!(detail["outcome"], "ok");
        assert_eq!(detail["task"], "T-3");
        let content = detail["args"]["content"].as_str().unwrap();
        assert!(
            content.ends_with("… (5000 characters)") && content.len() < 1100,
            "{content}"
        );
        assert_eq!(detail["args"]["path"], "a.txt");
        let failed: Result<String, ToolError> = Err(ToolError::Failed {
            tool: "write_file".into(),
            reason: "disk full".into(),
        });
        let (kind, detail) = entry(&record(&args, CallOutcome::Ran(&failed)));
        assert_eq!(
            (kind, detail["outcome"].as_str()),
            (AuditKind::ToolCall, Some("error"))
        );
        let (kind, detail) = entry(&record(&args, CallOutcome::Denied("tier 0 < 1")));
        assert_eq!(kind, AuditKind::ToolDenied);
        assert_eq!(detail["reason"], "tier 0 < 1");
        let (kind, detail) = entry(&record(&args, CallOutcome::NeedsApproval("shell")));
        assert_eq!(
            (kind, detail["outcome"].as_str()),
            (AuditKind::ToolDenied, Some("held_for_approval"))
        );
    }
}
