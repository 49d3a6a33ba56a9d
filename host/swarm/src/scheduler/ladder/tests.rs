use super::*;

const MIN: u64 = 60_000;

fn ladder() -> Ladder {
    Ladder::new(LadderConfig::default())
}

fn suspended(changes: &[Change]) -> Option<(u64, String)> {
    changes.iter().find_map(|c| match c {
        Change::Suspended {
            until_ms, reason, ..
        } => Some((*until_ms, reason.clone())),
        _ => None,
    })
}

#[test]
fn credit_exhaustion_suspends_an_hour_for_anthropic_and_15_min_for_others() {
    let mut l = ladder();
    let c = l.failure(
        "A",
        "anthropic/claude-sonnet-4-5",
        false,
        Failure::CreditExhausted,
        1_000,
    );
    assert_eq!(
        suspended(&c),
        Some((1_000 + 60 * MIN, "credits exhausted".into()))
    );
    let c = l.failure("B", "openai/gpt-4o", false, Failure::CreditExhausted, 1_000);
    assert_eq!(suspended(&c).unwrap().0, 1_000 + 15 * MIN);
    assert!(l.is_suspended("A") && l.is_suspended("B") && !l.is_suspended("C"));
}

#[test]
fn a_rate_limit_suspends_15_minutes() {
    let mut l = ladder();
    let c = l.failure("A", "openai/gpt-4o", false, Failure::RateLimited, 5);
    assert_eq!(suspended(&c), Some((5 + 15 * MIN, "rate limited".into())));
}

#[test]
fn five_failures_in_a_row_suspend_and_a_success_resets_the_count() {
    let mut l = ladder();
    for _ in 0..4 {
        assert!(
            l.failure("A", "openai/x", false, Failure::Other, 0)
                .is_empty()
        );
    }
    l.success("A");
    for i in 0..4 {
        let c = l.failure("A", "openai/x", false, Failure::Other, i);
        assert!(suspended(&c).is_none(), "failure {i} after the reset");
    }
    let c = l.failure("A", "openai/x", false, Failure::Other, 100);
    assert_eq!(
        suspended(&c),
        Some((100 + 15 * MIN, "5 failures in a row".into()))
    );
}

#[test]
fn five_failures_swarm_wide_open_the_breaker_and_spread_ones_do_not_suspend() {
    let mut l = ladder();
    let mut opened = Vec::new();
    for (i, w) in ["A", "B", "C", "D", "E"].iter().enumerate() {
        opened.extend(l.failure(w, "openai/x", false, Failure::Other, i as u64));
    }
    assert_eq!(
        opened,
        vec![Change::BreakerOpened {
            until_ms: 4 + 30_000,
            consecutive_failures: 5
        }]
    );
    assert!(l.breaker_open() && !l.is_suspended("A"));
    assert_eq!(
        l.breaker_view(),
        BreakerView {
            open: true,
            until_ms: Some(30_004),
            consecutive_failures: 5
        }
    );
}

#[test]
fn breaker_formula_for_n_5_to_20() {
    let cfg = LadderConfig::default();
    let expected_s = [
        30, 30, 30, 30, 30, // 5..=9
        60, 60, 60, 60, 60, // 10..=14
        120, 120, 120, 120, 120, // 15..=19
        240, // 20
    ];
    for (i, s) in expected_s.iter().enumerate() {
        let n = 5 + i as u32;
        assert_eq!(cfg.breaker_ms(n), s * 1000, "n = {n}");
    }
    assert_eq!(cfg.breaker_ms(25), 300_000);
    assert_eq!(cfg.breaker_ms(500), 300_000);
}

#[test]
fn a_suspension_needs_a_successful_probe_and_a_failed_one_extends_it() {
    let mut l = ladder();
    l.failure("A", "openai/x", false, Failure::RateLimited, 0);
    assert!(l.due_probes(15 * MIN - 1).is_empty());
    assert_eq!(l.next_due(), Some(15 * MIN));
    let probes = l.due_probes(15 * MIN);
    assert_eq!(
        probes,
        vec![Probe {
            target: ProbeTarget::Worker("A".into()),
            model: "openai/x".into()
        }]
    );
    // In flight: not due again, still suspended.
    assert!(l.due_probes(20 * MIN).is_empty());
    assert!(l.is_suspended("A"));
    assert_eq!(l.next_due(), None);
    let target = ProbeTarget::Worker("A".into());
    let c = l.probe_result(&target, Err(Failure::CreditExhausted), 20 * MIN);
    assert_eq!(
        suspended(&c),
        Some((35 * MIN, "probe failed: credits exhausted".into()))
    );
    assert!(l.is_suspended("A"));
    assert_eq!(l.due_probes(35 * MIN).len(), 1);
    let c = l.probe_result(&target, Ok(()), 36 * MIN);
    assert_eq!(c, vec![Change::Resumed { worker: "A".into() }]);
    assert!(!l.is_suspended("A"));
    // A stale result changes nothing.
    assert!(l.probe_result(&target, Ok(()), 37 * MIN).is_empty());
}

