//! How long model calls take, by model and outcome, kept as histograms for `GET /metrics`.
//! Every other figure there is read from the scheduler's snapshot when scraped; only call
//! durations are observed as they happen.

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::time::Duration;

/// How a call ended: `ok` or `error`.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum Outcome {
    /// The model answered.
    Ok,
    /// The call failed (after the executor's retries) or timed out.
    Error,
}

impl EncodeLabelValue for Outcome {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        use std::fmt::Write;
        encoder.write_str(match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
        })
    }
}

/// The labels of one histogram.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    /// The model called.
    pub model: String,
    /// How the call ended.
    pub outcome: Outcome,
}

type Histograms = Family<CallLabels, Histogram, fn() -> Histogram>;

/// Call durations since the host started. Cheap to clone (the histograms are shared).
#[derive(Debug, Clone)]
pub struct CallMetrics {
    seconds: Histograms,
}

impl Default for CallMetrics {
    fn default() -> Self {
        CallMetrics {
            seconds: Family::new_with_constructor(new_histogram),
        }
    }
}

/// Buckets from 50 ms to about 100 s, doubling.
fn new_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.05, 2.0, 12))
}

impl CallMetrics {
    /// Records one call to `model` that took `took`.
    pub fn observe(&self, model: &str, outcome: Outcome, took: Duration) {
        self.seconds
            .get_or_create(&CallLabels {
                model: model.to_owned(),
                outcome,
            })
            .observe(took.as_secs_f64());
    }

    /// Adds the histograms to `registry` (as `<prefix>_model_call_seconds`).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "model_call_seconds",
            "How long model calls took, from the request to the whole answer, by model and outcome",
            self.seconds.clone(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_land_in_their_model_and_outcome_buckets() {
        let metrics = CallMetrics::default();
        metrics.observe("sim/fast", Outcome::Ok, Duration::from_millis(70));
        metrics.observe("sim/fast", Outcome::Ok, Duration::from_millis(30));
        metrics.observe("sim/fast", Outcome::Error, Duration::from_secs(3));
        let mut registry = Registry::with_prefix("hypernet");
        metrics.register(&mut registry);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        let ok = r#"model="sim/fast",outcome="ok""#;
        assert!(
            text.contains(&format!("hypernet_model_call_seconds_count{{{ok}}} 2")),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "hypernet_model_call_seconds_bucket{{le=\"0.05\",{ok}}} 1"
            )),
            "{text}"
        );
        assert!(
            text.contains(
                r#"hypernet_model_call_seconds_count{model="sim/fast",outcome="error"} 1"#
            ),
            "{text}"
        );
    }
}
