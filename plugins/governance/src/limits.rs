//! Governance-adjustable soft/hard limits: at or above soft → warning, at or above hard →
//! blocked.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One limit's two levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    /// From this value on, a warning.
    pub soft: u64,
    /// From this value on, blocked.
    pub hard: u64,
}

/// What a value means against a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Below soft.
    Ok,
    /// At or above soft, below hard.
    Warning,
    /// At or above hard.
    Blocked,
}

/// Limits by name.
pub type Limits = BTreeMap<String, Limit>;

/// The built-in limits: max_concurrent_workers 15/30, max_task_queue_depth 200/500.
pub fn defaults() -> Limits {
    BTreeMap::from([
        (
            "max_concurrent_workers".into(),
            Limit { soft: 15, hard: 30 },
        ),
        (
            "max_task_queue_depth".into(),
            Limit {
                soft: 200,
                hard: 500,
            },
        ),
    ])
}

impl Limit {
    /// Refuses a soft level above the hard one.
    pub fn check(&self, name: &str) -> Result<(), String> {
        if name.trim().is_empty() {
            return Err("a limit needs a non-empty name".into());
        }
        if self.soft > self.hard {
            return Err(format!(
                "limit `{name}`: soft {} is above hard {}",
                self.soft, self.hard
            ));
        }
        Ok(())
    }

    /// Classifies a value.
    pub fn level(&self, value: u64) -> Level {
        if value >= self.hard {
            Level::Blocked
        } else if value >= self.soft {
            Level::Warning
        } else {
            Level::Ok
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_at_the_boundaries() {
        let l = defaults()["max_concurrent_workers"];
        assert_eq!(l.level(14), Level::Ok);
        assert_eq!(l.level(15), Level::Warning);
        assert_eq!(l.level(29), Level::Warning);
        assert_eq!(l.level(30), Level::Blocked);
        let q = defaults()["max_task_queue_depth"];
        assert_eq!((q.soft, q.hard), (200, 500));
        assert_eq!(q.level(199), Level::Ok);
        assert_eq!(q.level(500), Level::Blocked);
    }

    #[test]
    fn refuses_soft_above_hard() {
        let err = Limit { soft: 5, hard: 4 }.check("x").unwrap_err();
        assert_eq!(err, "limit `x`: soft 5 is above hard 4");
        assert!(Limit { soft: 4, hard: 4 }.check("x").is_ok());
    }
}
