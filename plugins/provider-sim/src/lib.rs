//! `provider-sim`: a simulated LLM provider for demos, tests and benchmarks.
//!
//! No network and no model: every answer is made up, says so in its text, and carries
//! `simulated: true`. Latency, token counts and failure rate are configurable, and a seed
//! makes a run repeatable: the n-th call of a run with the same seed always gets the same
//! latency and outcome. The latency is returned to the host as a delay to wait
//! asynchronously, so thousands of simulated calls can be in flight at once; a simulated
//! failure is a transient 503 the host retries as it would a real one.
//!
//! With a `[script]`, task calls act as a real model would make the swarm act: tool calls
//! against the host's real tools, questions to a person, a message held for approval,
//! signals, refusals, and streamed text ([`script`]). Without one, every answer is plain.
//! A batched prompt (several tasks in one message) is answered in the format it asks for,
//! one answer block per task, each counted as one answer's output tokens ([`batch`]).
//!
//! ```toml
//! [[plugin]]
//! name = "provider-sim"
//! [plugin.config]
//! latency_ms = 50       # base latency of every call
//! jitter_ms = 10        # plus a uniform 0..=jitter_ms
//! output_tokens = 64    # tokens reported for each answer
//! failure_rate = 0.05   # share of calls that fail with a simulated 503
//! seed = 42
//! [plugin.config.script]  # each round of task calls: how many of each scenario
//! refusal = 1
//! tools = 2
//! question = 1
//! approval = 1
//! signal = 1
//! plain = 4
//! stream = 0.7          # share of answers streamed when the host streams
//! ```

pub mod batch;
pub mod script;

use hypernet_plugin_api::provider::{
    Completion, CompletionRequest, Prepared, Provider, ProviderError, ProviderInfo, StopReason,
    ToolCall, Usage,
};
use hypernet_plugin_api::{Host, PluginError};
use script::{Move, Script, excerpt};
use serde::Deserialize;

/// The `[config]` table; every key is optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Config {
    /// Base latency of each call, in milliseconds.
    latency_ms: u64,
    /// Extra latency, uniform in `0..=jitter_ms`.
    jitter_ms: u64,
    /// Input tokens reported; when absent, estimated as characters / 4.
    input_tokens: Option<u64>,
    /// Output tokens reported.
    output_tokens: u64,
    /// Share of calls, 0.0 to 1.0, that fail with a simulated server error.
    failure_rate: f64,
    /// Seed of the deterministic generator.
    seed: u64,
    /// Model ids or prefixes (ending in `/`) this provider answers for.
    models: Vec<String>,
    /// Whether its models count as local (free, never charged to the session budget).
    local: bool,
    /// What task calls do; the default answers every call plainly.
    script: Script,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            latency_ms: 0,
            jitter_ms: 0,
            input_tokens: None,
            output_tokens: 64,
            failure_rate: 0.0,
            seed: 42,
            models: vec!["sim/".to_owned()],
            local: true,
            script: Script::default(),
        }
    }
}

struct Sim {
    config: Config,
    calls: u64,
    /// Task calls dealt a scenario so far.
    dealt: u64,
}

