//! Repeats collapsed: the same alert — its kind and subject (a worker, a plugin, a task)
//! — raised again within the window after it was sent is only counted; the next one sent
//! after the window says how many were held back since the last one went out.

use super::config::AlertKind;
use std::collections::HashMap;

/// What to do with a raised alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Send it; `more` repeats were held back since the last one sent at `since_ms`
    /// (`more` is 0 and `since_ms` `None` for the first).
    Send {
        /// Repeats counted since the last one sent.
        more: u32,
        /// When the last one was sent.
        since_ms: Option<u64>,
    },
    /// A repeat within the window: counted.
    Held,
}

#[derive(Debug, Clone, Copy)]
struct Seen {
    sent_ms: u64,
    held: u32,
}

/// The alerts sent lately, by kind and subject.
#[derive(Debug, Default)]
pub struct Collapser {
    window_ms: u64,
    seen: HashMap<(AlertKind, String), Seen>,
}

impl Collapser {
    /// Repeats within `window_ms` of the last one sent are held (0: none are).
    pub fn new(window_ms: u64) -> Collapser {
        Collapser {
            window_ms,
            seen: HashMap::new(),
        }
    }

    /// Whether the alert `kind` about `subject` raised at `now_ms` goes out.
    pub fn admit(&mut self, kind: AlertKind, subject: &str, now_ms: u64) -> Verdict {
        let key = (kind, subject.to_owned());
        match self.seen.get_mut(&key) {
            Some(seen) if now_ms.saturating_sub(seen.sent_ms) < self.window_ms => {
                seen.held += 1;
                Verdict::Held
            }
            Some(seen) => {
                let verdict = Verdict::Send {
                    more: seen.held,
                    since_ms: Some(seen.sent_ms),
                };
                *seen = Seen {
                    sent_ms: now_ms,
                    held: 0,
                };
                verdict
            }
            None => {
                self.seen.insert(
                    key,
                    Seen {
                        sent_ms: now_ms,
                        held: 0,
                    },
                );
                Verdict::Send {
                    more: 0,
                    since_ms: None,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AlertKind::*;

    const MIN: u64 = 60_000;

    fn sent(more: u32, since_ms: u64) -> Verdict {
        Verdict::Send {
            more,
            since_ms: Some(since_ms),
        }
    }

    #[test]
    fn repeats_within_the_window_are_counted_and_reported_with_the_next() {
        let mut c = Collapser::new(60 * MIN);
        let first = c.admit(WorkerSuspended, "Coder", 0);
        assert_eq!(
            first,
            Verdict::Send {
                more: 0,
                since_ms: None
            }
        );
        assert_eq!(c.admit(WorkerSuspended, "Coder", 10 * MIN), Verdict::Held);
        assert_eq!(c.admit(WorkerSuspended, "Coder", 59 * MIN), Verdict::Held);
        // The window runs from the last one sent, not the last repeat.
        assert_eq!(c.admit(WorkerSuspended, "Coder", 60 * MIN), sent(2, 0));
        assert_eq!(c.admit(WorkerSuspended, "Coder", 61 * MIN), Verdict::Held);
        assert_eq!(
            c.admit(WorkerSuspended, "Coder", 200 * MIN),
            sent(1, 60 * MIN)
        );
        // Nothing held: the next one after the window says so.
        assert_eq!(
            c.admit(WorkerSuspended, "Coder", 300 * MIN),
            sent(0, 200 * MIN)
        );
    }

    #[test]
    fn kinds_and_subjects_are_apart() {
        let mut c = Collapser::new(60 * MIN);
        assert!(matches!(
            c.admit(WorkerSuspended, "Coder", 0),
            Verdict::Send { .. }
        ));
        assert!(matches!(
            c.admit(WorkerSuspended, "Tester", 1),
            Verdict::Send { .. }
        ));
        assert!(matches!(
            c.admit(PluginFailed, "Coder", 2),
            Verdict::Send { .. }
        ));
        assert_eq!(c.admit(WorkerSuspended, "Coder", 3), Verdict::Held);
        assert_eq!(c.admit(PluginFailed, "Coder", 4), Verdict::Held);
    }

    #[test]
    fn a_zero_window_sends_every_one() {
        let mut c = Collapser::new(0);
        assert!(matches!(
            c.admit(BreakerOpened, "breaker", 5),
            Verdict::Send { .. }
        ));
        assert_eq!(c.admit(BreakerOpened, "breaker", 5), sent(0, 5));
    }
}
