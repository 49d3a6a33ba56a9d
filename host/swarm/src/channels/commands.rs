//! One command layer for every channel. A person's line of text — typed in Telegram, a
//! Discord slash command, a button pressed — is parsed here and run against the swarm.
//!
//! | command | does |
//! |---|---|
//! | `status` | the queue, the workers, the budget and the breaker in a few lines |
//! | `task <text>` | files a task; its result comes back in the task's thread |
//! | `ask <worker> <question>` | files a task for that worker alone; it answers in the thread |
//! | `answer T-n <text>` | answers the question task `T-n` waits on |
//! | `approve AQ-n` / `deny AQ-n [reason]` | decides an approval request |
//! | `cancel T-n` / `retry T-n` | cancels an unfinished task / retries a failed one |
//! | `help` | lists the commands |
//!
//! A leading `/` is accepted (`/status`), and the command word is matched without case.

use hypernet_model::ids::ApprovalId;
use hypernet_model::tasks::TaskId;

/// A parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// The list of commands.
    Help,
    /// The swarm's state in a few lines.
    Status,
    /// File a task.
    Task(String),
    /// Ask one worker a question.
    Ask {
        /// The worker, by name.
        worker: String,
        /// The question.
        question: String,
    },
    /// Answer the question a task waits on.
    Answer {
        /// The task.
        task: TaskId,
        /// The answer.
        text: String,
    },
    /// Approve a request.
    Approve(ApprovalId),
    /// Deny a request.
    Deny {
        /// The request.
        id: ApprovalId,
        /// Why, if said.
        reason: Option<String>,
    },
    /// Cancel a task.
    Cancel(TaskId),
    /// Retry a failed task.
    Retry(TaskId),
}

/// What `help` answers.
pub const HELP: &str = "Commands: status · task <text> · ask <worker> <question> · \
answer T-n <text> · approve AQ-n · deny AQ-n [reason] · cancel T-n · retry T-n";

impl Command {
    /// The command word (for the audit log).
    pub fn name(&self) -> &'static str {
        match self {
            Command::Help => "help",
            Command::Status => "status",
            Command::Task(_) => "task",
            Command::Ask { .. } => "ask",
            Command::Answer { .. } => "answer",
            Command::Approve(_) => "approve",
            Command::Deny { .. } => "deny",
            Command::Cancel(_) => "cancel",
            Command::Retry(_) => "retry",
        }
    }
}

/// Parses a line; the error says what was expected.
///
/// ```
/// use hypernet_swarm::channels::commands::{parse, Command};
/// assert_eq!(parse("/status").unwrap(), Command::Status);
/// assert_eq!(parse("Task  fix the  build").unwrap(), Command::Task("fix the  build".into()));
/// assert_eq!(parse("approve").unwrap_err(), "`approve` needs an approval id (AQ-0001)");
/// ```
pub fn parse(line: &str) -> Result<Command, String> {
    let line = line.trim();
    let line = line.strip_prefix('/').unwrap_or(line);
    let (word, rest) = split(line);
    let word = word.to_lowercase();
    let need = |what: &str| format!("`{word}` needs {what}");
    match word.as_str() {
        "" => Err(format!("an empty command. {HELP}")),
        "help" | "start" => Ok(Command::Help),
        "status" => Ok(Command::Status),
        "task" if rest.is_empty() => Err(need("a description: task <text>")),
        "task" => Ok(Command::Task(rest.to_owned())),
        "ask" => {
            let (worker, question) = split(rest);
            if worker.is_empty() || question.is_empty() {
                return Err(need("a worker and a question: ask <worker> <question>"));
            }
            Ok(Command::Ask {
                worker: worker.to_owned(),
                question: question.to_owned(),
            })
        }
        "answer" => {
            let (task, text) = split(rest);
            if text.is_empty() {
                return Err(need("a task and the answer: answer T-n <text>"));
            }
            Ok(Command::Answer {
                task: task_id(task)?,
                text: text.to_owned(),
            })
        }
        "approve" | "deny" | "cancel" | "retry" if rest.is_empty() => {
            Err(need(if matches!(word.as_str(), "approve" | "deny") {
                "an approval id (AQ-0001)"
            } else {
                "a task id (T-12)"
            }))
        }
        "approve" => Ok(Command::Approve(approval_id(split(rest).0)?)),
        "deny" => {
            let (id, reason) = split(rest);
            Ok(Command::Deny {
                id: approval_id(id)?,
                reason: Some(reason.to_owned()).filter(|r| !r.is_empty()),
            })
        }
        "cancel" => Ok(Command::Cancel(task_id(split(rest).0)?)),
        "retry" => Ok(Command::Retry(task_id(split(rest).0)?)),
        other => Err(format!("unknown command `{other}`. {HELP}")),
    }
}

/// The first word and the rest, both trimmed.
fn split(text: &str) -> (&str, &str) {
    let text = text.trim();
    match text.split_once(char::is_whitespace) {
        Some((word, rest)) => (word, rest.trim()),
        None => (text, ""),
    }
}

fn task_id(text: &str) -> Result<TaskId, String> {
    text.parse()
        .map_err(|_| format!("`{text}` is not a task id (T-12)"))
}

fn approval_id(text: &str) -> Result<ApprovalId, String> {
    text.parse()
        .map_err(|_| format!("`{text}` is not an approval id (AQ-0001)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_parses() {
        assert_eq!(parse("help").unwrap(), Command::Help);
        assert_eq!(
            parse("ask builder  what is left?").unwrap(),
            Command::Ask {
                worker: "builder".into(),
                question: "what is left?".into()
            }
        );
        assert_eq!(
            parse("answer T-12 use main").unwrap(),
            Command::Answer {
                task: "T-12".parse().unwrap(),
                text: "use main".into()
            }
        );
        assert_eq!(
            parse("APPROVE AQ-0001").unwrap(),
            Command::Approve("AQ-0001".parse().unwrap())
        );
        assert_eq!(
            parse("deny AQ-0001 too risky").unwrap(),
            Command::Deny {
                id: "AQ-0001".parse().unwrap(),
                reason: Some("too risky".into())
            }
        );
        assert_eq!(
            parse("/cancel T-3").unwrap(),
            Command::Cancel("T-3".parse().unwrap())
        );
        assert_eq!(
            parse("retry T-3").unwrap(),
            Command::Retry("T-3".parse().unwrap())
        );
    }

    #[test]
    fn mistakes_say_what_was_expected() {
        assert_eq!(
            parse("task").unwrap_err(),
            "`task` needs a description: task <text>"
        );
        assert_eq!(
            parse("ask builder").unwrap_err(),
            "`ask` needs a worker and a question: ask <worker> <question>"
        );
        assert_eq!(
            parse("approve soon").unwrap_err(),
            "`soon` is not an approval id (AQ-0001)"
        );
        assert_eq!(
            parse("cancel AQ-0001").unwrap_err(),
            "`AQ-0001` is not a task id (T-12)"
        );
        assert!(
            parse("reboot now")
                .unwrap_err()
                .starts_with("unknown command `reboot`")
        );
    }
}