/// SplitMix64: a tiny, well-mixed generator, enough for repeatable simulations.
fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn unit_interval(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

impl Provider for Sim {
    type Config = Config;

    fn validate(config: &Config) -> Result<(), PluginError> {
        if !(0.0..=1.0).contains(&config.failure_rate) {
            return Err(PluginError::invalid(format!(
                "`failure_rate` must be between 0.0 and 1.0, got {}",
                config.failure_rate
            )));
        }
        if config.models.is_empty() {
            return Err(PluginError::invalid(
                "`models` must name at least one model",
            ));
        }
        config.script.validate().map_err(PluginError::invalid)
    }

    fn start(config: Config, _host: Host) -> Result<Self, PluginError> {
        tracing::info!(
            latency_ms = config.latency_ms,
            failure_rate = config.failure_rate,
            seed = config.seed,
            "simulated provider ready (no real model is called)"
        );
        Ok(Sim {
            config,
            calls: 0,
            dealt: 0,
        })
    }

    fn describe(&self) -> ProviderInfo {
        ProviderInfo {
            models: self.config.models.clone(),
            local: self.config.local,
            simulated: true,
        }
    }

    fn prepare(&mut self, request: &CompletionRequest) -> Result<Prepared, ProviderError> {
        self.calls += 1;
        let n = self.calls;
        let draw = splitmix64(self.config.seed ^ splitmix64(n));
        let jitter = match self.config.jitter_ms {
            0 => 0,
            j => splitmix64(draw) % (j + 1),
        };
        let delay_ms = self.config.latency_ms + jitter;
        if unit_interval(draw) < self.config.failure_rate {
            return Ok(Prepared::Simulated {
                delay_ms,
                outcome: Err(ProviderError::Server {
                    status: 503,
                    message: format!("simulated failure (provider-sim, call {n})"),
                }),
            });
        }
        let input_tokens = self.config.input_tokens.unwrap_or_else(|| {
            let chars = request.system.as_deref().map_or(0, str::len)
                + request
                    .messages
                    .iter()
                    .map(|m| m.text().len())
                    .sum::<usize>();
            (chars as u64).div_ceil(4)
        });
        let said = format!(
            "SIMULATED answer by provider-sim (model {}, call {n}; no real model was used)",
            request.model
        );
        let message = request
            .messages
            .last()
            .map(|m| m.text())
            .unwrap_or_default();
        // A batched prompt gets one answer per task, each as long as a single answer.
        let batched = batch::tasks(&message).map(|tasks| {
            (
                tasks.len(),
                batch::answer(&tasks, |t| format!("{said} to: {}", excerpt(t, 120))),
            )
        });
        let answers = batched.as_ref().map_or(1, |(n, _)| *n as u64);
        let output_tokens =
            (self.config.output_tokens * answers).min(u64::from(request.max_tokens));
        let next = match batched {
            Some((_, text)) => Move::Batched(text),
            None => self.next_move(request),
        };
        let (text, tool_calls) = match next {
            Move::Batched(text) => (text, Vec::new()),
            Move::Plain => (format!("{said} to: {}", excerpt(&message, 120)), Vec::new()),
            Move::Answer(text) => (format!("{said}.\n\n{text}"), Vec::new()),
            Move::Call(name, arguments) => {
                let call = ToolCall {
                    id: format!("sim-{n}"),
                    name: name.to_owned(),
                    arguments,
                };
                (String::new(), vec![call])
            }
        };
        let stop_reason = if tool_calls.is_empty() {
            StopReason::EndTurn
        } else {
            StopReason::ToolUse
        };
        let streamed = request.stream
            && tool_calls.is_empty()
            && unit_interval(splitmix64(draw)) < self.config.script.stream;
        let outcome = Ok(Completion {
            model: request.model.clone(),
            text,
            tool_calls,
            stop_reason,
            usage: Usage {
                input_tokens,
                output_tokens,
                ..Usage::default()
            },
            simulated: true,
        });
        Ok(if streamed {
            Prepared::SimulatedStream { delay_ms, outcome }
        } else {
            Prepared::Simulated { delay_ms, outcome }
        })
    }
}

impl Sim {
    /// What the model does on this call: a task call follows the script, anything else
    /// answers plainly.
    fn next_move(&mut self, request: &CompletionRequest) -> Move {
        if !script::is_task_call(request) {
            return Move::Plain;
        }
        let prompt = request
            .messages
            .first()
            .map(|m| m.text())
            .unwrap_or_default();
        let title = prompt.lines().next().unwrap_or_default();
        let deal = || {
            self.dealt += 1;
            self.config.script.deal(self.config.seed, self.dealt - 1)
        };
        script::next_move(request, deal, title)
    }
}

hypernet_plugin_api::register_provider!(Sim, "sim");
hypernet_plugin_api::export_plugin!();

#[cfg(test)]
mod tests {
    use super::*;
    use hypernet_plugin_api::provider::{Message, ToolSpec};
    use hypernet_plugin_api::testing::TestHost;

    fn sim(config: serde_json::Value) -> Sim {
        let config: Config = serde_json::from_value(config).unwrap();
        Sim::validate(&config).unwrap();
        Sim::start(config, TestHost::new("provider-sim").host()).unwrap()
    }

    fn outcomes(s: &mut Sim, n: usize) -> Vec<(u64, bool)> {
        let req = CompletionRequest::new("sim/default", vec![Message::user("Write the report")]);
        (0..n)
            .map(|_| match s.prepare(&req).unwrap() {
                Prepared::Simulated { delay_ms, outcome } => (delay_ms, outcome.is_ok()),
                other => panic!("expected a plain simulation, got {other:?}"),
            })
            .collect()
    }

    #[test]
    fn same_seed_same_run_other_seed_other_run() {
        let cfg =
            serde_json::json!({"latency_ms": 10, "jitter_ms": 40, "failure_rate": 0.3, "seed": 7});
        let a = outcomes(&mut sim(cfg.clone()), 200);
        assert_eq!(a, outcomes(&mut sim(cfg), 200));
        let b = outcomes(
            &mut sim(
                serde_json::json!({"latency_ms": 10, "jitter_ms": 40, "failure_rate": 0.3, "seed": 8}),
            ),
            200,
        );
        assert_ne!(a, b);
        assert!(a.iter().all(|(d, _)| (10..=50).contains(d)));
    }

    #[test]
    fn failure_rate_is_respected() {
        let runs = outcomes(&mut sim(serde_json::json!({"failure_rate": 0.25})), 4000);
        let failures = runs.iter().filter(|(_, ok)| !ok).count() as f64 / 4000.0;
        assert!((0.22..0.28).contains(&failures), "{failures}");
        assert!(
            outcomes(&mut sim(serde_json::json!({})), 100)
                .iter()
                .all(|(_, ok)| *ok)
        );
    }

    #[test]
    fn answers_are_labelled_and_counted() {
        let mut s = sim(serde_json::json!({"output_tokens": 500, "input_tokens": 9}));
        let mut req = CompletionRequest::new("sim/x", vec![Message::user("hello")]);
        req.max_tokens = 100;
        let Prepared::Simulated { outcome: Ok(c), .. } = s.prepare(&req).unwrap() else {
            panic!("expected a simulated completion")
        };
        assert!(c.simulated);
        assert!(c.text.starts_with("SIMULATED"));
        assert!(c.text.ends_with("hello"));
        assert_eq!((c.usage.input_tokens, c.usage.output_tokens), (9, 100));
    }

    fn scripted() -> Sim {
        sim(serde_json::json!({"script": {
            "refusal": 1, "tools": 1, "question": 1, "approval": 1, "signal": 1, "plain": 1,
            "stream": 1.0
        }}))
    }

    fn task_request(title: &str) -> CompletionRequest {
        let mut req = CompletionRequest::new("sim/x", vec![Message::user(title)]);
        req.tools = ["list_files", "write_file", "send_message"]
            .map(|name| ToolSpec {
                name: name.into(),
                description: String::new(),
                input_schema: serde_json::json!({}),
            })
            .to_vec();
        req.stream = true;
        req
    }

    fn completion(prepared: Prepared) -> (bool, Completion) {
        match prepared {
            Prepared::Simulated { outcome, .. } => (false, outcome.unwrap()),
            Prepared::SimulatedStream { outcome, .. } => (true, outcome.unwrap()),
            Prepared::Http { .. } => panic!("sim made an HTTP request"),
        }
    }

    #[test]
    fn task_calls_follow_the_script_and_stream_their_answers() {
        let mut s = scripted();
        let mut seen = Vec::new();
        for n in 0..6 {
            let (streamed, c) = completion(s.prepare(&task_request(&format!("Task {n}"))).unwrap());
            assert!(c.simulated && (c.text.is_empty() || c.text.starts_with("SIMULATED")));
            let what = match c.tool_calls.first() {
                Some(call) => {
                    assert!(!streamed, "a tool call is not streamed");
                    assert_eq!(c.stop_reason, StopReason::ToolUse);
                    call.name.clone()
                }
                None => {
                    assert!(streamed, "every answer streams at stream = 1.0");
                    let kind = c
                        .text
                        .split("\"type\":\"")
                        .nth(1)
                        .map(|k| k.split('"').next().unwrap());
                    kind.unwrap_or("plain").to_owned()
                }
            };
            seen.push(what);
        }
        assert_eq!(
            seen,
            [
                "task_rejection",
                "list_files",
                "clarification_needed",
                "send_message",
                "low_confidence",
                "plain"
            ]
        );
    }

    #[test]
    fn calls_without_tools_and_unstreamed_requests_stay_plain() {
        let mut s = scripted();
        let mut req = CompletionRequest::new("sim/x", vec![Message::user("boot turn")]);
        req.stream = true;
        for _ in 0..6 {
            let (streamed, c) = completion(s.prepare(&req).unwrap());
            assert!(c.tool_calls.is_empty() && !c.text.contains("```signal"));
            assert!(streamed);
        }
        let mut req = task_request("Task");
        req.stream = false;
        let (streamed, _) = completion(s.prepare(&req).unwrap());
        assert!(!streamed, "the host did not ask for a stream");
    }

    #[test]
    fn a_batched_prompt_is_answered_in_its_format_with_an_answer_s_tokens_each() {
        let mut s = sim(serde_json::json!({"output_tokens": 50}));
        let prompt = "Below are 2 separate tasks, each in a <task> block with its id.\n\n\
            <task id=\"T-1\">\nWrite the intro\n</task>\n\n<task id=\"T-2\">\nFix a link\n</task>\n\n";
        let mut req = CompletionRequest::new("sim/x", vec![Message::user(prompt)]);
        req.max_tokens = 1_000;
        let (_, c) = completion(s.prepare(&req).unwrap());
        let blocks: Vec<&str> = c
            .text
            .split("</answer>\n")
            .filter(|b| !b.is_empty())
            .collect();
        assert_eq!(blocks.len(), 2, "{}", c.text);
        assert!(
            blocks[0].starts_with("<answer task=\"T-1\">\nSIMULATED")
                && blocks[0].ends_with("to: Write the intro\n")
        );
        assert!(
            blocks[1].starts_with("<answer task=\"T-2\">\n")
                && blocks[1].ends_with("to: Fix a link\n")
        );
        assert_eq!(c.usage.output_tokens, 100);
        req.max_tokens = 60;
        let (_, c) = completion(s.prepare(&req).unwrap());
        assert_eq!(c.usage.output_tokens, 60, "within the request's limit");
    }

    #[test]
    fn rejects_out_of_range_failure_rate() {
        let config: Config =
            serde_json::from_value(serde_json::json!({"failure_rate": 1.5})).unwrap();
        assert!(
            Sim::validate(&config)
                .unwrap_err()
                .to_string()
                .contains("failure_rate")
        );
    }
}
