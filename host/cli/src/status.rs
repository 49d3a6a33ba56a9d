//! `hypernet status [--watch]`: the running host at a glance (task counts, workers and what
//! the busy ones are doing, plugins, uptime), once or redrawn every interval until Ctrl-C.
//!
//! Watching redraws in place on a terminal (from the top left corner, each line cleared to
//! its end, then the rest of the screen) and otherwise prints each view after a blank line, so a pipe
//! or a log keeps every refresh. A host that does not answer is reported in the view and
//! asked again at the next refresh: a restarted host (a new `host.json`) is picked up.

use super::client::Client;
use super::format::{duration_ms, fields, rfc3339_ms};
use super::tasks::{Listed, counts, parse};
use anyhow::Result;
use hypernet_model::clock::now_ms;
use hypernet_swarm::scheduler::core::boot_hooks::BootView;
use hypernet_swarm::workers::WorkerView;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

/// Busy workers named in the view; the rest are counted.
const BUSY_SHOWN: usize = 8;

/// The shortest `--interval`, so a watch cannot flood the host.
const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// What `GET /api/status` answers.
#[derive(Debug, Clone, Deserialize)]
struct Status {
    tasks: BTreeMap<String, u64>,
    #[serde(default)]
    finished: BTreeMap<String, u64>,
    workers: Workers,
    plugins: Plugins,
    batches_written: u64,
    uptime_ms: u64,
    #[serde(default)]
    breaker: hypernet_swarm::scheduler::ladder::BreakerView,
    #[serde(default)]
    boot: Option<BootView>,
    #[serde(default)]
    batch_api: Option<hypernet_swarm::scheduler::batch_api::book::BatchApiView>,
}

#[derive(Debug, Clone, Deserialize)]
struct Workers {
    total: u64,
    busy: u64,
}

#[derive(Debug, Clone, Deserialize)]
struct Plugins {
    loaded: u64,
    #[serde(default)]
    disabled: u64,
    #[serde(default)]
    failed: u64,
}

/// Parses `--interval`: seconds, fractions allowed, at least a tenth of a second (`MIN_INTERVAL`).
pub fn interval(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| *d >= MIN_INTERVAL)
        .ok_or_else(|| {
            format!(
                "`{text}`: the interval must be a number of seconds, at least {}",
                MIN_INTERVAL.as_secs_f64()
            )
        })
}

/// Prints the status once (JSON with `json`), or every `watch` until Ctrl-C.
pub(super) async fn show(data_dir: &Path, json: bool, watch: Option<Duration>) -> Result<()> {
    let Some(every) = watch else {
        let client = Client::connect(data_dir)?;
        let view = if json {
            serde_json::to_string_pretty(&client.get("/api/status").await?)?
        } else {
            view(&client).await?
        };
        outln!("{view}")?;
        return Ok(());
    };
    let tty = std::io::stdout().is_terminal();
    let stop = tokio::signal::ctrl_c();
    tokio::pin!(stop);
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // A host that hangs must not freeze the view.
    let patience = every.max(Duration::from_secs(2));
    let mut first = true;
    loop {
        let refreshed = tokio::select! {
            _ = &mut stop => return Ok(()),
            _ = ticks.tick() => tokio::time::timeout(patience, refresh(data_dir)).await,
        };
        let body = match refreshed {
            Ok(Ok(view)) => view,
            Ok(Err(e)) => format!("host not reachable: {e:#}"),
            Err(_) => format!("host not reachable: no answer within {patience:?}"),
        };
        let view = format!("{}\n{body}", header(now_ms(), every));
        crate::output::write(&paint(&view, tty, first))?;
        first = false;
    }
}

/// The text view from a freshly found host.
async fn refresh(data_dir: &Path) -> Result<String> {
    view(&Client::connect(data_dir)?).await
}

/// The status and the busy workers' tasks, as `key: value` lines.
async fn view(client: &Client) -> Result<String> {
    let every_worker = format!("/api/workers?limit={}", hypernet_api::page::MAX_LIMIT);
    let (status, workers) = tokio::try_join!(client.get("/api/status"), client.get(&every_worker))?;
    let status: Status = parse(&status, "a status")?;
    let workers = parse::<Listed<WorkerView>>(&workers, "a worker list")?.items;
    Ok(text(&status, &workers))
}

