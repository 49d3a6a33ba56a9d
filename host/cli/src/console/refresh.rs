//! When to read the host again: every `--refresh`, at once after an action or a filter
//! change, and soon after an event tells of a change — but never two reads at a time, and
//! after events at most every [`EVENT_GAP`], so a busy swarm cannot flood its own API.

use std::time::{Duration, Instant};

/// The shortest time between two reads that events asked for.
pub const EVENT_GAP: Duration = Duration::from_millis(250);

/// The refresh schedule.
#[derive(Debug, Default)]
pub struct Schedule {
    /// A read is under way.
    reading: bool,
    /// A read is wanted, not before then.
    wanted: Option<Instant>,
    /// When the last read started.
    last: Option<Instant>,
}

impl Schedule {
    fn want_at(&mut self, at: Instant) {
        self.wanted = Some(self.wanted.map_or(at, |w| w.min(at)));
    }

    /// A read as soon as possible (a tick, an action's outcome, a new filter).
    pub fn now(&mut self, now: Instant) {
        self.want_at(now);
    }

    /// A read soon, but not sooner than [`EVENT_GAP`] after the last.
    pub fn soon(&mut self, now: Instant) {
        let earliest = self.last.map_or(now, |last| (last + EVENT_GAP).max(now));
        self.want_at(earliest);
    }

    /// Whether to start a read now.
    pub fn due(&self, now: Instant) -> bool {
        !self.reading && self.wanted.is_some_and(|at| at <= now)
    }

    /// When the loop must wake up to start a wanted read.
    pub fn wake_at(&self) -> Option<Instant> {
        self.wanted.filter(|_| !self.reading)
    }

    /// A read started.
    pub fn started(&mut self, now: Instant) {
        self.reading = true;
        self.wanted = None;
        self.last = Some(now);
    }

    /// The read ended.
    pub fn finished(&mut self) {
        self.reading = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_read_at_a_time_and_events_wait_their_gap() {
        let t0 = Instant::now();
        let mut s = Schedule::default();
        assert!(!s.due(t0) && s.wake_at().is_none(), "nothing wanted yet");
        s.now(t0);
        assert!(s.due(t0));
        s.started(t0);
        // Wanted while a read runs: it waits for the read to end.
        s.soon(t0);
        assert!(!s.due(t0 + EVENT_GAP) && s.wake_at().is_none());
        s.finished();
        assert!(!s.due(t0 + EVENT_GAP / 2), "too soon after the last read");
        assert_eq!(s.wake_at(), Some(t0 + EVENT_GAP));
        assert!(s.due(t0 + EVENT_GAP));
        // A tick or an action does not wait for the gap.
        s.now(t0 + EVENT_GAP / 2);
        assert!(s.due(t0 + EVENT_GAP / 2));
        s.started(t0 + EVENT_GAP);
        s.finished();
        assert!(!s.due(t0 + EVENT_GAP * 10), "read: nothing wanted");
    }
}
