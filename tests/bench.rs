//! `hypernet bench` scenarios with tiny parameters, against the real binary and the real
//! provider-sim library: `api` produces every figure and no request fails; `memory` reads
//! its curve at every point and what the event stream replays stays within its bound; `peer`
//! runs every task through a real host process with the real provider-lmstudio library;
//! `federation` (with the `nats-server` it starts) delegates to both peers and times every
//! task; `batching` runs the same tasks with batching off and on and reports fewer calls and
//! input tokens for the same output.

use hypernet_integration::Env;

/// The result column of the row whose measure starts with `measure`.
fn result<'a>(table: &'a str, measure: &str) -> &'a str {
    table
        .lines()
        .find(|l| l.starts_with(measure))
        .unwrap_or_else(|| panic!("no `{measure}` row in:\n{table}"))
}

/// The two figures of a `batching` row: (off, on).
fn off_on(row: &str) -> (u64, u64) {
    let figure = |after: &str| -> u64 {
        let rest = row.split(after).nth(1).unwrap_or_else(|| panic!("{row}"));
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().unwrap_or_else(|_| panic!("{row}"))
    };
    (figure("off "), figure(", on "))
}

#[test]
fn the_batching_scenario_sends_fewer_calls_and_input_for_the_same_output() {
    let env = Env::new();
    let run = env.run(&["bench", "--scenario", "batching", "--latency-ms", "5"]);
    let table = run.ok();
    let (off, on) = off_on(result(table, "batching: model calls"));
    assert_eq!(off, 100, "{table}");
    assert!((13..100).contains(&on), "at most 8 tasks a call: {table}");
    let (off, on) = off_on(result(table, "batching: input tokens"));
    assert!(on < off, "{table}");
    let (off, on) = off_on(result(table, "batching: output tokens"));
    assert_eq!(off, on, "{table}");
    assert!(
        result(table, "batching: cost").contains("% saved"),
        "{table}"
    );
}

#[test]
fn the_api_scenario_runs_end_to_end_without_errors() {
    let env = Env::new();
    let run = env.run(&[
        "bench",
        "--scenario",
        "api",
        "--api-seconds",
        "0.2",
        "--api-connections",
        "2",
        "--api-clients",
        "3",
    ]);
    let table = run.ok();
    for measure in ["api: GET /api/status", "api: POST /api/tasks"] {
        let row = result(table, measure);
        assert!(row.contains(" req/s, "), "{row}");
        assert!(row.contains("errors 0"), "{row}");
    }
    assert!(
        result(table, "api: POST /api/tasks").contains("all stored"),
        "{table}"
    );
    let events = result(table, "api: /api/events");
    assert!(events.contains("per client 200-200 of 200"), "{events}");
    assert!(events.contains("lost 0, gaps 0, late starts 0"), "{events}");
}

#[test]
fn the_memory_scenario_reads_the_curve_at_each_point_and_the_replay_is_bounded() {
    let env = Env::new();
    let run = env.run(&[
        "bench",
        "--scenario",
        "memory",
        "--stored",
        "300",
        "--memory-tasks",
        "2500",
    ]);
    let table = run.ok();
    assert!(
        result(
            table,
            "peak RSS of `hypernet run` with 300 finished tasks stored"
        )
        .contains(" MiB"),
        "{table}"
    );
    for point in ["1,000", "2,000", "2,500"] {
        let row = result(
            table,
            &format!("RSS of `hypernet run` after {point} tasks processed"),
        );
        assert!(row.contains(" MiB"), "{row}");
    }
    let grown = result(table, "RSS after 2,500 tasks minus RSS after 1,000");
    assert!(grown.contains("<= 5 MiB"), "{grown}");
    let replay = result(
        table,
        "events replayed by `/api/events?after=0` after 2,500 tasks",
    );
    let kib: f64 = replay
        .split(" events, ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no KiB in {replay}"));
    assert!(kib > 0.0 && kib <= 256.0, "{replay}");
}

/// The number before `after` in `text` (`"b 12, c 9"`, `"b "` gives 12).
fn count_after(text: &str, after: &str) -> u64 {
    let at = text
        .find(after)
        .unwrap_or_else(|| panic!("no `{after}` in {text}"))
        + after.len();
    text[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number after `{after}` in {text}"))
}

#[test]
fn the_federation_scenario_delegates_to_both_peers_and_times_every_task() {
    let env = Env::new();
    let run = env.run(&[
        "bench",
        "--scenario",
        "federation",
        "--tasks",
        "300",
        "--workers",
        "20",
        "--runs",
        "1",
        "--latency-ms",
        "5",
        "--rate",
        "150",
        "--seconds",
        "1",
    ]);
    let table = run.ok();
    let wall = result(table, "federation: 300 tasks filed at a");
    assert!(wall.contains("failed 0"), "{wall}");
    // Every worker of a is busy after the first filings: overflow sends the rest to both.
    let (a, b, c) = (
        count_after(wall, "a ran "),
        count_after(wall, ", b "),
        count_after(wall, ", c "),
    );
    assert_eq!(a + b + c, 300, "{wall}");
    assert!(b > 0 && c > 0, "{wall}");
    let rate = result(table, "federation: tasks delegated per second");
    assert!(rate.contains(&format!("{} delegated", b + c)), "{rate}");
    // 150 tasks: every third stays at a, the others are filed for b and c by name; each is
    // timed both ways.
    for (way, samples) in [
        ("on the way there", "100 delegated / 50 local samples"),
        ("on the way back", "100 / 50 samples"),
    ] {
        let row = result(table, &format!("federation: added latency {way}"));
        assert!(row.contains(samples), "{row}");
        assert!(row.contains("added p50 "), "{row}");
    }
}

/// The figure before ` MiB` after `label` in `row`.
fn mib_after(row: &str, label: &str) -> f64 {
    let at = row
        .find(label)
        .unwrap_or_else(|| panic!("no `{label}` in {row}"))
        + label.len();
    row[at..]
        .split(" MiB")
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no MiB figure after `{label}` in {row}"))
}

#[test]
fn the_peer_scenario_runs_every_task_through_a_real_host_process() {
    let env = Env::new();
    let run = env.run(&[
        "bench",
        "--scenario",
        "peer",
        "--peer-tasks",
        "30",
        "--peer-concurrency",
        "5",
        "--latency-ms",
        "5",
        "--runs",
        "2",
    ]);
    // Each run checks that every task completed with exactly one call to the loopback
    // server, and fails the bench otherwise.
    let table = run.ok();
    for what in [
        "provider only, plain",
        "provider only, streamed",
        "with the four subsystems, plain",
        "with the four subsystems, streamed",
    ] {
        let row = result(
            table,
            &format!("peer: 30 one-call tasks, 5 at a time, 5 ms, {what}, median of 2"),
        );
        let (peak, ready) = (mib_after(row, "peak RSS "), mib_after(row, "at ready "));
        assert!(ready > 1.0 && peak >= ready, "{row}");
        assert!(
            row.contains("; host CPU a call ") && row.contains(" ms ("),
            "{row}"
        );
    }
    let added = result(
        table,
        "peer: host CPU a streamed call adds over a plain one, provider only, median of 2",
    );
    assert!(added.contains(" ms (") && added.contains(" to "), "{added}");
}
