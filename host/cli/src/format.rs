//! Pure text helpers for human output: times, durations, money, table cells and URL parts.

pub use hypernet_model::clock::rfc3339_ms;
use std::fmt::Write;

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
    fn time_or_dash_of_none_and_some() {
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
