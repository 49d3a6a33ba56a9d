//! What counts as an anomaly, as plain functions over events, the budget's figures and the
//! watched tasks:
//!
//! | kind | raised by | subject |
//! |---|---|---|
//! | `breaker_opened` | `breaker.opened` | `breaker` |
//! | `worker_suspended` | `worker.suspended` | the worker |
//! | `plugin_failed` | `plugin.failed` | the plugin |
//! | `budget_warning` | spend reaching `budget_warning` of the daily or session limit (once per crossing) | `daily`, `session` |
//! | `budget_exhausted` | `budget.exhausted` | `budget` |
//! | `task_stuck` | a task ready, assigned or running for `stuck_after_mins` (once per status) | the task |
//! | `failure_rate` | more than `failure_rate` of the last `failure_window` finished tasks failed (once per crossing) | `tasks` |

use super::config::{AlertKind, Settings};
use super::tracker::Tracker;
use crate::budget::BudgetView;
use hypernet_model::tasks::TaskStatus;
use serde_json::Value;
use std::collections::VecDeque;

/// One anomaly, before collapsing and sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// Its kind.
    pub kind: AlertKind,
    /// What it is about (collapsing keys on kind and subject).
    pub subject: String,
    /// What a person reads.
    pub text: String,
}

impl Alert {
    fn new(kind: AlertKind, subject: impl Into<String>, text: String) -> Alert {
        Alert {
            kind,
            subject: subject.into(),
            text,
        }
    }
}

/// Micro-dollars as dollars and cents (`$1.23`), in integers.
pub fn dollars(micros: u64) -> String {
    format!("${}.{:02}", micros / 1_000_000, micros % 1_000_000 / 10_000)
}

/// A duration in whole minutes or hours and minutes (`42 min`, `2 h 05 min`).
fn minutes(ms: u64) -> String {
    let m = ms / 60_000;
    if m < 60 {
        format!("{m} min")
    } else {
        format!("{} h {:02} min", m / 60, m % 60)
    }
}

/// At most this many stuck tasks are told one by one per check; the rest in one alert.
const STUCK_EACH: usize = 5;

/// The detectors' state: what was warned about, the last finished tasks.
#[derive(Debug)]
pub struct Detectors {
    settings: Settings,
    daily_warned: bool,
    session_warned: bool,
    /// The last finished tasks' outcomes, `true` for a failure; newest last.
    outcomes: VecDeque<bool>,
    rate_warned: bool,
}

