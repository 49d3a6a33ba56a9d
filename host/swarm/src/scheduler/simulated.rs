//! A simulated call ([`Prepared::Simulated`], [`Prepared::SimulatedStream`]): no network,
//! but otherwise treated as a real one. Its latency is waited out asynchronously; a
//! streamed one hands its text to the watchers piece by piece over that time; and a
//! transient error is retried under the same rules as an HTTP call's, the provider asked
//! again for each retry (its next outcome), so a simulator's occasional 503 shows the
//! host's retries instead of failing the task.

use super::call::ask_provider;
use hypernet_engine::Registry;
use hypernet_llm::{CallError, Decision, RetryPolicy, TextSink, retry};
use hypernet_plugin_api::provider::{Completion, CompletionRequest, Prepared, ProviderError};
use std::time::{Duration, Instant};

/// One simulated answer: its latency, whether it streams, and what it ends with.
pub struct Simulation {
    /// Latency.
    pub delay: Duration,
    /// Whether the text is handed out as it would stream.
    pub streamed: bool,
    /// The completion or error at the end.
    pub outcome: Result<Completion, ProviderError>,
}

impl Simulation {
    /// The simulation a provider prepared, if it is one.
    pub fn of(prepared: Prepared) -> Option<Simulation> {
        let (delay_ms, streamed, outcome) = match prepared {
            Prepared::Simulated { delay_ms, outcome } => (delay_ms, false, outcome),
            Prepared::SimulatedStream { delay_ms, outcome } => (delay_ms, true, outcome),
            Prepared::Http { .. } => return None,
        };
        Some(Simulation {
            delay: Duration::from_millis(delay_ms),
            streamed,
            outcome,
        })
    }
}

/// Plays `first` (and the retries its transient errors allow, each prepared anew by
/// `provider`) to a completion, the streamed text going to `output`.
pub async fn play(
    registry: &Registry,
    policy: &RetryPolicy,
    provider: &str,
    request: &CompletionRequest,
    first: Simulation,
    mut output: Option<&mut dyn TextSink>,
) -> Result<Completion, CallError> {
    let mut simulation = first;
    let mut retries = 0;
    loop {
        let sink: Option<&mut dyn TextSink> = match (&mut output, simulation.streamed) {
            (Some(sink), true) => Some(&mut **sink),
            _ => None,
        };
        let error = match wait(simulation, sink).await {
            Ok(completion) => return Ok(completion),
            Err(error) => error,
        };
        match policy.decide(&error, retries, retry::unit_random()) {
            Decision::Retry(wait) => {
                retries += 1;
                tracing::info!(
                    provider,
                    attempt = retries,
                    wait_ms = wait.as_millis() as u64,
                    error = %error,
                    "retrying simulated model call"
                );
                tokio::time::sleep(wait).await;
            }
            Decision::GiveUp(_) => return Err(CallError::Provider(error)),
        }
        let prepared = ask_provider(registry, provider, request).await?;
        simulation = Simulation::of(prepared).ok_or_else(|| {
            CallError::Host(format!(
                "provider `{provider}` answered a retry of a simulated call with an HTTP request"
            ))
        })?;
    }
}

/// Waits out one simulation, streaming its text to `sink` when given.
async fn wait(
    simulation: Simulation,
    sink: Option<&mut dyn TextSink>,
) -> Result<Completion, ProviderError> {
    let Simulation { delay, outcome, .. } = simulation;
    let (Some(sink), Ok(completion)) = (sink, &outcome) else {
        super::precise_sleep::sleep(delay).await;
        return outcome;
    };
    let pieces = pieces(&completion.text);
    // The first piece after a share of the latency, as a first token would come; the rest
    // evenly over what is left.
    let gap = delay / (pieces.len() as u32 + 1);
    for piece in pieces {
        super::precise_sleep::sleep(gap).await;
        sink.text(piece, Instant::now());
    }
    super::precise_sleep::sleep(gap).await;
    sink.flush(Instant::now());
    outcome
}

/// The text in the pieces a model would stream it in: a few words each, spaces kept, so
/// the pieces joined are the text.
pub fn pieces(text: &str) -> Vec<&str> {
    const WORDS: usize = 3;
    let mut out = Vec::new();
    let mut start = 0;
    let mut words = 0;
    let mut in_word = false;
    for (i, c) in text.char_indices() {
        let space = c.is_whitespace();
        if in_word && space {
            words += 1;
            if words == WORDS {
                out.push(&text[start..i]);
                start = i;
                words = 0;
            }
        }
        in_word = !space;
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_join_to_the_text() {
        let text = "SIMULATED answer: one two  three four\nfive six seven";
        let p = pieces(text);
        assert_eq!(p.concat(), text);
        assert_eq!(p[0], "SIMULATED answer: one");
        assert!(p.len() >= 3, "{p:?}");
        assert!(pieces("").is_empty());
        assert_eq!(pieces("word"), ["word"]);
    }

    #[derive(Default)]
    struct Collect(Vec<String>, usize);
    impl TextSink for Collect {
        fn text(&mut self, text: &str, _: Instant) {
            self.0.push(text.to_owned());
        }
        fn due(&self) -> Option<Instant> {
            None
        }
        fn flush(&mut self, _: Instant) {
            self.1 += 1;
        }
    }

    fn completion(text: &str) -> Completion {
        Completion {
            model: "sim/x".into(),
            text: text.into(),
            tool_calls: Vec::new(),
            stop_reason: hypernet_plugin_api::provider::StopReason::EndTurn,
            usage: Default::default(),
            simulated: true,
        }
    }

    #[tokio::test]
    async fn a_streamed_simulation_hands_out_its_text_over_its_latency() {
        let text = "one two three four five six seven eight nine ten";
        let mut sink = Collect::default();
        let started = Instant::now();
        let done = wait(
            Simulation {
                delay: Duration::from_millis(40),
                streamed: true,
                outcome: Ok(completion(text)),
            },
            Some(&mut sink),
        )
        .await
        .unwrap();
        assert!(started.elapsed() >= Duration::from_millis(35));
        assert_eq!(done.text, text);
        assert_eq!(sink.0.len(), 4);
        assert_eq!(sink.0.concat(), text);
        assert_eq!(sink.1, 1, "flushed once at the end");
    }

    #[tokio::test]
    async fn an_error_or_an_unwatched_call_streams_nothing() {
        let mut sink = Collect::default();
        let error = wait(
            Simulation {
                delay: Duration::ZERO,
                streamed: true,
                outcome: Err(ProviderError::Server {
                    status: 503,
                    message: "down".into(),
                }),
            },
            Some(&mut sink),
        )
        .await;
        assert!(error.is_err());
        assert!(sink.0.is_empty());
    }
}
