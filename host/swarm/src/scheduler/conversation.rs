//! Conversation mode, for complex tasks: a planning call asks for a numbered plan of at
//! most `max_plan_steps` steps; each step then runs as its own call (a tool loop) with the
//! plan and every earlier step's result in its prompt. The answer is the concatenation of
//! the step results, each under a `## Step n: <step>` heading — no extra summarising call.
//!
//! ```toml
//! [conversation]
//! enabled = true
//! max_plan_steps = 6
//! max_tokens_per_task = 60000     # input + output tokens of all the task's calls
//! max_cost_usd_per_task = 0.5     # their cost
//! ```
//!
//! A call whose worst case would cross either cap is not made: the task completes with the
//! steps done so far and a `partial_completion` signal (what was done, what stopped it) on
//! its result; stopped before any step finished, it fails.

use super::tool_loop::{Halt, Runner, Steps};
use crate::budget::usd_to_micros;
use hypernet_model::tasks::blocks::Signal;
use hypernet_plugin_api::provider::{CompletionRequest, Message};
use serde::Deserialize;

/// `[conversation]` in `hypernet.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConversationConfig {
    /// Whether complex tasks run as plan and steps.
    pub enabled: bool,
    /// Most steps a plan may have (more are dropped).
    pub max_plan_steps: u32,
    /// Input plus output tokens of all of a task's calls.
    pub max_tokens_per_task: u64,
    /// Cost of all of a task's calls, USD.
    pub max_cost_usd_per_task: f64,
}

impl Default for ConversationConfig {
    fn default() -> Self {
        ConversationConfig {
            enabled: true,
            max_plan_steps: 6,
            max_tokens_per_task: 60_000,
            max_cost_usd_per_task: 0.5,
        }
    }
}

impl ConversationConfig {
    /// Refuses values that cannot work, naming the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_plan_steps == 0 {
            return Err("[conversation] max_plan_steps must be at least 1".into());
        }
        if self.max_cost_usd_per_task.is_nan() || self.max_cost_usd_per_task < 0.0 {
            return Err(format!(
                "[conversation] max_cost_usd_per_task must be a number ≥ 0, not {}",
                self.max_cost_usd_per_task
            ));
        }
        Ok(())
    }

    /// The caps as the loop applies them.
    pub fn caps(&self) -> super::tool_loop::Caps {
        super::tool_loop::Caps {
            max_tokens: Some(self.max_tokens_per_task),
            max_cost_micros: Some(usd_to_micros(self.max_cost_usd_per_task)),
        }
    }
}

/// The planning request's instruction.
pub fn plan_prompt(task_prompt: &str, max_steps: u32) -> String {
    format!(
        "{task_prompt}\n\nDo not do the task yet. Write a numbered plan of at most {max_steps} steps for it, \
         one line each (`1. ...`), and nothing else."
    )
}

/// The steps of a plan: its numbered lines (`1.` or `1)`), at most `max`.
pub fn parse_plan(text: &str, max: u32) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let digits = line.len() - line.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            if digits == 0 {
                return None;
            }
            let rest = line[digits..].strip_prefix(['.', ')'])?.trim();
            (!rest.is_empty()).then(|| rest.to_owned())
        })
        .take(max as usize)
        .collect()
}

/// The request of step `index` (0-based), with the plan and the earlier results.
pub fn step_prompt(task_prompt: &str, plan: &[String], done: &[String], index: usize) -> String {
    let mut text = format!("{task_prompt}\n\n## Plan\n");
    for (i, step) in plan.iter().enumerate() {
        text.push_str(&format!("{}. {step}\n", i + 1));
    }
    for (i, result) in done.iter().enumerate() {
        text.push_str(&format!("\n## Result of step {}\n{result}\n", i + 1));
    }
    text.push_str(&format!(
        "\nNow do step {}: {}. Answer with this step's result only.",
        index + 1,
        plan[index]
    ));
    text
}

/// The answer: each finished step's result under its heading.
pub fn assemble(plan: &[String], done: &[String]) -> String {
    done.iter()
        .enumerate()
        .map(|(i, result)| format!("## Step {}: {}\n{result}", i + 1, plan[i]))
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// What a conversation produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The answer.
    pub text: String,
    /// Signals for the result (`partial_completion` when a cap stopped it).
    pub signals: Vec<Signal>,
}

