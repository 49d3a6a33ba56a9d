//! When the briefs and reminders are due: plain functions over `now_ms` and a time zone.
//!
//! A brief is due at its local time each day. The occurrence that counts at `now` is the
//! latest one at or before it; it is sent when it has not been handled yet and is less
//! than [`GRACE_MS`] late — so a brief missed while the host was down goes out once at the
//! start, and one missed by longer is skipped. On the day clocks spring forward a time in
//! the gap is taken as the same length after it (02:30 → 03:30); on the day they fall
//! back, a time that occurs twice counts at its first occurrence.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// How late a brief may still be sent.
pub const GRACE_MS: u64 = 3_600_000;

/// A time of day, `HH:MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    hour: i8,
    minute: i8,
}

impl LocalTime {
    /// `HH:MM` (00:00 to 23:59; one-digit hours allowed), or `None`.
    pub fn parse(text: &str) -> Option<LocalTime> {
        let (h, m) = text.trim().split_once(':')?;
        let digits =
            |s: &str| !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(h) || m.len() != 2 || !digits(m) {
            return None;
        }
        let (hour, minute) = (h.parse::<i8>().ok()?, m.parse::<i8>().ok()?);
        (hour < 24 && minute < 60).then_some(LocalTime { hour, minute })
    }

    /// This time on `date` in `zone`, in ms since the epoch (a time in a spring-forward
    /// gap moves forward by the gap; a repeated time is its first occurrence).
    fn on(self, date: Date, zone: &TimeZone) -> i64 {
        date.at(self.hour, self.minute, 0, 0)
            .to_zoned(zone.clone())
            .map_or(i64::MIN, |z| z.timestamp().as_millisecond())
    }
}

impl std::fmt::Display for LocalTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)
    }
}

/// A time zone and its name.
#[derive(Clone)]
pub struct Zone {
    tz: TimeZone,
    name: String,
}

impl std::fmt::Debug for Zone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

impl Zone {
    /// The zone with this IANA name.
    pub fn named(name: &str) -> Result<Zone, jiff::Error> {
        Ok(Zone {
            tz: TimeZone::get(name)?,
            name: name.to_owned(),
        })
    }

    /// The machine's zone (UTC when it cannot be told).
    pub fn system() -> Zone {
        let tz = TimeZone::try_system().unwrap_or(TimeZone::UTC);
        let name = tz.iana_name().unwrap_or("local").to_owned();
        Zone { tz, name }
    }

    /// Its name (`Europe/Paris`).
    pub fn name(&self) -> &str {
        &self.name
    }

    fn date(&self, ms: i64) -> Date {
        self.at(ms).date()
    }

    fn at(&self, ms: i64) -> jiff::Zoned {
        Timestamp::from_millisecond(ms)
            .unwrap_or(Timestamp::UNIX_EPOCH)
            .to_zoned(self.tz.clone())
    }

    /// The local clock at `ms`, `HH:MM`.
    pub fn clock(&self, ms: u64) -> String {
        self.at(ms as i64).strftime("%H:%M").to_string()
    }

    /// The local date and clock at `ms`, `Tue 4 Dec 08:00`.
    pub fn day_and_clock(&self, ms: u64) -> String {
        self.at(ms as i64).strftime("%a %-d %b %H:%M").to_string()
    }
}

/// The latest instant at or before `now_ms` when the clock in `zone` read `at`.
pub fn latest(at: LocalTime, zone: &Zone, now_ms: u64) -> u64 {
    let now = now_ms as i64;
    let mut date = zone.date(now);
    // Two steps back at most: a time moved past `now` by a gap, then yesterday's.
    for _ in 0..3 {
        let candidate = at.on(date, &zone.tz);
        if candidate <= now {
            return candidate.max(0) as u64;
        }
        date = date.yesterday().unwrap_or(date);
    }
    0
}

/// The first instant after `now_ms` when the clock in `zone` reads `at`.
pub fn next(at: LocalTime, zone: &Zone, now_ms: u64) -> u64 {
    let now = now_ms as i64;
    let mut date = zone.date(now).yesterday().unwrap_or(zone.date(now));
    for _ in 0..4 {
        let candidate = at.on(date, &zone.tz);
        if candidate > now {
            return candidate as u64;
        }
        date = date.tomorrow().unwrap_or(date);
    }
    u64::MAX
}

