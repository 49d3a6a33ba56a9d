//! `hypernet approvals list|show|approve|deny`: the running host's approval queue.

use super::client::Client;
use super::format::{cell, time_or_dash};
use super::tasks::{Listed, parse};
use anyhow::Result;
use clap::Subcommand;
use hypernet_swarm::approvals::{Approval, ApprovalId, ApprovalStatus, Execution};
use serde_json::{Value, json};
use std::path::Path;

/// `hypernet approvals ...`
#[derive(Debug, Subcommand)]
pub enum ApprovalsCommand {
    /// List requests, newest first: id, status, task, worker, tool, arguments, expiry.
    List {
        /// Only this status: pending, approved, rejected or expired.
        #[arg(long)]
        status: Option<ApprovalStatus>,
        /// At most this many [host default: 100].
        #[arg(long)]
        limit: Option<usize>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one request, with what its action returned once approved.
    Show {
        /// Its id (`AQ-0001`).
        id: ApprovalId,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Approve a pending request: its action runs once and the waiting task goes on.
    Approve {
        /// Its id (`AQ-0001`).
        id: ApprovalId,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Deny a pending request; the waiting task is told (with the reason, when given).
    Deny {
        /// Its id (`AQ-0001`).
        id: ApprovalId,
        /// Why, for the worker.
        #[arg(long)]
        reason: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

pub(super) async fn run(data_dir: &Path, cmd: ApprovalsCommand) -> Result<()> {
    let client = Client::connect(data_dir)?;
    let (answer, json) = match cmd {
        ApprovalsCommand::List {
            status,
            limit,
            json,
        } => {
            let mut path = String::from("/api/approvals?");
            if let Some(status) = status {
                path.push_str(&format!("status={status}&"));
            }
            if let Some(limit) = limit {
                path.push_str(&format!("limit={limit}"));
            }
            let answer = client.get(path.trim_end_matches(['?', '&'])).await?;
            if !json {
                let page: Listed<Approval> = parse(&answer, "a page of approval requests")?;
                outln!("{}", table(&page))?;
                return Ok(());
            }
            (answer, json)
        }
        ApprovalsCommand::Show { id, json } => {
            let answer = client.get(&format!("/api/approvals/{id}")).await?;
            if !json {
                outln!("{}", show(&parse(&answer, "an approval request")?))?;
                return Ok(());
            }
            (answer, json)
        }
        ApprovalsCommand::Approve { id, json } => {
            let path = format!("/api/approvals/{id}/approve");
            (client.post(&path, None).await?, json)
        }
        ApprovalsCommand::Deny { id, reason, json } => {
            let body = json!({ "reason": reason });
            let path = format!("/api/approvals/{id}/deny");
            (client.post(&path, Some(&body)).await?, json)
        }
    };
    if json {
        outln!("{}", serde_json::to_string_pretty(&answer)?)?;
    } else {
        outln!("{}", decided(&parse(&answer, "an approval request")?))?;
    }
    Ok(())
}

/// `AQ-0001: approved (ran: ok)`.
pub(super) fn decided(a: &Approval) -> String {
    match &a.execution {
        Some(Execution::Done { ok: true, .. }) => format!("{}: {} (ran: ok)", a.id, a.status),
        Some(Execution::Done { ok: false, output }) => {
            format!(
                "{}: {} (ran: failed: {})",
                a.id,
                a.status,
                cell(output, 120)
            )
        }
        _ => format!("{}: {}", a.id, a.status),
    }
}

fn args_text(args: &Value) -> String {
    cell(&args.to_string(), 50)
}

fn table(page: &Listed<Approval>) -> String {
    page.table(
        "no approval requests",
        &["ID", "STATUS", "TASK", "WORKER", "TOOL", "ARGS", "EXPIRES"],
        |a| {
            vec![
                a.id.to_string(),
                a.status.to_string(),
                a.task.to_string(),
                a.worker.clone(),
                a.tool.clone(),
                args_text(&a.args),
                if a.status == ApprovalStatus::Pending {
                    time_or_dash(Some(a.expires_ms))
                } else {
                    "-".into()
                },
            ]
        },
    )
}

/// One `key: value` line per field, the action's output last.
fn show(a: &Approval) -> String {
    let mut rows = vec![
        ("id", a.id.to_string()),
        ("status", a.status.to_string()),
        ("task", a.task.to_string()),
        ("worker", a.worker.clone()),
        ("tool", a.tool.clone()),
        ("args", a.args.to_string()),
        ("reason", a.reason.clone()),
        ("asked", time_or_dash(Some(a.created_ms))),
    ];
    if a.status == ApprovalStatus::Pending {
        rows.push(("expires", time_or_dash(Some(a.expires_ms))));
    }
    if let Some(by) = &a.decided_by {
        rows.push(("decided_by", by.clone()));
        rows.push(("decided", time_or_dash(a.decided_ms)));
    }
    if let Some(note) = &a.note {
        rows.push(("note", note.clone()));
    }
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    let mut out: Vec<String> = rows
        .iter()
        .map(|(k, v)| format!("{:<width$} {v}", format!("{k}:")))
        .collect();
    match &a.execution {
        Some(Execution::Done { ok, output }) => {
            out.push(format!(
                "{:<width$} {}",
                "ran:",
                if *ok { "ok" } else { "failed" }
            ));
            out.push(String::new());
            out.push(output.clone());
        }
        Some(Execution::Running) => out.push(format!("{:<width$} running", "ran:")),
        Some(Execution::Interrupted) => {
            out.push(format!("{:<width$} interrupted (not run again)", "ran:"));
        }
        None => {}
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use hypernet_model::tasks::TaskId;

    fn approval() -> Approval {
        Approval {
            id: ApprovalId(3),
            task: TaskId(9),
            worker: "Trace".into(),
            tool: "shell".into(),
            args: json!({"argv": ["ls"]}),
            reason: "shell needs approval".into(),
            status: ApprovalStatus::Approved,
            created_ms: 0,
            expires_ms: 1,
            decided_ms: Some(1),
            decided_by: Some("Ada".into()),
            note: None,
            execution: Some(Execution::Done {
                ok: true,
                output: "a.txt\nb.txt".into(),
            }),
        }
    }

    #[test]
    fn a_decision_prints_its_outcome_in_one_line() {
        assert_eq!(decided(&approval()), "AQ-0003: approved (ran: ok)");
        let mut refused = approval();
        refused.status = ApprovalStatus::Rejected;
        refused.execution = None;
        assert_eq!(decided(&refused), "AQ-0003: rejected");
    }

    #[test]
    fn show_lists_the_fields_and_the_output_last() {
        let text = show(&approval());
        assert!(
            text.starts_with("id:         AQ-0003\nstatus:     approved"),
            "{text}"
        );
        assert!(text.contains("decided_by: Ada"), "{text}");
        assert!(
            !text.contains("expires:"),
            "a decided request does not expire"
        );
        assert!(text.ends_with("ran:        ok\n\na.txt\nb.txt"), "{text}");
    }
}
