//! Pure text helpers for human output: times, durations, money, table cells and URL parts.

use std::fmt::Write;

/// Milliseconds since the Unix epoch as RFC 3339 UTC with milliseconds
/// (`2026-11-24T12:34:56.789Z`).
pub fn rfc3339_ms(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

/// Year, month (1-12) and day (1-31) of a day count since 1970-01-01, in the proleptic
/// Gregorian calendar (Howard Hinnant's `civil_from_days`, for days on or after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468; // days since 0000-03-01
    let era = z / 146_097;
    let doe = z % 146_097; // day of the 400-year era
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of the year starting in March
    let mp = (5 * doy + 2) / 153; // month starting in March, 0-11
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// An optional time, or `-`.
pub fn time_or_dash(ms: Option<u64>) -> String {
    ms.map(rfc3339_ms).unwrap_or_else(|| "-".into())
}

/// A duration in milliseconds, coarsely: `850ms`, `42s`, `3m 07s`, `2h 05m 09s`, `4d 03h 10m`.
pub fn duration_ms(ms: u64) -> String {
    let s = ms / 1000;
    let (d, h, m, s) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    if d > 0 {
        format!("{d}d {h:02}h {m:02}m")
    } else if h > 0 {
        format!("{h}h {m:02}m {s:02}s")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else if s > 0 {
        format!("{s}s")
    } else {
        format!("{ms}ms")
    }
}

/// Integer micro-dollars as dollars with six decimals (`$1.234567`).
pub fn dollars(micros: u64) -> String {
    format!("${}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

/// Text fit for one table cell: whitespace (newlines included) collapsed to single spaces,
/// cut to `max` characters with `…`.
pub fn cell(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let mut out: String = flat.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A list joined with `, `, or `-` when empty.
pub fn list_or_dash<T: AsRef<str>>(items: &[T]) -> String {
    if items.is_empty() {
        "-".into()
    } else {
        items
            .iter()
            .map(AsRef::as_ref)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so `text` can be one
/// path segment or query value.
pub fn url_part(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// `key: value` lines with the values aligned.
pub fn fields(rows: &[(&str, String)]) -> String {
    let width = rows.iter().map(|(k, _)| k.len() + 1).max().unwrap_or(0);
    rows.iter()
        .map(|(k, v)| {
            format!("{:<width$} {v}", format!("{k}:"))
                .trim_end()
                .to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_of_known_instants() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(999), "1970-01-01T00:00:00.999Z");
        assert_eq!(rfc3339_ms(86_399_999), "1970-01-01T23:59:59.999Z");
        // Leap days: 2000 (divisible by 400) has one, 2100 does not.
        assert_eq!(rfc3339_ms(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339_ms(951_868_800_000), "2000-03-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(4_107_456_000_000), "2100-02-28T00:00:00.000Z");
        assert_eq!(rfc3339_ms(4_107_542_400_000), "2100-03-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(1_709_164_800_000), "2024-02-29T00:00:00.000Z");
        assert_eq!(rfc3339_ms(1_735_689_599_000), "2024-12-31T23:59:59.000Z");
        assert_eq!(rfc3339_ms(1_735_689_600_000), "2025-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(1_795_579_003_703), "2026-11-25T03:56:43.703Z");
        assert_eq!(rfc3339_ms(253_402_300_799_999), "9999-12-31T23:59:59.999Z");
        // The largest value does not overflow.
        assert!(rfc3339_ms(u64::MAX).ends_with(".615Z"));
        assert_eq!(time_or_dash(None), "-");
        assert_eq!(time_or_dash(Some(0)), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn durations_are_coarse() {
        assert_eq!(duration_ms(0), "0ms");
        assert_eq!(duration_ms(850), "850ms");
        assert_eq!(duration_ms(42_300), "42s");
        assert_eq!(duration_ms(187_000), "3m 07s");
        assert_eq!(duration_ms(7_509_000), "2h 05m 09s");
        assert_eq!(
            duration_ms(4 * 86_400_000 + 3 * 3_600_000 + 600_000),
            "4d 03h 10m"
        );
    }

    #[test]
    fn dollars_from_micros_without_floats() {
        assert_eq!(dollars(0), "$0.000000");
        assert_eq!(dollars(7), "$0.000007");
        assert_eq!(dollars(1_234_567), "$1.234567");
        assert_eq!(dollars(12_000_000), "$12.000000");
        assert_eq!(dollars(u64::MAX), "$18446744073709.551615");
    }

    #[test]
    fn cells_are_one_short_line() {
        assert_eq!(cell("a\n  b\tc", 10), "a b c");
        assert_eq!(cell("abcdef", 6), "abcdef");
        assert_eq!(cell("abcdefg", 6), "abcde…");
        assert_eq!(cell("ééééé", 3), "éé…");
        assert_eq!(list_or_dash::<String>(&[]), "-");
        assert_eq!(list_or_dash(&["a", "b"]), "a, b");
    }

    #[test]
    fn url_parts_are_escaped() {
        assert_eq!(url_part("Trace"), "Trace");
        assert_eq!(url_part("2.1.trace"), "2.1.trace");
        assert_eq!(url_part("a b/c?d&é"), "a%20b%2Fc%3Fd%26%C3%A9");
    }

    #[test]
    fn fields_align() {
        let text = fields(&[("id", "T-1".into()), ("status", "ready".into())]);
        assert_eq!(text, "id:     T-1\nstatus: ready");
    }
}