/// What to do about one brief at `now_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Its latest occurrence is handled: nothing to do.
    Done,
    /// Send the occurrence due at `due_ms`.
    Send {
        /// When it was due.
        due_ms: u64,
    },
    /// The occurrence due at `due_ms` is more than [`GRACE_MS`] late: record it, unsent.
    Missed {
        /// When it was due.
        due_ms: u64,
    },
}

/// Whether the brief at `at` is due, given the occurrence last handled (sent or missed).
pub fn brief(at: LocalTime, zone: &Zone, handled_ms: Option<u64>, now_ms: u64) -> Due {
    let due_ms = latest(at, zone, now_ms);
    if handled_ms.is_some_and(|h| h >= due_ms) {
        Due::Done
    } else if now_ms - due_ms <= GRACE_MS {
        Due::Send { due_ms }
    } else {
        Due::Missed { due_ms }
    }
}

/// Whether a reminder is due: something has waited since `oldest_wait_ms`, and neither it
/// nor the last reminder is more recent than `every_ms`.
pub fn reminder(
    every_ms: u64,
    last_ms: Option<u64>,
    oldest_wait_ms: Option<u64>,
    now_ms: u64,
) -> bool {
    oldest_wait_ms.is_some_and(|oldest| {
        let from = last_ms.unwrap_or(0).max(oldest);
        now_ms >= from.saturating_add(every_ms)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60_000;
    const HOUR: u64 = 60 * MIN;

    fn ms(text: &str) -> u64 {
        text.parse::<Timestamp>().unwrap().as_millisecond() as u64
    }

    fn t(text: &str) -> LocalTime {
        LocalTime::parse(text).unwrap()
    }

    fn paris() -> Zone {
        Zone::named("Europe/Paris").unwrap()
    }

    #[test]
    fn times_of_day_parse_strictly() {
        assert_eq!(t("08:00").to_string(), "08:00");
        assert_eq!(t("7:05").to_string(), "07:05");
        assert_eq!(t("23:59").to_string(), "23:59");
        for bad in [
            "24:00", "25:00", "12:60", "12", "12:5", "-1:00", "ab:cd", "", "12:00:00", "123:00",
        ] {
            assert_eq!(LocalTime::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn latest_and_next_in_a_zone() {
        let z = paris();
        // Winter: Paris is UTC+1.
        let now = ms("2026-01-15T10:00:00Z"); // 11:00 in Paris
        assert_eq!(latest(t("08:00"), &z, now), ms("2026-01-15T07:00:00Z"));
        assert_eq!(next(t("08:00"), &z, now), ms("2026-01-16T07:00:00Z"));
        assert_eq!(latest(t("18:00"), &z, now), ms("2026-01-14T17:00:00Z"));
        assert_eq!(next(t("18:00"), &z, now), ms("2026-01-15T17:00:00Z"));
        // Exactly at the time: due now, next tomorrow.
        let eight = ms("2026-01-15T07:00:00Z");
        assert_eq!(latest(t("08:00"), &z, eight), eight);
        assert_eq!(next(t("08:00"), &z, eight), eight + 24 * HOUR);
        // Summer: UTC+2.
        let now = ms("2026-07-01T06:30:00Z"); // 08:30 in Paris
        assert_eq!(latest(t("08:00"), &z, now), ms("2026-07-01T06:00:00Z"));
        // Around midnight: 23:30 local is yesterday's when it is 00:10.
        let now = ms("2026-01-15T23:10:00Z"); // 00:10 on the 16th in Paris
        assert_eq!(latest(t("23:30"), &z, now), ms("2026-01-15T22:30:00Z"));
    }

    #[test]
    fn daylight_saving_changes() {
        let z = paris();
        // 2026-03-29: 02:00 → 03:00 in Paris. 02:30 does not exist: it counts as 03:30
        // (01:30 UTC), and the day is 23 hours long.
        let before = ms("2026-03-29T00:45:00Z"); // 01:45 local
        assert_eq!(next(t("02:30"), &z, before), ms("2026-03-29T01:30:00Z"));
        assert_eq!(latest(t("02:30"), &z, before), ms("2026-03-28T01:30:00Z"));
        let after_gap = ms("2026-03-29T01:10:00Z"); // 03:10 local, before 03:30
        assert_eq!(
            latest(t("02:30"), &z, after_gap),
            ms("2026-03-28T01:30:00Z")
        );
        assert_eq!(next(t("02:30"), &z, after_gap), ms("2026-03-29T01:30:00Z"));
        assert_eq!(
            next(t("08:00"), &z, ms("2026-03-28T07:00:00Z")) - ms("2026-03-28T07:00:00Z"),
            23 * HOUR
        );
        // 2026-10-25: 03:00 → 02:00. 02:30 happens twice: once a day, the first time
        // (00:30 UTC), and the day is 25 hours long.
        let first = ms("2026-10-25T00:30:00Z");
        assert_eq!(next(t("02:30"), &z, ms("2026-10-24T23:00:00Z")), first);
        let second = first + HOUR; // 02:30 again
        assert_eq!(latest(t("02:30"), &z, second), first);
        assert_eq!(next(t("02:30"), &z, second), ms("2026-10-26T01:30:00Z"));
        assert_eq!(
            next(t("08:00"), &z, ms("2026-10-24T06:00:00Z")) - ms("2026-10-24T06:00:00Z"),
            25 * HOUR
        );
        // Handled once in the repeated hour: not due again at its second occurrence.
        assert_eq!(brief(t("02:30"), &z, Some(first), second), Due::Done);
    }

    #[test]
    fn a_brief_is_sent_once_and_a_missed_one_only_within_the_grace() {
        let z = Zone::named("UTC").unwrap();
        let eight = ms("2026-05-04T08:00:00Z");
        // Before the time: yesterday's was handled.
        assert_eq!(
            brief(t("08:00"), &z, Some(eight - 24 * HOUR), eight - MIN),
            Due::Done
        );
        // At the time and up to an hour late: send.
        assert_eq!(
            brief(t("08:00"), &z, Some(eight - 24 * HOUR), eight),
            Due::Send { due_ms: eight }
        );
        assert_eq!(
            brief(t("08:00"), &z, Some(eight - 24 * HOUR), eight + 59 * MIN),
            Due::Send { due_ms: eight }
        );
        // Once sent, not again (a restart reads the same record).
        assert_eq!(
            brief(t("08:00"), &z, Some(eight), eight + 5 * MIN),
            Due::Done
        );
        // The host was down at 08:00 and starts at 08:40: sent at the start.
        assert_eq!(
            brief(t("08:00"), &z, Some(eight - 24 * HOUR), eight + 40 * MIN),
            Due::Send { due_ms: eight }
        );
        // ... at 09:30: skipped, recorded, not reconsidered.
        assert_eq!(
            brief(t("08:00"), &z, Some(eight - 24 * HOUR), eight + 90 * MIN),
            Due::Missed { due_ms: eight }
        );
        assert_eq!(
            brief(t("08:00"), &z, Some(eight), eight + 90 * MIN),
            Due::Done
        );
        // Down for days: only the latest occurrence counts.
        assert_eq!(
            brief(t("08:00"), &z, Some(eight - 72 * HOUR), eight + 10 * MIN),
            Due::Send { due_ms: eight }
        );
        // Never sent before (a first start): the same rules.
        assert_eq!(
            brief(t("08:00"), &z, None, eight + 10 * MIN),
            Due::Send { due_ms: eight }
        );
        assert_eq!(
            brief(t("08:00"), &z, None, eight + 3 * HOUR),
            Due::Missed { due_ms: eight }
        );
    }

    #[test]
    fn reminders_wait_for_something_and_for_their_interval() {
        let every = 4 * HOUR;
        // Nothing waits: never.
        assert!(!reminder(every, None, None, 100 * HOUR));
        // Something waits since 10h: due from 14h.
        assert!(!reminder(every, None, Some(10 * HOUR), 13 * HOUR));
        assert!(reminder(every, None, Some(10 * HOUR), 14 * HOUR));
        // Reminded at 14h: next at 18h, even if it waited longer.
        assert!(!reminder(
            every,
            Some(14 * HOUR),
            Some(10 * HOUR),
            17 * HOUR
        ));
        assert!(reminder(every, Some(14 * HOUR), Some(10 * HOUR), 18 * HOUR));
        // A reminder long ago, but what waits now is new: it waits its interval first.
        assert!(!reminder(every, Some(HOUR), Some(20 * HOUR), 22 * HOUR));
        assert!(reminder(every, Some(HOUR), Some(20 * HOUR), 24 * HOUR));
    }

    #[test]
    fn clocks_show_local_time() {
        let z = paris();
        assert_eq!(z.clock(ms("2026-01-15T07:05:00Z")), "08:05");
        assert_eq!(z.clock(ms("2026-07-15T07:05:00Z")), "09:05");
        assert_eq!(
            z.day_and_clock(ms("2026-12-01T07:00:00Z")),
            "Tue 1 Dec 08:00"
        );
    }
}