impl Detectors {
    /// Nothing seen yet.
    pub fn new(settings: Settings) -> Detectors {
        Detectors {
            settings,
            daily_warned: false,
            session_warned: false,
            outcomes: VecDeque::new(),
            rate_warned: false,
        }
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    fn on(&self, kind: AlertKind) -> bool {
        !self.settings.off.contains(&kind)
    }

    /// The alerts a host event raises.
    pub fn event(&mut self, kind: &str, payload: &Value) -> Vec<Alert> {
        let text = |key: &str| payload[key].as_str().unwrap_or_default().to_owned();
        let clock = |key: &str| {
            payload[key]
                .as_u64()
                .map_or_else(|| "later".to_owned(), |ms| self.settings.zone.clock(ms))
        };
        let alert = match kind {
            "breaker.opened" => Alert::new(
                AlertKind::BreakerOpened,
                "breaker",
                format!(
                    "The circuit breaker opened after {} failed calls in a row: no paid call starts until {}, then one probe call decides.",
                    payload["consecutive_failures"].as_u64().unwrap_or_default(),
                    clock("until_ms")
                ),
            ),
            "worker.suspended" => Alert::new(
                AlertKind::WorkerSuspended,
                text("worker"),
                format!(
                    "Worker {} is suspended until {}: {}.",
                    text("worker"),
                    clock("until_ms"),
                    text("reason")
                ),
            ),
            "plugin.failed" => Alert::new(
                AlertKind::PluginFailed,
                text("plugin"),
                format!(
                    "Plugin {} failed and was stopped: {}. The host runs on without it (hypernet plugins enable {} starts it again).",
                    text("plugin"),
                    text("reason"),
                    text("plugin")
                ),
            ),
            "budget.exhausted" => Alert::new(
                AlertKind::BudgetExhausted,
                "budget",
                format!(
                    "The budget is exhausted ({}): paid work waits until the budget day turns at {} or a limit is raised.",
                    text("reason"),
                    clock("next_reset_ms")
                ),
            ),
            "task.completed" => return self.finished(false),
            "task.failed" if payload["retry_at_ms"].is_null() => return self.finished(true),
            _ => return Vec::new(),
        };
        if self.on(alert.kind) {
            vec![alert]
        } else {
            Vec::new()
        }
    }

    /// Records a finished task; raises the failure rate when it first goes above the
    /// threshold over a full window.
    fn finished(&mut self, failed: bool) -> Vec<Alert> {
        let window = self.settings.failure_window;
        self.outcomes.push_back(failed);
        while self.outcomes.len() > window {
            self.outcomes.pop_front();
        }
        let failures = self.outcomes.iter().filter(|f| **f).count();
        let above = self.outcomes.len() == window
            && failures as f64 > self.settings.failure_rate * window as f64;
        if !above {
            self.rate_warned = false;
            return Vec::new();
        }
        if self.rate_warned || !self.on(AlertKind::FailureRate) {
            return Vec::new();
        }
        self.rate_warned = true;
        vec![Alert::new(
            AlertKind::FailureRate,
            "tasks",
            format!(
                "{failures} of the last {window} finished tasks failed ({}%, above {}%).",
                failures * 100 / window,
                (self.settings.failure_rate * 100.0).round()
            ),
        )]
    }

    /// The budget warnings the latest figures raise: spend reaching the warning share of
    /// the daily or the session limit, once until it falls below again (a new day, a
    /// raised limit).
    pub fn budget(&mut self, view: &BudgetView) -> Vec<Alert> {
        let share = self.settings.budget_warning;
        let on = self.on(AlertKind::BudgetWarning);
        let mut out = Vec::new();
        let limits = [
            (
                "daily",
                "today",
                view.daily_limit_micros,
                view.spent_today_micros,
                &mut self.daily_warned,
            ),
            (
                "session",
                "since the host started",
                view.session_limit_micros,
                view.spent_session_micros,
                &mut self.session_warned,
            ),
        ];
        for (name, when, limit, spent, warned) in limits {
            let Some(limit) = limit.filter(|l| *l > 0) else {
                *warned = false;
                continue;
            };
            let reached = spent as f64 >= share * limit as f64;
            if reached && !*warned && on {
                out.push(Alert::new(
                    AlertKind::BudgetWarning,
                    name,
                    format!(
                        "{} spent {when}: {}% of the {name} limit of {}.",
                        dollars(spent),
                        spent.saturating_mul(100) / limit,
                        dollars(limit)
                    ),
                ));
            }
            *warned = reached;
        }
        out
    }

    /// Alerts for the tasks stuck since the last check.
    pub fn stuck(&self, tracker: &mut Tracker, now_ms: u64) -> Vec<Alert> {
        let stuck = tracker.newly_stuck(self.settings.stuck_after_ms, now_ms);
        if !self.on(AlertKind::TaskStuck) {
            return Vec::new();
        }
        let mut out: Vec<Alert> = stuck
            .iter()
            .take(STUCK_EACH)
            .map(|(id, t)| {
                let how = match (t.status, &t.worker) {
                    (TaskStatus::Ready, _) => "ready and not started".to_owned(),
                    (status, Some(w)) => format!("{status} on {w}"),
                    (status, None) => status.to_string(),
                };
                Alert::new(
                    AlertKind::TaskStuck,
                    id.to_string(),
                    format!(
                        "{id} \"{}\" has been {how} for {}.",
                        t.title,
                        minutes(now_ms.saturating_sub(t.since_ms))
                    ),
                )
            })
            .collect();
        if stuck.len() > STUCK_EACH {
            let rest: Vec<String> = stuck[STUCK_EACH..]
                .iter()
                .map(|(id, _)| id.to_string())
                .collect();
            out.push(Alert::new(
                AlertKind::TaskStuck,
                "more tasks",
                format!(
                    "{} more tasks have not moved for {}: {}.",
                    rest.len(),
                    minutes(self.settings.stuck_after_ms),
                    rest.join(", ")
                ),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::config::AlertsConfig;
    use serde_json::json;

    fn detectors(toml_text: &str) -> Detectors {
        let mut config: AlertsConfig = toml::from_str(toml_text).unwrap();
        config.timezone = Some("UTC".into());
        Detectors::new(config.settings().unwrap())
    }

    #[test]
    fn events_raise_alerts_with_their_subject() {
        let mut d = detectors("");
        let a = d.event(
            "breaker.opened",
            &json!({"until_ms": 3_600_000u64, "consecutive_failures": 5}),
        );
        assert_eq!(
            (a[0].kind, a[0].subject.as_str()),
            (AlertKind::BreakerOpened, "breaker")
        );
        assert!(
            a[0].text.contains("after 5 failed calls") && a[0].text.contains("until 01:00"),
            "{}",
            a[0].text
        );
        let a = d.event(
            "worker.suspended",
            &json!({"worker": "Coder", "until_ms": 60_000, "reason": "rate limited"}),
        );
        assert_eq!(a[0].subject, "Coder");
        assert_eq!(
            a[0].text,
            "Worker Coder is suspended until 00:01: rate limited."
        );
        let a = d.event(
            "plugin.failed",
            &json!({"plugin": "herald", "reason": "panicked"}),
        );
        assert_eq!(
            (a[0].kind, a[0].subject.as_str()),
            (AlertKind::PluginFailed, "herald")
        );
        let a = d.event(
            "budget.exhausted",
            &json!({"reason": "daily limit", "next_reset_ms": 0}),
        );
        assert_eq!(a[0].kind, AlertKind::BudgetExhausted);
        assert!(a[0].text.contains("daily limit") && a[0].text.contains("00:00"));
        assert!(
            d.event("worker.resumed", &json!({"worker": "Coder"}))
                .is_empty()
        );
        assert!(
            d.event("task.failed", &json!({"retry_at_ms": 5}))
                .is_empty()
        );
    }

    #[test]
    fn kinds_switched_off_raise_nothing() {
        let mut d = detectors(
            "off = [\"breaker_opened\", \"budget_warning\", \"failure_rate\", \"task_stuck\"]\nfailure_window = 1\n",
        );
        assert!(d.event("breaker.opened", &json!({})).is_empty());
        assert_eq!(
            d.event("worker.suspended", &json!({"worker": "A"})).len(),
            1
        );
        let view = BudgetView {
            daily_limit_micros: Some(100),
            spent_today_micros: 100,
            ..BudgetView::default()
        };
        assert!(d.budget(&view).is_empty());
        assert!(
            d.event("task.failed", &json!({"retry_at_ms": null}))
                .is_empty()
        );
        let mut tracker = Tracker::default();
        tracker.event("task.ready", &json!({"id": "T-1", "status": "ready"}), 0);
        assert!(d.stuck(&mut tracker, u64::MAX / 2).is_empty());
    }

    #[test]
    fn budget_warnings_once_per_crossing_for_each_limit() {
        let mut d = detectors("");
        let mut view = BudgetView {
            daily_limit_micros: Some(1_000_000),
            session_limit_micros: Some(10_000_000),
            spent_today_micros: 790_000,
            spent_session_micros: 790_000,
            ..BudgetView::default()
        };
        assert!(d.budget(&view).is_empty());
        view.spent_today_micros = 800_000;
        let a = d.budget(&view);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].subject, "daily");
        assert_eq!(
            a[0].text,
            "$0.80 spent today: 80% of the daily limit of $1.00."
        );
        view.spent_today_micros = 950_000;
        assert!(d.budget(&view).is_empty(), "once per crossing");
        // A new budget day: spend falls, the warning re-arms.
        view.spent_today_micros = 0;
        assert!(d.budget(&view).is_empty());
        view.spent_today_micros = 900_000;
        view.spent_session_micros = 8_000_000;
        let subjects: Vec<String> = d.budget(&view).into_iter().map(|a| a.subject).collect();
        assert_eq!(subjects, ["daily", "session"]);
        // No limit: never.
        let mut d = detectors("");
        assert!(
            d.budget(&BudgetView {
                spent_today_micros: u64::MAX,
                ..BudgetView::default()
            })
            .is_empty()
        );
    }

    #[test]
    fn failure_rate_over_a_full_window_once_per_crossing() {
        let mut d = detectors("failure_window = 4\nfailure_rate = 0.5\n");
        let failed = json!({"retry_at_ms": null});
        let done = json!({});
        // Three failures, but fewer than four tasks seen: nothing.
        for _ in 0..3 {
            assert!(d.event("task.failed", &failed).is_empty());
        }
        // Four seen, three failed: 75% > 50%.
        let a = d.event("task.completed", &done);
        assert_eq!(a.len(), 1);
        assert_eq!(
            a[0].text,
            "3 of the last 4 finished tasks failed (75%, above 50%)."
        );
        assert!(
            d.event("task.failed", &failed).is_empty(),
            "once per crossing"
        );
        // Down to 1 of 4, then 2 of 4 (exactly 50%: not above), then up again.
        d.event("task.completed", &done);
        assert!(d.event("task.completed", &done).is_empty());
        assert!(d.event("task.failed", &failed).is_empty());
        assert!(d.event("task.failed", &failed).is_empty());
        assert_eq!(d.event("task.failed", &failed).len(), 1);
    }

    #[test]
    fn stuck_tasks_one_by_one_then_grouped() {
        let d = detectors("stuck_after_mins = 30\n");
        let mut tracker = Tracker::default();
        tracker.event(
            "task.running",
            &json!({"id": "T-1", "status": "running", "title": "Build", "worker": "Coder"}),
            0,
        );
        tracker.event(
            "task.ready",
            &json!({"id": "T-2", "status": "ready", "title": "Wait"}),
            0,
        );
        assert!(d.stuck(&mut tracker, 29 * 60_000).is_empty());
        let a = d.stuck(&mut tracker, 95 * 60_000);
        assert_eq!(a.len(), 2);
        assert_eq!(
            a[0].text,
            "T-1 \"Build\" has been running on Coder for 1 h 35 min."
        );
        assert_eq!(
            a[1].text,
            "T-2 \"Wait\" has been ready and not started for 1 h 35 min."
        );
        assert_eq!(a[1].subject, "T-2");
        for i in 10..18 {
            tracker.event(
                "task.ready",
                &json!({"id": format!("T-{i}"), "status": "ready"}),
                100 * 60_000,
            );
        }
        let a = d.stuck(&mut tracker, 130 * 60_000);
        assert_eq!(a.len(), STUCK_EACH + 1);
        assert_eq!(
            a[STUCK_EACH].text,
            "3 more tasks have not moved for 30 min: T-15, T-16, T-17."
        );
    }
}