fn text(s: &Status, workers: &[WorkerView]) -> String {
    let or = |map: &BTreeMap<String, u64>, none: &str| {
        if map.is_empty() {
            none.to_owned()
        } else {
            counts(map)
        }
    };
    let mut lines = vec![
        ("tasks", or(&s.tasks, "none open")),
        ("finished", or(&s.finished, "none yet")),
        (
            "workers",
            format!("{} busy of {}", s.workers.busy, s.workers.total),
        ),
        ("busy", busy(workers)),
    ];
    // Only shown when the failure ladder has stopped someone.
    if let Some(list) = suspended(workers) {
        lines.push(("suspended", list));
    }
    if s.breaker.open {
        lines.push(("breaker", breaker(&s.breaker)));
    }
    // Only shown while boot sequences run in the background.
    if let Some(b) = &s.boot {
        lines.push(("boot", boot(b)));
    }
    // Only shown with `[batch_api] enabled`.
    if let Some(b) = &s.batch_api {
        lines.push(("batch api", b.text()));
    }
    lines.extend([
        ("plugins", plugins(&s.plugins)),
        ("store commits", s.batches_written.to_string()),
        ("uptime", duration_ms(s.uptime_ms)),
    ]);
    fields(&lines)
}

/// `6 loaded, 3 disabled, 1 failed` (the states no plugin is in left out), or `none`.
fn plugins(p: &Plugins) -> String {
    let states: Vec<String> = [
        (p.loaded, "loaded"),
        (p.disabled, "disabled"),
        (p.failed, "failed (see `hypernet plugins`)"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, state)| format!("{n} {state}"))
    .collect();
    if states.is_empty() {
        "none".to_owned()
    } else {
        states.join(", ")
    }
}

/// `Trace T-4, Keystone T-7 (+3 more)`, or `-`.
fn busy(workers: &[WorkerView]) -> String {
    let busy: Vec<String> = workers
        .iter()
        .filter_map(|w| Some(format!("{} {}", w.name, w.current_task.as_deref()?)))
        .collect();
    if busy.is_empty() {
        return "-".into();
    }
    let mut line = busy[..busy.len().min(BUSY_SHOWN)].join(", ");
    if busy.len() > BUSY_SHOWN {
        line.push_str(&format!(" (+{} more)", busy.len() - BUSY_SHOWN));
    }
    line
}

/// `Trace until 2025-…Z (rate limited)`, when any worker is suspended.
fn suspended(workers: &[WorkerView]) -> Option<String> {
    let list: Vec<String> = workers
        .iter()
        .filter_map(|w| {
            let until = w.suspended_until_ms?;
            let why = w.suspension_reason.as_deref().unwrap_or("");
            Some(format!("{} until {} ({why})", w.name, rfc3339_ms(until)))
        })
        .collect();
    (!list.is_empty()).then(|| list.join(", "))
}

/// `open until … after N failures in a row`.
fn breaker(b: &hypernet_swarm::scheduler::ladder::BreakerView) -> String {
    format!(
        "open until {} after {} failures in a row",
        b.until_ms.map_or_else(|| "-".into(), rfc3339_ms),
        b.consecutive_failures
    )
}

/// `Coder turn 3 of 11; waiting: Coder, Keel`.
fn boot(b: &BootView) -> String {
    let now = match &b.worker {
        Some(worker) => format!("{worker} turn {} of {}", b.turn, b.turns),
        None => "starting".to_owned(),
    };
    format!("{now}; waiting: {}", b.waiting.join(", "))
}

/// The first line of a watched view.
fn header(at_ms: u64, every: Duration) -> String {
    format!(
        "refreshed: {} (every {}s; Ctrl-C stops)",
        rfc3339_ms(at_ms),
        every.as_secs_f64()
    )
}

