//! Fenced blocks in a worker's answer: ```` ```tool ````, ```` ```swarm ```` and
//! ```` ```signal ```` with a JSON body on the lines that follow. Any other fence (code,
//! prose) is left alone; a block whose body is not the JSON its kind needs is reported, not
//! guessed at.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A signal a worker raises about its task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Signal {
    /// The task cannot go on without an answer from a person.
    ClarificationNeeded {
        /// What to ask.
        question: String,
    },
    /// The answer is given with doubt.
    LowConfidence {
        /// 0.0 (none) to 1.0 (sure).
        confidence: f64,
        /// Why.
        #[serde(default)]
        reason: String,
    },
    /// Part of the task is done.
    PartialCompletion {
        /// What was done.
        #[serde(default)]
        completed: Vec<String>,
        /// What the rest waits on.
        #[serde(default)]
        blocked_on: String,
    },
    /// The worker will not do the task.
    TaskRejection {
        /// Why.
        reason: String,
    },
}

/// A change to the swarm a worker asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Directive {
    /// Add workers (at most three per directive, within the autoscaling caps).
    Spawn {
        /// Their model (default: the asking worker's).
        #[serde(default)]
        model: Option<String>,
        /// How many.
        #[serde(default = "one")]
        count: u32,
        /// Why.
        #[serde(default)]
        reason: String,
    },
    /// Remove idle ephemeral workers.
    ScaleDown {
        /// How many.
        #[serde(default = "one")]
        count: u32,
    },
}

fn one() -> u32 {
    1
}

/// A tool call written as a fenced block, for models without native tool calling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolBlock {
    /// The tool's name.
    pub name: String,
    /// Its arguments.
    #[serde(default, alias = "arguments", alias = "input")]
    pub args: Value,
}

/// Everything found in one answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Blocks {
    /// Signals, in order.
    pub signals: Vec<Signal>,
    /// Swarm directives, in order.
    pub directives: Vec<Directive>,
    /// Tool calls, in order.
    pub tools: Vec<ToolBlock>,
    /// Blocks of a known kind that could not be read, with why.
    pub malformed: Vec<String>,
}

/// The blocks of `text`.
pub fn parse(text: &str) -> Blocks {
    let mut found = Blocks::default();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        let Some(info) = trimmed.strip_prefix("```") else {
            continue;
        };
        let fence_len = 3 + info.len() - info.trim_start_matches('`').len();
        let kind = info.trim_start_matches('`').trim().to_ascii_lowercase();
        let mut body = String::new();
        for inner in lines.by_ref() {
            let t = inner.trim();
            if t.len() >= fence_len && t.chars().all(|c| c == '`') {
                break;
            }
            body.push_str(inner);
            body.push('\n');
        }
        match kind.as_str() {
            "signal" => read_each(&body, "signal", &mut found.signals, &mut found.malformed),
            "swarm" => read_each(&body, "swarm", &mut found.directives, &mut found.malformed),
            "tool" => read_each(&body, "tool", &mut found.tools, &mut found.malformed),
            _ => {}
        }
    }
    found
}

/// Reads a body holding one JSON object or an array of them.
fn read_each<T: serde::de::DeserializeOwned>(
    body: &str,
    kind: &str,
    into: &mut Vec<T>,
    malformed: &mut Vec<String>,
) {
    let value: Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(e) => {
            malformed.push(format!("`{kind}` block is not JSON: {e}"));
            return;
        }
    };
    let items = match value {
        Value::Array(items) => items,
        one => vec![one],
    };
    for item in items {
        match serde_json::from_value(item) {
            Ok(v) => into.push(v),
            Err(e) => malformed.push(format!("`{kind}` block: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_kind_and_leaves_other_fences_alone() {
        let text = "Done.\n\n```signal\n{\"type\": \"low_confidence\", \"confidence\": 0.4, \"reason\": \"thin data\"}\n```\n\
                    ```rust\nfn main() {}\n```\n\
                    ```swarm\n[{\"action\": \"spawn\", \"count\": 2, \"reason\": \"backlog\"}, {\"action\": \"scale_down\"}]\n```\n\
                    ```tool\n{\"name\": \"read_file\", \"args\": {\"path\": \"a.txt\"}}\n```\n";
        let b = parse(text);
        assert_eq!(
            b.signals,
            vec![Signal::LowConfidence {
                confidence: 0.4,
                reason: "thin data".into()
            }]
        );
        assert_eq!(
            b.directives,
            vec![
                Directive::Spawn {
                    model: None,
                    count: 2,
                    reason: "backlog".into()
                },
                Directive::ScaleDown { count: 1 }
            ]
        );
        assert_eq!(b.tools[0].name, "read_file");
        assert_eq!(b.tools[0].args["path"], "a.txt");
        assert!(b.malformed.is_empty(), "{:?}", b.malformed);
    }

    #[test]
    fn every_signal_type_reads() {
        let text = "```signal\n[\
            {\"type\": \"clarification_needed\", \"question\": \"Which repo?\"},\
            {\"type\": \"partial_completion\", \"completed\": [\"a\"], \"blocked_on\": \"b\"},\
            {\"type\": \"task_rejection\", \"reason\": \"out of scope\"}]\n```";
        let b = parse(text);
        assert_eq!(b.signals.len(), 3);
        assert!(
            matches!(&b.signals[0], Signal::ClarificationNeeded { question } if question == "Which repo?")
        );
        assert!(
            matches!(&b.signals[2], Signal::TaskRejection { reason } if reason == "out of scope")
        );
    }

    #[test]
    fn bad_blocks_are_reported_not_guessed() {
        let b = parse("```signal\nnot json\n```\n```swarm\n{\"action\": \"explode\"}\n```");
        assert!(b.signals.is_empty() && b.directives.is_empty());
        assert_eq!(b.malformed.len(), 2, "{:?}", b.malformed);
        assert!(b.malformed[0].contains("not JSON"));
    }

    #[test]
    fn an_unclosed_block_still_reads_and_longer_fences_nest() {
        let b = parse("````signal\n{\"type\": \"task_rejection\", \"reason\": \"```\"}\n````");
        assert_eq!(b.signals.len(), 1);
        let open = parse("```tool\n{\"name\": \"list_files\"}");
        assert_eq!(open.tools[0].name, "list_files");
        assert_eq!(open.tools[0].args, Value::Null);
    }
}
