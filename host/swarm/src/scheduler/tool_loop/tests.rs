//! The tool loop against scripted model answers, a recording budget and a fake tool.

use super::*;
use hypernet_plugin_api::provider::{StopReason, ToolCall, Usage};
use serde_json::json;
use std::collections::VecDeque;

/// Scripted answers; records every request, every budget step and every tool call.
#[derive(Default)]
pub(crate) struct Fake {
    pub answers: VecDeque<Completion>,
    pub requests: Vec<CompletionRequest>,
    /// (settled tokens, reserved micros)
    pub budget: Vec<(Option<Tokens>, u64)>,
    /// Refuse reservations above this.
    pub refuse_above: Option<u64>,
    pub tools: Vec<(String, Value)>,
}

impl Steps for Fake {
    async fn complete(&mut self, request: &CompletionRequest) -> Result<Completion, CallError> {
        self.requests.push(request.clone());
        self.answers
            .pop_front()
            .ok_or_else(|| CallError::Host("no scripted answer left".into()))
    }

    async fn reserve(&mut self, settle: Option<Tokens>, micros: u64) -> Result<(), String> {
        self.budget.push((settle, micros));
        match self.refuse_above {
            Some(max) if micros > max => Err(format!("daily limit reached ({micros} > {max})")),
            _ => Ok(()),
        }
    }

    async fn tool(&mut self, name: &str, args: Value) -> Result<String, ToolError> {
        self.tools.push((name.to_owned(), args.clone()));
        match name {
            "echo" => Ok(format!(
                "echo:{}",
                args["text"].as_str().unwrap_or_default()
            )),
            "broken" => Err(ToolError::Failed {
                tool: "broken".into(),
                reason: "disk on fire".into(),
            }),
            other => Err(ToolError::Unknown {
                name: other.into(),
                known: "echo, broken".into(),
            }),
        }
    }
}

pub(crate) fn text(t: &str, input: u64, output: u64) -> Completion {
    Completion {
        model: "m-2025".into(),
        text: t.into(),
        tool_calls: vec![],
        stop_reason: StopReason::EndTurn,
        usage: Usage {
            input_tokens: input,
            output_tokens: output,
            ..Usage::default()
        },
        simulated: false,
    }
}

fn calls(calls: &[(&str, &str, Value)]) -> Completion {
    Completion {
        tool_calls: calls
            .iter()
            .map(|(id, name, args)| ToolCall {
                id: (*id).into(),
                name: (*name).into(),
                arguments: args.clone(),
            })
            .collect(),
        stop_reason: StopReason::ToolUse,
        ..text("", 10, 5)
    }
}

const PRICE: Price = Price::new(1.0, 2.0);

fn runner(answers: Vec<Completion>, fenced: bool) -> Runner<Fake> {
    let fake = Fake {
        answers: answers.into(),
        ..Fake::default()
    };
    Runner::new(
        fake,
        ToolsConfig::default(),
        PRICE,
        Caps::default(),
        fenced,
        true,
    )
}

fn request() -> CompletionRequest {
    let mut r = CompletionRequest::new("paid/m", vec![Message::user("Do it")]);
    r.max_tokens = 100;
    r
}

#[tokio::test]
async fn tool_results_go_back_with_their_call_ids_and_every_step_is_paid_for() {
    let mut r = runner(
        vec![
            calls(&[
                ("c1", "echo", json!({"text": "a"})),
                ("c2", "nope", json!({})),
            ]),
            text("All done.", 20, 7),
        ],
        false,
    );
    let answer = r.run(request()).await.unwrap();
    assert_eq!(answer, "All done.");
    let second = &r.steps.requests[1];
    assert_eq!(second.messages.len(), 3);
    assert_eq!(second.messages[1].role, Role::Assistant);
    assert!(
        matches!(&second.messages[1].content[0], ContentBlock::ToolUse { id, .. } if id == "c1")
    );
    assert_eq!(
        second.messages[2].content,
        vec![
            ContentBlock::ToolResult {
                tool_use_id: "c1".into(),
                content: "echo:a".into(),
                is_error: false
            },
            ContentBlock::ToolResult {
                tool_use_id: "c2".into(),
                content: "unknown tool `nope` (known: echo, broken)".into(),
                is_error: true
            },
        ]
    );
    // The first call was covered by the assignment; the second settled the first's tokens
    // and reserved its own worst case first.
    assert_eq!(r.steps.budget.len(), 1);
    let (settled, reserved) = r.steps.budget[0];
    assert_eq!(settled, Some(Tokens::plain(10, 5)));
    assert!(
        reserved >= 200,
        "at least max_tokens at 2 µ$ each: {reserved}"
    );
    assert_eq!(
        r.spent,
        Spent {
            tokens: Tokens::plain(30, 12),
            cost_micros: PRICE.cost_micros(10, 5) + PRICE.cost_micros(20, 7)
        }
    );
}