/// What to write for one refresh: on a terminal, the view drawn over the previous one;
/// elsewhere the view, after a blank line unless it is the first.
fn paint(view: &str, tty: bool, first: bool) -> String {
    if !tty {
        let gap = if first { "" } else { "\n" };
        return format!("{gap}{view}\n");
    }
    // Clear the screen once; later views overwrite line by line, which does not flicker.
    let mut out = String::from(if first { "\x1b[2J\x1b[H" } else { "\x1b[H" });
    for line in view.lines() {
        out.push_str(line);
        out.push_str("\x1b[K\n");
    }
    out.push_str("\x1b[J");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use hypernet_swarm::workers::WorkerStats;

    fn worker(name: &str, task: Option<&str>) -> WorkerView {
        WorkerView {
            name: name.into(),
            address: format!("2.1.{}", name.to_lowercase()),
            account: "2.1".into(),
            role: String::new(),
            capabilities: Vec::new(),
            model: "sim/default".into(),
            current_task: task.map(str::to_owned),
            next_task: None,
            suspended_until_ms: None,
            suspension_reason: None,
            stats: WorkerStats::default(),
            ephemeral: false,
            paused: false,
            leaving: false,
            added: false,
        }
    }

    #[test]
    fn the_view_names_busy_workers_and_their_tasks() {
        let status = Status {
            tasks: [("ready".into(), 4), ("running".into(), 2)].into(),
            finished: [("completed".into(), 53), ("cancelled".into(), 2)].into(),
            workers: Workers { total: 3, busy: 2 },
            plugins: Plugins {
                loaded: 1,
                disabled: 2,
                failed: 0,
            },
            batches_written: 9,
            uptime_ms: 187_000,
            breaker: Default::default(),
            boot: None,
            batch_api: None,
        };
        let workers = [
            worker("Trace", Some("T-4")),
            worker("Idle", None),
            worker("Keystone", Some("T-7")),
        ];
        assert_eq!(
            text(&status, &workers),
            "tasks:         ready 4, running 2\n\
             finished:      cancelled 2, completed 53\n\
             workers:       2 busy of 3\n\
             busy:          Trace T-4, Keystone T-7\n\
             plugins:       1 loaded, 2 disabled\n\
             store commits: 9\n\
             uptime:        3m 07s"
        );
        assert_eq!(busy(&workers[1..2]), "-");
        let broken = Plugins {
            loaded: 0,
            disabled: 1,
            failed: 1,
        };
        assert_eq!(
            plugins(&broken),
            "1 disabled, 1 failed (see `hypernet plugins`)"
        );
        let empty = Status {
            tasks: BTreeMap::new(),
            finished: BTreeMap::new(),
            plugins: Plugins {
                loaded: 0,
                disabled: 0,
                failed: 0,
            },
            ..status.clone()
        };
        let view = text(&empty, &[]);
        assert!(
            view.starts_with("tasks:         none open\nfinished:      none yet\n")
                && view.contains("plugins:       none\n"),
            "{view}"
        );
        let booting = Status {
            boot: Some(BootView {
                worker: Some("Trace".into()),
                turn: 3,
                turns: 11,
                waiting: vec!["Idle".into(), "Trace".into()],
            }),
            ..status
        };
        assert!(
            text(&booting, &workers)
                .contains("boot:          Trace turn 3 of 11; waiting: Idle, Trace\n"),
            "{}",
            text(&booting, &workers)
        );
        let many: Vec<WorkerView> = (0..11)
            .map(|i| worker(&format!("W{i}"), Some(&format!("T-{i}"))))
            .collect();
        let line = busy(&many);
        assert!(line.starts_with("W0 T-0, W1 T-1, "), "{line}");
        assert!(line.ends_with("W7 T-7 (+3 more)"), "{line}");
    }

    #[test]
    fn a_terminal_is_redrawn_in_place_and_a_pipe_gets_every_view() {
        assert_eq!(paint("a\nb", false, true), "a\nb\n");
        assert_eq!(paint("a\nb", false, false), "\na\nb\n");
        assert_eq!(
            paint("a\nb", true, true),
            "\x1b[2J\x1b[Ha\x1b[K\nb\x1b[K\n\x1b[J"
        );
        assert_eq!(paint("a", true, false), "\x1b[Ha\x1b[K\n\x1b[J");
    }

    #[test]
    fn intervals_are_seconds_of_at_least_a_tenth() {
        assert_eq!(interval("1"), Ok(Duration::from_secs(1)));
        assert_eq!(interval("0.2"), Ok(Duration::from_millis(200)));
        assert_eq!(interval(" 2.5 "), Ok(Duration::from_millis(2_500)));
        for bad in ["0", "0.01", "-1", "NaN", "inf", "soon", ""] {
            assert!(interval(bad).is_err(), "{bad} accepted");
        }
        assert!(interval("0.05").unwrap_err().contains("at least 0.1"));
    }

    #[test]
    fn the_header_tells_when_and_how_often() {
        assert_eq!(
            header(1_500, Duration::from_millis(200)),
            "refreshed: 1970-01-01T00:00:01.500Z (every 0.2s; Ctrl-C stops)"
        );
    }
}
