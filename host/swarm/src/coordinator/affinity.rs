//! How well a worker fits a task, and which task a worker picks.
//!
//! Affinity (0.0 to 1.0) is the sum of four parts, capped at 1:
//!
//! - tag overlap: `|T∩W| / |T| · 0.4`, where `T` is the task's distinct tags and `W` the
//!   worker's capabilities (compared ignoring ASCII case); `0.2` when the task has no tags;
//! - capability strength: the mean strength of the worker's capabilities `· 0.2`. A listed
//!   capability has strength 1.0, so a worker with any capability scores the full 0.2 and a
//!   worker with none scores 0;
//! - success rate `· 0.2` (completed share of finished attempts, 1.0 with no history);
//! - load: `0.2` when idle, `0.1` when it holds one task (its next call is then reserved),
//!   0 beyond.
//!
//! A worker picks the task with the highest `0.6 · affinity + 0.4 · priority / 400`
//! (priority weights: low 100, normal 200, high 300, critical 400).

use hypernet_plugin_api::Priority;

/// Strength of a capability a worker lists.
pub const LISTED_STRENGTH: f64 = 1.0;

/// What affinity needs to know of a worker.
#[derive(Debug, Clone, Copy)]
pub struct Fit<'a> {
    /// Its capabilities.
    pub capabilities: &'a [String],
    /// Completed share of finished attempts (1.0 with no history).
    pub success_rate: f64,
    /// Tasks it holds (0 when idle).
    pub load: usize,
}

/// The tag-overlap part: `|T∩W| / |T| · 0.4`, or 0.2 for an untagged task.
pub fn tag_part(tags: &[String], capabilities: &[String]) -> f64 {
    let mut distinct = 0usize;
    let mut hits = 0usize;
    for (i, t) in tags.iter().enumerate() {
        if tags[..i].iter().any(|u| u.eq_ignore_ascii_case(t)) {
            continue;
        }
        distinct += 1;
        if capabilities.iter().any(|c| c.eq_ignore_ascii_case(t)) {
            hits += 1;
        }
    }
    if distinct == 0 {
        0.2
    } else {
        hits as f64 / distinct as f64 * 0.4
    }
}

/// Everything but the tag overlap: capability strength, success rate and load.
pub fn worker_part(fit: &Fit<'_>) -> f64 {
    let strength = if fit.capabilities.is_empty() {
        0.0
    } else {
        LISTED_STRENGTH
    };
    let load = match fit.load {
        0 => 0.2,
        1 => 0.1,
        _ => 0.0,
    };
    strength * 0.2 + fit.success_rate.clamp(0.0, 1.0) * 0.2 + load
}

/// Affinity of a worker to a task with `tags`.
pub fn affinity(tags: &[String], fit: &Fit<'_>) -> f64 {
    (tag_part(tags, fit.capabilities) + worker_part(fit)).min(1.0)
}

/// The score by which a worker picks a task.
pub fn pick_score(affinity: f64, priority: Priority) -> f64 {
    0.6 * affinity + 0.4 * f64::from(priority.weight()) / 400.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-9, "{a} != {b}");
    }

    #[test]
    fn each_part_has_its_exact_weight() {
        let caps = s(&["code", "Review"]);
        let idle = Fit {
            capabilities: &caps,
            success_rate: 1.0,
            load: 0,
        };
        // Half the tags match (the repeated tag counts once): 0.2 + 0.2 + 0.2 + 0.2.
        close(
            affinity(&s(&["code", "docs", "CODE", "review", "x"]), &idle),
            0.8,
        );
        close(tag_part(&s(&["code", "docs"]), &caps), 0.2);
        close(tag_part(&s(&["review"]), &caps), 0.4);
        close(tag_part(&s(&["docs"]), &caps), 0.0);
        close(tag_part(&[], &caps), 0.2);
        // Full overlap, idle, perfect record: capped at 1.
        close(affinity(&s(&["code"]), &idle), 1.0);
        let busy = Fit {
            capabilities: &caps,
            success_rate: 0.5,
            load: 1,
        };
        close(affinity(&s(&["docs"]), &busy), 0.2 + 0.1 + 0.1);
        let loaded = Fit { load: 2, ..busy };
        close(affinity(&s(&["docs"]), &loaded), 0.3);
        let none = Fit {
            capabilities: &[],
            success_rate: 1.0,
            load: 0,
        };
        close(affinity(&s(&["code"]), &none), 0.4);
        close(affinity(&[], &none), 0.6);
    }

    #[test]
    fn pick_score_weighs_affinity_and_priority() {
        close(pick_score(1.0, Priority::Critical), 1.0);
        close(pick_score(0.5, Priority::Normal), 0.5);
        close(pick_score(0.0, Priority::Low), 0.1);
        // A perfect fit at normal priority beats a poor fit at critical priority.
        assert!(pick_score(1.0, Priority::Normal) > pick_score(0.4, Priority::Critical));
    }
}