/// Runs plan then steps. `first` is the task's first request (system, prompt, tools).
pub async fn run<S: Steps>(
    runner: &mut Runner<S>,
    cfg: &ConversationConfig,
    first: CompletionRequest,
) -> Result<Outcome, Halt> {
    let task_prompt = first
        .messages
        .first()
        .map(Message::text)
        .unwrap_or_default();
    let with_prompt = |text: String| {
        let mut r = first.clone();
        r.messages = vec![Message::user(text)];
        r
    };
    let plan_text = runner
        .run(with_prompt(plan_prompt(&task_prompt, cfg.max_plan_steps)))
        .await?;
    let mut plan = parse_plan(&plan_text, cfg.max_plan_steps);
    if plan.is_empty() {
        plan.push("Do the whole task".into());
    }
    let mut done: Vec<String> = Vec::new();
    for index in 0..plan.len() {
        let request = with_prompt(step_prompt(&task_prompt, &plan, &done, index));
        match runner.run(request).await {
            Ok(result) => done.push(result),
            Err(Halt::Cap(why)) if !done.is_empty() => {
                tracing::info!(done = done.len(), of = plan.len(), why = %why, "conversation stopped at its cap");
                let signal = Signal::PartialCompletion {
                    completed: plan[..done.len()].to_vec(),
                    blocked_on: why.clone(),
                };
                let text = format!(
                    "{}\n\n(Stopped after step {} of {}: {why}.)",
                    assemble(&plan, &done),
                    done.len(),
                    plan.len()
                );
                return Ok(Outcome {
                    text,
                    signals: vec![signal],
                });
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Outcome {
        text: assemble(&plan, &done),
        signals: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::tool_loop::tests::{Fake, text};
    use super::super::tool_loop::{Caps, ToolsConfig};
    use super::*;
    use crate::budget::Price;

    #[test]
    fn plans_are_the_numbered_lines_up_to_the_limit() {
        let plan = parse_plan("Here:\n1. Read\n 2) Write\n3.\nnote\n4. Test\n5. Ship", 3);
        assert_eq!(plan, vec!["Read", "Write", "Test"]);
    }

    fn first() -> CompletionRequest {
        let mut r = CompletionRequest::new("paid/m", vec![Message::user("Build the thing")]);
        r.max_tokens = 100;
        r
    }

    const PRICE: Price = Price::new(1.0, 1.0);

    #[tokio::test]
    async fn each_step_sees_the_plan_and_the_earlier_results() {
        let fake = Fake {
            answers: vec![
                text("1. Design\n2. Build", 10, 10),
                text("the design", 10, 10),
                text("the build", 10, 10),
            ]
            .into(),
            ..Fake::default()
        };
        let cfg = ConversationConfig::default();
        let mut runner = Runner::new(
            fake,
            ToolsConfig::default(),
            PRICE,
            cfg.caps(),
            false,
            false,
        );
        let out = run(&mut runner, &cfg, first()).await.unwrap();
        assert_eq!(
            out.text,
            "## Step 1: Design\nthe design\n\n## Step 2: Build\nthe build"
        );
        assert!(out.signals.is_empty());
        let reqs = &runner.steps.requests;
        assert!(
            reqs[0].messages[0]
                .text()
                .contains("numbered plan of at most 6 steps")
        );
        let step2 = reqs[2].messages[0].text();
        assert!(step2.contains("## Result of step 1\nthe design"), "{step2}");
        assert!(step2.contains("Now do step 2: Build."), "{step2}");
        // Every call was reserved first (the planning prompt is not the assigned one).
        assert_eq!(runner.steps.budget.len(), 3);
    }

    #[tokio::test]
    async fn the_cap_stops_it_with_the_work_so_far_marked_partial() {
        let fake = Fake {
            answers: vec![
                text("1. Design\n2. Build\n3. Test", 10, 10),
                text("the design", 50, 50),
                text("never", 10, 10),
            ]
            .into(),
            ..Fake::default()
        };
        // Planning and step 1 fit (worst case ~40 + 100 each); after 120 spent, step 2's does not.
        let caps = Caps {
            max_tokens: None,
            max_cost_micros: Some(200),
        };
        let cfg = ConversationConfig::default();
        let mut runner = Runner::new(fake, ToolsConfig::default(), PRICE, caps, false, false);
        let out = run(&mut runner, &cfg, first()).await.unwrap();
        assert!(out.text.starts_with("## Step 1: Design\nthe design\n\n(Stopped after step 1 of 3: [conversation] max_cost_usd_per_task"), "{}", out.text);
        assert!(
            matches!(&out.signals[0], Signal::PartialCompletion { completed, .. } if completed == &["Design"]),
            "{:?}",
            out.signals
        );
        assert_eq!(runner.steps.requests.len(), 2);
        assert!(runner.spent.cost_micros <= 200, "never over the cap");
    }
}
