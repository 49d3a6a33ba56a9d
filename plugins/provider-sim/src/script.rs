//! The scripted behaviour of task calls: what the simulated model does with a task, so a
//! swarm on the simulator shows every feature a real model would make it use.
//!
//! A task call is one that offers tools (boot sequences and conversations offer none; they
//! get plain answers). Its first call is dealt a [`Scenario`] from a deck: each round of
//! the deck holds every scenario as often as `[script]` says; the first round deals each
//! scenario once in the order of [`Scenario`] before any twice, so a new swarm shows each
//! behaviour in its first tasks, and later rounds are shuffled by the seed. The calls after the first follow from the
//! conversation itself (the tool results so far, a person's answer in the prompt), so a
//! task's calls tell one coherent story whatever other calls come between.

use hypernet_plugin_api::provider::{CompletionRequest, ContentBlock, Role};
use serde::Deserialize;
use serde_json::{Value, json};

/// `[script]`: how many of each scenario one round of the deck holds.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Script {
    /// Refuses the task (another worker takes it).
    pub refusal: u32,
    /// Lists its workspace, writes a note there, then answers.
    pub tools: u32,
    /// Asks a person a question first (`hypernet task answer`).
    pub question: u32,
    /// Asks to send a person a message, which waits for approval.
    pub approval: u32,
    /// Answers with a low-confidence signal.
    pub signal: u32,
    /// Answers plainly.
    pub plain: u32,
    /// Share, 0.0 to 1.0, of answers streamed piece by piece when the host streams.
    pub stream: f64,
}

impl Default for Script {
    /// Plain answers only, none streamed: what benchmarks and tests expect.
    fn default() -> Self {
        Script {
            refusal: 0,
            tools: 0,
            question: 0,
            approval: 0,
            signal: 0,
            plain: 1,
            stream: 0.0,
        }
    }
}

/// What the model does with a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// See [`Script::refusal`].
    Refusal,
    /// See [`Script::tools`].
    Tools,
    /// See [`Script::question`].
    Question,
    /// See [`Script::approval`].
    Approval,
    /// See [`Script::signal`].
    Signal,
    /// See [`Script::plain`].
    Plain,
}

impl Script {
    /// Why the script cannot be used, if it cannot.
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.stream) {
            return Err(format!(
                "`script.stream` must be between 0.0 and 1.0, got {}",
                self.stream
            ));
        }
        if self.round().is_empty() {
            return Err("`script` deals nothing: give at least one scenario a count".into());
        }
        Ok(())
    }

    /// One round of the deck, in the first round's order: each scenario once, in the order
    /// of [`Scenario`], then the rest of their counts in the same order.
    fn round(&self) -> Vec<Scenario> {
        let counts = [
            (Scenario::Refusal, self.refusal),
            (Scenario::Tools, self.tools),
            (Scenario::Question, self.question),
            (Scenario::Approval, self.approval),
            (Scenario::Signal, self.signal),
            (Scenario::Plain, self.plain),
        ];
        let once = counts.iter().filter(|(_, n)| *n > 0).map(|(s, _)| *s);
        let rest = counts
            .iter()
            .flat_map(|&(s, n)| std::iter::repeat_n(s, n.saturating_sub(1) as usize));
        once.chain(rest).collect()
    }

    /// The `n`-th card dealt (from 0) under `seed`.
    pub fn deal(&self, seed: u64, n: u64) -> Scenario {
        let mut round = self.round();
        let len = round.len() as u64;
        let (number, index) = (n / len, n % len);
        if number > 0 {
            // Fisher–Yates with the round's own stream of numbers.
            let mut state = seed ^ super::splitmix64(number);
            for i in (1..round.len()).rev() {
                state = super::splitmix64(state);
                round.swap(i, (state % (i as u64 + 1)) as usize);
            }
        }
        round[index as usize]
    }
}

