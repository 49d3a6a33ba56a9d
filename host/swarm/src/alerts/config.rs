//! `[alerts]` in `hypernet.toml`: which anomalies are told, their thresholds, and when the
//! briefs go out.
//!
//! ```toml
//! [alerts]
//! off = []                    # alert kinds switched off for everyone
//! budget_warning = 0.8        # share of the daily or session limit that warns
//! stuck_after_mins = 30.0     # a task running, assigned or ready this long is stuck
//! failure_window = 20         # the last finished tasks the failure rate is measured over
//! failure_rate = 0.5          # failed share of them above which an alert goes out
//! collapse_mins = 60.0        # the same alert again within this long is counted, not sent
//! morning = "08:00"           # the morning brief, local time
//! evening = "18:00"           # the evening recap, local time
//! # timezone = "Europe/Paris" # IANA name; default: the machine's zone
//! remind_every_hours = 4.0    # reminder of waiting questions and approvals
//! ```

use super::schedule::{LocalTime, Zone};
use serde::{Deserialize, Serialize};

/// One kind of alert; each can be switched off for everyone (`[alerts] off`) or for one
/// person (`alerts_off` in their `[[person]]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// The failure ladder's circuit breaker opened: no paid call starts.
    BreakerOpened,
    /// A worker was suspended by the failure ladder.
    WorkerSuspended,
    /// A plugin panicked and was marked failed.
    PluginFailed,
    /// Spend crossed `budget_warning` of the daily or session limit.
    BudgetWarning,
    /// A paid call would cross a limit: paid work waits.
    BudgetExhausted,
    /// A task running, assigned or ready for longer than `stuck_after_mins`.
    TaskStuck,
    /// More than `failure_rate` of the last `failure_window` finished tasks failed.
    FailureRate,
}

impl AlertKind {
    /// Every kind.
    pub const ALL: [AlertKind; 7] = [
        AlertKind::BreakerOpened,
        AlertKind::WorkerSuspended,
        AlertKind::PluginFailed,
        AlertKind::BudgetWarning,
        AlertKind::BudgetExhausted,
        AlertKind::TaskStuck,
        AlertKind::FailureRate,
    ];

    /// The name used in the config and in message tags (`breaker_opened`).
    pub fn name(self) -> &'static str {
        match self {
            AlertKind::BreakerOpened => "breaker_opened",
            AlertKind::WorkerSuspended => "worker_suspended",
            AlertKind::PluginFailed => "plugin_failed",
            AlertKind::BudgetWarning => "budget_warning",
            AlertKind::BudgetExhausted => "budget_exhausted",
            AlertKind::TaskStuck => "task_stuck",
            AlertKind::FailureRate => "failure_rate",
        }
    }
}

