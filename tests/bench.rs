//! `hypernet bench --scenario api` with tiny parameters, against the real binary and the
//! real provider-sim library: every figure is produced and no request fails.

use hypernet_integration::Env;

/// The result column of the row whose measure starts with `measure`.
fn result<'a>(table: &'a str, measure: &str) -> &'a str {
    table
        .lines()
        .find(|l| l.starts_with(measure))
        .unwrap_or_else(|| panic!("no `{measure}` row in:\n{table}"))
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