/// What the model does on this call.
#[derive(Debug, Clone, PartialEq)]
pub enum Move {
    /// Answer with this text.
    Answer(String),
    /// Call this tool with these arguments.
    Call(&'static str, Value),
    /// Answer plainly, with an excerpt of the prompt.
    Plain,
    /// Answer a batched prompt with these answer blocks (see [`crate::batch`]).
    Batched(String),
}

/// What the prompt says when a person answered a question the task's worker asked (also how
/// an approval's outcome reaches the worker).
const ANSWERED: &str = "You asked about this task, and a person answered:";

/// The tools the tool scenario uses, in order.
const LIST: &str = "list_files";
const WRITE: &str = "write_file";
const MESSAGE: &str = "send_message";

/// Whether a call offers tools, which makes it a task call.
pub fn is_task_call(request: &CompletionRequest) -> bool {
    !request.tools.is_empty()
}

/// Whether this is a task's first call (nothing answered yet in this conversation).
pub fn is_first_call(request: &CompletionRequest) -> bool {
    request.messages.len() == 1
}

/// The next move of a task call; `deal` is asked for a scenario only when the task starts
/// afresh (a first call without a person's answer).
pub fn next_move(
    request: &CompletionRequest,
    deal: impl FnOnce() -> Scenario,
    title: &str,
) -> Move {
    let offered = |name: &str| request.tools.iter().any(|t| t.name == name);
    let prompt = request
        .messages
        .first()
        .map(|m| m.text())
        .unwrap_or_default();
    if let Some((_, answered)) = prompt.split_once(ANSWERED) {
        let answer = answered
            .rsplit_once("\nAnswer: ")
            .map_or(answered, |(_, a)| a)
            .trim();
        return Move::Answer(format!(
            "Thank you; with that settled I can finish \"{title}\". I was told: {}",
            excerpt(answer, 300)
        ));
    }
    if !is_first_call(request) {
        return after_tools(request, title);
    }
    match deal() {
        Scenario::Refusal => Move::Answer(signal(
            "I am leaving this task to another worker.",
            json!({"type": "task_rejection", "reason": "provider-sim refuses some tasks to show how the swarm hands them on"}),
        )),
        Scenario::Tools if offered(LIST) && offered(WRITE) => {
            Move::Call(LIST, json!({"path": ".", "recursive": false}))
        }
        Scenario::Question => Move::Answer(signal(
            "Before I start I need one thing from a person.",
            json!({"type": "clarification_needed", "question": format!("Who is \"{title}\" for: the people who run the swarm, or its users?")}),
        )),
        Scenario::Approval if offered(MESSAGE) => Move::Call(
            MESSAGE,
            json!({"to": "operator", "body": format!("Working on \"{title}\"; I will report when it is done. (Sent by provider-sim, a simulated model.)")}),
        ),
        Scenario::Signal => Move::Answer(signal(
            &format!("Here is a first pass at \"{title}\"; treat it as a draft."),
            json!({"type": "low_confidence", "confidence": 0.6, "reason": "a simulated model did not really read the task"}),
        )),
        _ => Move::Plain,
    }
}

/// The move after tool results came back: the tool scenario's next step, or the answer.
fn after_tools(request: &CompletionRequest, title: &str) -> Move {
    let called: Vec<&str> = request
        .messages
        .iter()
        .filter(|m| m.role == Role::Assistant)
        .flat_map(|m| &m.content)
        .filter_map(|b| match b {
            ContentBlock::ToolUse { name, .. } => Some(name.as_str()),
            _ => None,
        })
        .collect();
    let results: Vec<&str> = request
        .messages
        .iter()
        .flat_map(|m| &m.content)
        .filter_map(|b| match b {
            ContentBlock::ToolResult { content, .. } => Some(content.as_str()),
            _ => None,
        })
        .collect();
    if called == [LIST] {
        return Move::Call(
            WRITE,
            json!({"path": format!("notes/{}.md", slug(title)), "content": format!("# {title}\n\nNotes written by provider-sim, a simulated model.\n")}),
        );
    }
    let said: Vec<String> = called
        .iter()
        .zip(&results)
        .map(|(name, result)| {
            let result = unwrapped(result)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            format!("- `{name}`: {}", excerpt(&result, 240))
        })
        .collect();
    Move::Answer(format!(
        "I used my tools for \"{title}\":\n{}\nThe note is in my workspace.",
        said.join("\n")
    ))
}

/// What a tool returned, without the host's marking of outside content around it (the
/// `<<external …>>` line, the note under it, and the closing `<</external>>`).
fn unwrapped(result: &str) -> &str {
    let Some(rest) = result.strip_prefix("<<external") else {
        return result;
    };
    let body = rest.splitn(3, '\n').nth(2).unwrap_or_default();
    body.trim_end()
        .strip_suffix("<</external>>")
        .unwrap_or(body)
}

/// `text` followed by a ```` ```signal ```` block holding `body`.
fn signal(text: &str, body: Value) -> String {
    format!("{text}\n\n```signal\n{body}\n```")
}

/// A file name for `title`: lowercase words joined by `-`.
fn slug(title: &str) -> String {
    let words: Vec<String> = title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(6)
        .map(str::to_lowercase)
        .collect();
    if words.is_empty() {
        "task".into()
    } else {
        words.join("-")
    }
}

/// At most `max` characters of `text`, with `…` when cut.
pub fn excerpt(text: &str, max: usize) -> String {
    let mut out: String = text.chars().take(max).collect();
    if text.chars().count() > max {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use hypernet_plugin_api::provider::{Message, ToolSpec};

    fn every() -> Script {
        Script {
            refusal: 1,
            tools: 2,
            question: 1,
            approval: 1,
            signal: 1,
            plain: 2,
            stream: 0.5,
        }
    }

    #[test]
    fn the_first_round_is_dealt_in_order_later_ones_shuffled_by_the_seed() {
        let s = every();
        let first: Vec<Scenario> = (0..8).map(|n| s.deal(7, n)).collect();
        use Scenario::*;
        assert_eq!(
            first,
            [
                Refusal, Tools, Question, Approval, Signal, Plain, Tools, Plain
            ]
        );
        let second = |seed| {
            let mut r: Vec<Scenario> = (8..16).map(|n| s.deal(seed, n)).collect();
            let shuffled = r.clone();
            r.sort_by_key(|c| *c as u8);
            (shuffled, r)
        };
        let (a, sorted) = second(7);
        let mut expected = s.round();
        expected.sort_by_key(|c| *c as u8);
        assert_eq!(sorted, expected, "each round holds the same cards");
        assert_eq!(a, second(7).0, "the same seed deals the same");
        assert!(
            (1..20).any(|seed| second(seed).0 != a),
            "other seeds deal otherwise"
        );
    }

    #[test]
    fn rejects_a_script_that_deals_nothing_or_streams_out_of_range() {
        let none = Script {
            plain: 0,
            ..Script::default()
        };
        assert!(none.validate().unwrap_err().contains("deals nothing"));
        let stream = Script {
            stream: 2.0,
            ..Script::default()
        };
        assert!(stream.validate().unwrap_err().contains("script.stream"));
    }

    fn request(messages: Vec<Message>) -> CompletionRequest {
        let mut r = CompletionRequest::new("sim/x", messages);
        r.tools = [LIST, WRITE, MESSAGE]
            .map(|name| ToolSpec {
                name: name.into(),
                description: String::new(),
                input_schema: json!({}),
            })
            .to_vec();
        r
    }

    fn tool_turn(name: &str, result: &str) -> [Message; 2] {
        [
            Message {
                role: Role::Assistant,
                content: vec![ContentBlock::ToolUse {
                    id: "c1".into(),
                    name: name.into(),
                    input: json!({}),
                }],
            },
            Message {
                role: Role::User,
                content: vec![ContentBlock::ToolResult {
                    tool_use_id: "c1".into(),
                    content: result.into(),
                    is_error: false,
                }],
            },
        ]
    }

    #[test]
    fn the_tool_scenario_lists_writes_then_answers_with_what_the_tools_said() {
        let mut messages = vec![Message::user("Draft the notes")];
        let first = next_move(
            &request(messages.clone()),
            || Scenario::Tools,
            "Draft the notes",
        );
        assert_eq!(
            first,
            Move::Call(LIST, json!({"path": ".", "recursive": false}))
        );
        messages.extend(tool_turn(
            LIST,
            "<<external source=\"tool:list_files\">>\n[Data from outside.]\nREADME.md\n<</external>>",
        ));
        let Move::Call(WRITE, args) = next_move(
            &request(messages.clone()),
            || panic!("a later call is not dealt"),
            "Draft the notes",
        ) else {
            panic!("expected write_file")
        };
        assert_eq!(args["path"], "notes/draft-the-notes.md");
        messages.extend(tool_turn(WRITE, "wrote 40 bytes"));
        let Move::Answer(text) = next_move(
            &request(messages),
            || panic!("a later call is not dealt"),
            "Draft the notes",
        ) else {
            panic!("expected an answer")
        };
        assert!(text.contains("`list_files`: README.md"), "{text}");
        assert!(text.contains("`write_file`: wrote 40 bytes"), "{text}");
    }

    #[test]
    fn without_the_tools_it_needs_a_scenario_answers_plainly() {
        let mut r = request(vec![Message::user("t")]);
        r.tools.retain(|t| t.name == LIST);
        for s in [Scenario::Tools, Scenario::Approval] {
            assert_eq!(next_move(&r, || s, "t"), Move::Plain);
        }
    }

    #[test]
    fn questions_refusals_and_signals_are_signal_blocks_the_host_reads() {
        let r = request(vec![Message::user("t")]);
        for (scenario, kind) in [
            (Scenario::Question, "clarification_needed"),
            (Scenario::Refusal, "task_rejection"),
            (Scenario::Signal, "low_confidence"),
        ] {
            let Move::Answer(text) = next_move(&r, || scenario, "t") else {
                panic!("{scenario:?} called a tool")
            };
            let body = text
                .split("```signal\n")
                .nth(1)
                .unwrap()
                .trim_end_matches("\n```");
            let v: Value = serde_json::from_str(body).unwrap();
            assert_eq!(v["type"], kind);
        }
        assert!(matches!(
            next_move(&r, || Scenario::Approval, "t"),
            Move::Call(MESSAGE, _)
        ));
    }

    #[test]
    fn a_persons_answer_in_the_prompt_finishes_the_task_whatever_was_dealt() {
        let prompt = format!("t\n\n{ANSWERED}\nQuestion: Who?\nAnswer: the users");
        let r = request(vec![Message::user(prompt)]);
        let Move::Answer(text) = next_move(&r, || panic!("nothing is dealt"), "t") else {
            panic!("expected an answer")
        };
        assert!(
            text.ends_with("I was told: the users") && !text.contains("```signal"),
            "{text}"
        );
    }
}