impl std::fmt::Display for AlertKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `[alerts]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// Alert kinds switched off for everyone.
    pub off: Vec<AlertKind>,
    /// Share of the daily or session limit whose crossing warns (0 to 1, exclusive).
    pub budget_warning: f64,
    /// Minutes a task may be running, assigned or ready before it is reported stuck.
    pub stuck_after_mins: f64,
    /// How many of the last finished tasks the failure rate is measured over.
    pub failure_window: usize,
    /// The failed share of them above which an alert goes out.
    pub failure_rate: f64,
    /// Minutes within which the same alert (kind and subject) is counted, not sent again.
    pub collapse_mins: f64,
    /// The morning brief's local time, `HH:MM`.
    pub morning: String,
    /// The evening recap's local time, `HH:MM`.
    pub evening: String,
    /// The IANA time zone of those times (default: the machine's).
    pub timezone: Option<String>,
    /// Hours between two reminders of waiting questions and approvals (fractions allowed).
    pub remind_every_hours: f64,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            off: Vec::new(),
            budget_warning: 0.8,
            stuck_after_mins: 30.0,
            failure_window: 20,
            failure_rate: 0.5,
            collapse_mins: 60.0,
            morning: "08:00".into(),
            evening: "18:00".into(),
            timezone: None,
            remind_every_hours: 4.0,
        }
    }
}

/// `[alerts]` read into what the service uses: durations in milliseconds, times parsed,
/// the zone found.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Kinds switched off for everyone.
    pub off: Vec<AlertKind>,
    /// Share of a limit that warns.
    pub budget_warning: f64,
    /// A task in one status this long is stuck.
    pub stuck_after_ms: u64,
    /// Finished tasks the failure rate is measured over.
    pub failure_window: usize,
    /// Failed share above which an alert goes out.
    pub failure_rate: f64,
    /// Repeats within this long are counted.
    pub collapse_ms: u64,
    /// The morning brief.
    pub morning: LocalTime,
    /// The evening recap.
    pub evening: LocalTime,
    /// The zone of both.
    pub zone: Zone,
    /// Between two reminders.
    pub remind_every_ms: u64,
}

fn minutes_ms(minutes: f64) -> u64 {
    (minutes * 60_000.0).round() as u64
}

impl AlertsConfig {
    /// Checks every key; errors name it.
    pub fn validate(&self) -> Result<(), String> {
        self.settings().map(|_| ())
    }

    /// The settings (the config checked by [`AlertsConfig::validate`]).
    pub fn settings(&self) -> Result<Settings, String> {
        let positive = |key: &str, value: f64| {
            if value.is_finite() && value > 0.0 {
                Ok(value)
            } else {
                Err(format!("`alerts.{key}` must be above 0, not {value}"))
            }
        };
        if !(self.budget_warning > 0.0 && self.budget_warning < 1.0) {
            return Err(format!(
                "`alerts.budget_warning` must be above 0 and below 1, not {}",
                self.budget_warning
            ));
        }
        if !(self.failure_rate >= 0.0 && self.failure_rate < 1.0) {
            return Err(format!(
                "`alerts.failure_rate` must be at least 0 and below 1, not {}",
                self.failure_rate
            ));
        }
        if !(1..=10_000).contains(&self.failure_window) {
            return Err(format!(
                "`alerts.failure_window` must be between 1 and 10000, not {}",
                self.failure_window
            ));
        }
        if !(self.collapse_mins.is_finite() && self.collapse_mins >= 0.0) {
            return Err(format!(
                "`alerts.collapse_mins` must be at least 0, not {}",
                self.collapse_mins
            ));
        }
        let time = |key: &str, text: &str| {
            LocalTime::parse(text).ok_or_else(|| {
                format!(
                    "`alerts.{key}` must be a time of day, HH:MM from 00:00 to 23:59, not `{text}`"
                )
            })
        };
        let zone = match &self.timezone {
            Some(name) => Zone::named(name).map_err(|e| {
                format!("`alerts.timezone`: `{name}` is not a known IANA time zone ({e})")
            })?,
            None => Zone::system(),
        };
        Ok(Settings {
            off: self.off.clone(),
            budget_warning: self.budget_warning,
            stuck_after_ms: minutes_ms(positive("stuck_after_mins", self.stuck_after_mins)?),
            failure_window: self.failure_window,
            failure_rate: self.failure_rate,
            collapse_ms: minutes_ms(self.collapse_mins),
            morning: time("morning", &self.morning)?,
            evening: time("evening", &self.evening)?,
            zone,
            remind_every_ms: minutes_ms(
                positive("remind_every_hours", self.remind_every_hours)? * 60.0,
            )
            .max(1),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::config::HostConfig;

    fn err(text: &str) -> String {
        HostConfig::parse(text, "h.toml").unwrap_err().to_string()
    }

    #[test]
    fn defaults_and_fractions() {
        let c = HostConfig::parse("", "h").unwrap().alerts;
        let s = c.settings().unwrap();
        assert_eq!(s.stuck_after_ms, 30 * 60_000);
        assert_eq!(s.collapse_ms, 3_600_000);
        assert_eq!(s.remind_every_ms, 4 * 3_600_000);
        assert_eq!(
            (s.failure_window, s.morning.to_string()),
            (20, "08:00".into())
        );
        let c = HostConfig::parse(
            "[alerts]\nremind_every_hours = 0.001\nstuck_after_mins = 1\ntimezone = \"Europe/Paris\"\noff = [\"task_stuck\"]\n",
            "h",
        )
        .unwrap()
        .alerts;
        let s = c.settings().unwrap();
        assert_eq!((s.remind_every_ms, s.stuck_after_ms), (3_600, 60_000));
        assert_eq!(s.zone.name(), "Europe/Paris");
        assert_eq!(s.off, [super::AlertKind::TaskStuck]);
    }

    #[test]
    fn bad_values_name_their_key() {
        let e = err("[alerts]\nmorning = \"25:00\"\n");
        assert!(
            e.contains("`alerts.morning` must be a time of day") && e.contains("`25:00`"),
            "{e}"
        );
        let e = err("[alerts]\nevening = \"6pm\"\n");
        assert!(e.contains("`alerts.evening`") && e.contains("`6pm`"), "{e}");
        let e = err("[alerts]\ntimezone = \"Mars/Olympus\"\n");
        assert!(
            e.contains("`alerts.timezone`: `Mars/Olympus` is not a known IANA time zone"),
            "{e}"
        );
        let e = err("[alerts]\noff = [\"budget_warning\", \"gossip\"]\n");
        assert!(
            e.contains("gossip") && e.contains("off") && e.contains("line 2"),
            "{e}"
        );
        let e = err("[alerts]\nbudget_warning = 1.5\n");
        assert!(
            e.contains("`alerts.budget_warning` must be above 0 and below 1, not 1.5"),
            "{e}"
        );
        let e = err("[alerts]\nremind_every_hours = 0\n");
        assert!(
            e.contains("`alerts.remind_every_hours` must be above 0"),
            "{e}"
        );
        let e = err("[alerts]\nfailure_window = 0\n");
        assert!(
            e.contains("`alerts.failure_window` must be between 1 and 10000"),
            "{e}"
        );
        let e = err("[alerts]\nfailure_rate = 1\n");
        assert!(e.contains("`alerts.failure_rate`"), "{e}");
        let e = err("[alerts]\nstuck_after_mins = -1\n");
        assert!(
            e.contains("`alerts.stuck_after_mins` must be above 0"),
            "{e}"
        );
        let e = err("[alerts]\ncollapse_mins = -1\n");
        assert!(
            e.contains("`alerts.collapse_mins` must be at least 0"),
            "{e}"
        );
        let e = err("[alerts]\nbudget = 1\n");
        assert!(e.contains("unknown field `budget`"), "{e}");
        let e = err("[[person]]\nname = \"a\"\nalerts_off = [\"gossip\"]\n");
        assert!(e.contains("gossip") && e.contains("alerts_off"), "{e}");
    }
}