#[test]
fn the_breaker_half_opens_one_probe_decides() {
    let mut l = ladder();
    for i in 0..5 {
        l.failure("A", "openai/x", false, Failure::Other, i);
    }
    // Failures of calls already in flight count, but do not move the opening.
    l.failure("B", "openai/y", false, Failure::Other, 10);
    assert_eq!(l.breaker_view().consecutive_failures, 6);
    l.success("C");
    assert_eq!(
        l.breaker_view().consecutive_failures,
        6,
        "only the probe decides"
    );
    let probes = l.due_probes(30_004);
    let breaker = probes
        .iter()
        .find(|p| p.target == ProbeTarget::Breaker)
        .unwrap();
    assert_eq!(breaker.model, "openai/y");
    let c = l.probe_result(&ProbeTarget::Breaker, Err(Failure::Other), 40_000);
    assert_eq!(
        c,
        vec![Change::BreakerOpened {
            until_ms: 70_000,
            consecutive_failures: 7
        }]
    );
    assert!(
        l.due_probes(69_999)
            .iter()
            .all(|p| p.target != ProbeTarget::Breaker)
    );
    assert!(
        l.due_probes(70_000)
            .iter()
            .any(|p| p.target == ProbeTarget::Breaker)
    );
    let c = l.probe_result(&ProbeTarget::Breaker, Ok(()), 70_001);
    assert_eq!(c, vec![Change::BreakerClosed]);
    assert_eq!(l.breaker_view(), BreakerView::default());
}

#[test]
fn local_workers_are_never_suspended_nor_count() {
    let mut l = ladder();
    for i in 0..20 {
        assert!(
            l.failure("Qwen", "lmstudio/qwen", true, Failure::RateLimited, i)
                .is_empty()
        );
    }
    assert!(!l.is_suspended("Qwen") && !l.breaker_open());
    assert!(!l.take_changed());
}

#[test]
fn the_state_round_trips_through_json_and_keeps_suspensions() {
    let mut l = ladder();
    l.failure(
        "A",
        "anthropic/claude-opus-4-1",
        false,
        Failure::CreditExhausted,
        7,
    );
    for i in 0..4 {
        l.failure("B", "openai/x", false, Failure::Other, i);
    }
    assert!(l.take_changed());
    let bytes = serde_json::to_vec(l.persisted()).unwrap();
    let mut back = ladder();
    back.restore(serde_json::from_slice(&bytes).unwrap());
    assert_eq!(back.persisted(), l.persisted());
    assert!(back.is_suspended("A") && back.breaker_open());
    assert_eq!(back.suspension("A").unwrap().until_ms, 7 + 60 * MIN);
    // A probe in flight before the restart is due again after it.
    assert_eq!(back.due_probes(7 + 60 * MIN).len(), 2);
}

#[test]
fn zero_settings_are_refused_by_name() {
    let cfg = LadderConfig {
        swarm_failures: 0,
        ..LadderConfig::default()
    };
    assert_eq!(
        cfg.validate().unwrap_err(),
        "`ladder.swarm_failures` must be at least 1"
    );
    assert!(LadderConfig::default().validate().is_ok());
}

#[test]
fn call_errors_are_read_by_kind() {
    let credit = CallError::Provider(ProviderError::CreditsExhausted {
        message: "insufficient_quota".into(),
    });
    let rate = CallError::Provider(ProviderError::RateLimited {
        message: "slow down".into(),
        retry_after_ms: None,
    });
    assert_eq!(Failure::of(&credit), Failure::CreditExhausted);
    assert_eq!(Failure::of(&rate), Failure::RateLimited);
    assert_eq!(
        Failure::of(&CallError::Host("timeout".into())),
        Failure::Other
    );
}
