//! The slash commands: their definitions, registered by `setup` with [Bulk Overwrite Global
//! Application Commands] (`PUT /applications/{application.id}/commands`), and the order in
//! which an invocation's options are joined into a command line.
//!
//! [Bulk Overwrite Global Application Commands]: https://discord.com/developers/docs/interactions/application-commands#bulk-overwrite-global-application-commands

use serde_json::{Value, json};

/// A slash command: its name, description and string options (name, description,
/// required), in the order they join the command line.
pub(crate) struct Command {
    pub name: &'static str,
    pub description: &'static str,
    pub options: &'static [(&'static str, &'static str, bool)],
}

/// The commands, as the host reads them: `status`, `task <text>`, `ask <worker>
/// <question>`, `answer T-12 <text>`, `approve AQ-0001`, `deny AQ-0001 [reason]`,
/// `cancel T-12`, `retry T-12`.
pub(crate) const COMMANDS: &[Command] = &[
    Command {
        name: "status",
        description: "How the swarm is doing",
        options: &[],
    },
    Command {
        name: "task",
        description: "File a task",
        options: &[("description", "What to do", true)],
    },
    Command {
        name: "ask",
        description: "Ask a worker a question",
        options: &[
            ("instance", "The worker", true),
            ("question", "The question", true),
        ],
    },
    Command {
        name: "answer",
        description: "Answer a task's question",
        options: &[
            ("task", "The task, e.g. T-12", true),
            ("text", "The answer", true),
        ],
    },
    Command {
        name: "approve",
        description: "Approve a held action",
        options: &[("id", "The approval, e.g. AQ-0001", true)],
    },
    Command {
        name: "deny",
        description: "Deny a held action",
        options: &[
            ("id", "The approval, e.g. AQ-0001", true),
            ("reason", "Why", false),
        ],
    },
    Command {
        name: "cancel",
        description: "Cancel a task",
        options: &[("task", "The task, e.g. T-12", true)],
    },
    Command {
        name: "retry",
        description: "Retry a failed task",
        options: &[("task", "The task, e.g. T-12", true)],
    },
];

/// Option type 3: STRING; command type 1: CHAT_INPUT (a slash command).
const STRING_OPTION: u8 = 3;
const CHAT_INPUT: u8 = 1;

/// The body of the bulk overwrite: an array of [application command] objects.
///
/// [application command]: https://discord.com/developers/docs/interactions/application-commands#application-command-object
pub(crate) fn definitions() -> Value {
    Value::Array(
        COMMANDS
            .iter()
            .map(|c| {
                let options: Vec<Value> = c
                    .options
                    .iter()
                    .map(|(name, description, required)| {
                        json!({
                            "type": STRING_OPTION,
                            "name": name,
                            "description": description,
                            "required": required,
                        })
                    })
                    .collect();
                json!({
                    "type": CHAT_INPUT,
                    "name": c.name,
                    "description": c.description,
                    "options": options,
                })
            })
            .collect(),
    )
}

/// The command line of an invocation: its name, then its option values, in the order the
/// command defines them (Discord may send them in another); unknown options follow in the
/// order received, and subcommands contribute their name then their own options.
pub(crate) fn command_line(name: &str, options: &[Value]) -> String {
    let mut words = vec![name.trim().to_owned()];
    append_options(name, options, &mut words);
    words.retain(|w| !w.is_empty());
    words.join(" ")
}

fn append_options(command: &str, options: &[Value], words: &mut Vec<String>) {
    let defined = COMMANDS
        .iter()
        .find(|c| c.name == command)
        .map_or(&[][..], |c| c.options);
    let rank = |o: &Value| {
        let name = o.get("name").and_then(Value::as_str).unwrap_or_default();
        defined
            .iter()
            .position(|(n, _, _)| *n == name)
            .unwrap_or(defined.len())
    };
    let mut ordered: Vec<&Value> = options.iter().collect();
    ordered.sort_by_key(|o| rank(o));
    for option in ordered {
        match option.get("value") {
            Some(Value::String(s)) => words.push(s.trim().to_owned()),
            Some(Value::Null) | None => {
                // A subcommand or group: its name, then its options.
                let name = option
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                words.push(name.to_owned());
                let nested = option
                    .get("options")
                    .and_then(Value::as_array)
                    .map_or(&[][..], Vec::as_slice);
                append_options(name, nested, words);
            }
            Some(other) => words.push(other.to_string()),
        }
    }
}
