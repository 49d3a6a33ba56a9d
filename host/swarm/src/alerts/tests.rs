//! The pure parts together: an event's alert, collapsed, to the people who receive it.

use super::collapse::{Collapser, Verdict};
use super::config::{AlertKind, AlertsConfig};
use super::detectors::Detectors;
use super::messages;
use crate::people::{People, Person, Receives};
use hypernet_model::tasks::{Task, TaskId, TaskSpec, TaskStatus};
use serde_json::json;

/// A stored task `T-<id>` titled `t<id>` with `status`.
pub(super) fn task(id: u64, status: TaskStatus) -> Task {
    let spec = TaskSpec {
        title: format!("t{id}"),
        ..TaskSpec::default()
    };
    let mut t = Task::new(TaskId(id), spec, vec![], "person", 3, 0);
    t.status = status;
    t
}

fn person(name: &str, receives: &[Receives], alerts_off: &[AlertKind]) -> Person {
    Person {
        name: name.into(),
        channels: Default::default(),
        receives: receives.to_vec(),
        commands: true,
        alerts_off: alerts_off.to_vec(),
    }
}

fn settings() -> super::Settings {
    AlertsConfig {
        timezone: Some("Europe/Paris".into()),
        ..AlertsConfig::default()
    }
    .settings()
    .unwrap()
}

#[test]
fn alerts_go_to_who_receives_them_less_who_switched_the_kind_off() {
    use Receives::*;
    let people = People::new(vec![
        person("ada", &[Alerts, Briefs], &[]),
        person("bo", &[Alerts], &[AlertKind::BreakerOpened]),
        person("cy", &[Briefs, Failures], &[]),
    ]);
    let s = settings();
    let mut d = Detectors::new(s.clone());
    let mut c = Collapser::new(s.collapse_ms);
    let send = |d: &mut Detectors, c: &mut Collapser, kind: &str, payload, now| {
        d.event(kind, &payload)
            .into_iter()
            .flat_map(|a| {
                let verdict = c.admit(a.kind, &a.subject, now);
                messages::for_alert(&people, &a, verdict, &s.zone)
            })
            .collect::<Vec<_>>()
    };
    let breaker = json!({"until_ms": 1_000_000, "consecutive_failures": 5});
    let m = send(&mut d, &mut c, "breaker.opened", breaker.clone(), 0);
    let to: Vec<&str> = m.iter().map(|m| m.to.as_str()).collect();
    assert_eq!(to, ["ada"]);
    assert_eq!(m[0].tags, ["notice", "alert", "alert:breaker_opened"]);
    assert_eq!(
        m[0].subject.as_deref(),
        Some("Alert: breaker opened (breaker)")
    );
    assert_eq!(
        (m[0].channel.as_str(), m[0].sender.as_str()),
        ("auto", "host")
    );
    let suspended = json!({"worker": "Coder", "until_ms": 0, "reason": "5 failures in a row"});
    let m = send(&mut d, &mut c, "worker.suspended", suspended.clone(), 0);
    let to: Vec<&str> = m.iter().map(|m| m.to.as_str()).collect();
    assert_eq!(to, ["ada", "bo"]);

    // Repeats within the hour: held; the first after it says how many, with the local
    // time (Paris, winter: UTC+1) of the last one sent.
    for minute in [1, 20, 59] {
        assert!(
            send(
                &mut d,
                &mut c,
                "breaker.opened",
                breaker.clone(),
                minute * 60_000
            )
            .is_empty()
        );
    }
    let m = send(
        &mut d,
        &mut c,
        "breaker.opened",
        breaker.clone(),
        61 * 60_000,
    );
    assert!(
        m[0].body.ends_with(" (and 3 more since 01:00)"),
        "{}",
        m[0].body
    );
    // Another subject is not held by the first.
    assert!(send(&mut d, &mut c, "worker.suspended", suspended, 30 * 60_000).is_empty());
    let other = json!({"worker": "Tester", "until_ms": 0, "reason": "rate limited"});
    assert_eq!(
        send(&mut d, &mut c, "worker.suspended", other, 30 * 60_000).len(),
        2
    );
}

#[test]
fn nobody_receiving_means_no_message() {
    let people = People::new(vec![person("cy", &[Receives::Briefs], &[])]);
    let s = settings();
    let mut d = Detectors::new(s.clone());
    let alert = d.event(
        "plugin.failed",
        &json!({"plugin": "herald", "reason": "panicked"}),
    );
    assert_eq!(alert.len(), 1);
    let verdict = Verdict::Send {
        more: 0,
        since_ms: None,
    };
    assert!(messages::for_alert(&people, &alert[0], verdict, &s.zone).is_empty());
    assert!(messages::for_alert(&People::default(), &alert[0], verdict, &s.zone).is_empty());
    let briefs = messages::for_briefs(
        &people,
        &["brief", "brief:morning"],
        "brief:morning:5",
        "Morning brief",
        "text",
    );
    assert_eq!(briefs.len(), 1);
    assert_eq!(
        (briefs[0].to.as_str(), briefs[0].tags.join(" ")),
        ("cy", "notice brief brief:morning".into())
    );
    assert_eq!(briefs[0].origin.as_deref(), Some("brief:morning:5:cy"));
}
