//! Who is told: alerts go to every person whose `receives` has `alerts` and who did not
//! switch that kind off (`alerts_off`); briefs and reminders to every person whose
//! `receives` has `briefs`. Each goes on the person's channels (the host log when they
//! have none), from `host`, tagged `notice` (the default herald config lets notices pass)
//! and with their kind, so a person or the herald can tell them apart.

use super::collapse::Verdict;
use super::detectors::Alert;
use super::schedule::Zone;
use crate::outbox::NewMessage;
use crate::outbox::record::NOTICE;
use crate::people::{People, Receives};

/// The messages telling `alert` (sent after `more` repeats held back since `since_ms`).
pub fn for_alert(people: &People, alert: &Alert, verdict: Verdict, zone: &Zone) -> Vec<NewMessage> {
    let Verdict::Send { more, since_ms } = verdict else {
        return Vec::new();
    };
    let mut body = alert.text.clone();
    if let (1.., Some(since)) = (more, since_ms) {
        body.push_str(&format!(" (and {more} more since {})", zone.clock(since)));
    }
    let subject = format!(
        "Alert: {} ({})",
        alert.kind.name().replace('_', " "),
        alert.subject
    );
    people
        .receiving(Receives::Alerts)
        .filter(|p| !p.alerts_off.contains(&alert.kind))
        .map(|p| {
            let mut m = NewMessage::new(p.name.clone(), "host", body.clone());
            m.subject = Some(subject.clone());
            m.tags = vec![
                NOTICE.into(),
                "alert".into(),
                format!("alert:{}", alert.kind),
            ];
            m
        })
        .collect()
}

/// The messages carrying a brief or a reminder, tagged `tags`; each filed once under
/// `origin` and the person's name (a brief filed again after a crash is not sent twice).
pub fn for_briefs(
    people: &People,
    tags: &[&str],
    origin: &str,
    subject: &str,
    body: &str,
) -> Vec<NewMessage> {
    people
        .receiving(Receives::Briefs)
        .map(|p| {
            let mut m = NewMessage::new(p.name.clone(), "host", body);
            m.subject = Some(subject.to_owned());
            m.tags = std::iter::once(NOTICE)
                .chain(tags.iter().copied())
                .map(str::to_owned)
                .collect();
            m.origin = Some(format!("{origin}:{}", p.name));
            m
        })
        .collect()
}