#[tokio::test]
async fn a_model_still_calling_tools_at_the_step_limit_fails_naming_it() {
    let answers = (0..8)
        .map(|i| calls(&[("c", "echo", json!({ "text": i.to_string() }))]))
        .collect();
    let mut r = runner(answers, false);
    let Err(Halt::Failed(e)) = r.run(request()).await else {
        panic!("expected a failure")
    };
    assert_eq!(
        e.to_string(),
        "tool loop stopped: the model still called tools after 8 steps ([tools] max_steps = 8)"
    );
    assert_eq!(r.steps.requests.len(), 8);
}

#[tokio::test]
async fn the_same_call_three_times_is_a_loop() {
    let same = || calls(&[("c", "echo", json!({"text": "x"}))]);
    let mut r = runner(vec![same(), same(), same(), text("never", 1, 1)], false);
    let Err(Halt::Failed(e)) = r.run(request()).await else {
        panic!("expected a failure")
    };
    assert_eq!(
        e.to_string(),
        r#"loop detected: echo {"text":"x"} called 3 times"#
    );
    assert_eq!(r.steps.tools.len(), 2, "the third call is not run");
    r.settle_last().await;
    assert_eq!(
        r.steps.budget.last(),
        Some(&(Some(Tokens::plain(10, 5)), 0)),
        "the last call is still charged"
    );
}

#[tokio::test]
async fn the_same_error_three_times_is_a_loop() {
    let broken = |n: u32| calls(&[("c", "broken", json!({ "try": n }))]);
    let mut r = runner(
        vec![broken(1), broken(2), broken(3), text("never", 1, 1)],
        false,
    );
    let Err(Halt::Failed(e)) = r.run(request()).await else {
        panic!("expected a failure")
    };
    assert_eq!(
        e.to_string(),
        "loop detected: the same error 3 times: `broken` failed: disk on fire"
    );
}

#[tokio::test]
async fn fenced_tool_blocks_run_and_their_results_come_back_as_a_user_message() {
    let mut r = runner(
        vec![
            text(
                "Checking.\n```tool\n{\"name\": \"echo\", \"args\": {\"text\": \"hi\"}}\n```\n",
                5,
                5,
            ),
            text("It said hi.", 5, 5),
        ],
        true,
    );
    assert_eq!(r.run(request()).await.unwrap(), "It said hi.");
    let second = &r.steps.requests[1];
    assert_eq!(second.messages[1].role, Role::Assistant);
    assert_eq!(second.messages[2].role, Role::User);
    assert_eq!(
        second.messages[2].text(),
        "Result of echo {\"text\":\"hi\"}:\necho:hi"
    );
    // A native-tool model's fenced block is just text.
    let mut native = runner(
        vec![text("```tool\n{\"name\": \"echo\"}\n```", 5, 5)],
        false,
    );
    native.run(request()).await.unwrap();
    assert!(native.steps.tools.is_empty());
}

#[tokio::test]
async fn a_refused_reservation_stops_the_loop_before_the_call() {
    let mut r = runner(
        vec![
            calls(&[("c", "echo", json!({"text": "a"}))]),
            text("x", 1, 1),
        ],
        false,
    );
    r.steps.refuse_above = Some(10);
    let Err(Halt::Failed(e)) = r.run(request()).await else {
        panic!("expected a failure")
    };
    assert!(
        e.to_string().starts_with("budget: daily limit reached"),
        "{e}"
    );
    assert_eq!(r.steps.requests.len(), 1, "the second call was not made");
}

#[tokio::test]
async fn a_cap_stops_before_a_call_that_could_cross_it() {
    let fake = Fake {
        answers: vec![
            calls(&[("c", "echo", json!({"text": "a"}))]),
            text("x", 1, 1),
        ]
        .into(),
        ..Fake::default()
    };
    // The first call's worst case: ~2 input tokens + 100 output; it used 15; the second's
    // worst case is over 100 more, so a 110-token cap stops it.
    let caps = Caps {
        max_tokens: Some(110),
        max_cost_micros: None,
    };
    let mut r = Runner::new(fake, ToolsConfig::default(), PRICE, caps, false, false);
    let Err(Halt::Cap(why)) = r.run(request()).await else {
        panic!("expected the cap")
    };
    assert!(
        why.starts_with("[conversation] max_tokens_per_task = 110: 15 used"),
        "{why}"
    );
    assert_eq!(r.steps.requests.len(), 1);
    assert!(r.spent.tokens.input + r.spent.tokens.output <= 110);
}

#[test]
fn settings_that_cannot_work_are_refused_by_name() {
    let err = |text: &str| {
        crate::config::HostConfig::parse(text, "hypernet.toml")
            .unwrap_err()
            .to_string()
    };
    assert!(err("[tools]\nrepeat_limit = 1\n").contains("[tools] repeat_limit must be at least 2"));
    assert!(err("[tools]\nmax_steps = 0\n").contains("[tools] max_steps"));
    assert!(err("[conversation]\nmax_plan_steps = 0\n").contains("[conversation] max_plan_steps"));
    assert!(err("[tools]\nmax_step = 3\n").contains("max_step"));
}
