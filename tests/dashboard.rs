//! The dashboard at `/` in a real headless Chromium, against the real binary with the real
//! provider-sim and example plugin libraries: it loads cleanly under its security policy,
//! takes the token from the address, follows the event stream, files tasks through its
//! form, toggles plugins, and keeps a long queue cheap by rendering only the rows in view.
//!
//! `HYPERNET_SCREENSHOT_DIR=dir cargo test -p hypernet-integration --test dashboard --
//! --ignored` writes `dir/dashboard.png` (the first screen) and `dir/dashboard-panels.png`
//! (scrolled to the workers, budget, plugins and failures) of a busy swarm for people to
//! look at, and `dir/dashboard-dark.png` in the dark color scheme.

use chromiumoxide::cdp::browser_protocol::emulation::MediaFeature;
use hypernet_integration::Env;
use hypernet_integration::browser::{Browser, PageProblem};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// provider-sim answering at once, and the example plugin to switch on and off.
const MANIFEST: &str = "\
[[plugin]]
name = \"provider-sim\"
capabilities = [\"log\"]
[plugin.config]
latency_ms = 0

[[plugin]]
name = \"example\"
capabilities = [\"kv\", \"events\", \"log\"]
";

/// Routes of the dashboard's API contract that a host may not serve yet; the page falls back
/// without them, so the browser's note of their 404 is not a fault of the page.
const OPTIONAL_ROUTES: &[&str] = &["/api/budget/history", "/graph"];

fn token(env: &Env) -> String {
    std::fs::read_to_string(env.data_dir().join("api-token"))
        .expect("api-token")
        .trim()
        .to_owned()
}

/// What `hypernet dashboard` prints: the page's address with the token in the fragment.
fn dashboard_url(env: &Env) -> String {
    let run = env.run(&["dashboard"]);
    let url = run.ok().trim().to_owned();
    let token = token(env);
    assert!(url.ends_with(&format!("/#token={token}")), "{url}");
    assert!(
        !run.stderr.contains(&token),
        "the token must not be logged: {}",
        run.stderr
    );
    url
}

/// The page's address without the token (ending in `/`).
fn base_url(env: &Env) -> String {
    let url = dashboard_url(env);
    url.split_once("#token=").expect("a fragment").0.to_owned()
}

/// Opens the dashboard with the token in its address; waits until it has loaded and its
/// event stream is open.
async fn open(env: &Env) -> Browser {
    let browser = Browser::launch().await;
    browser
        .open(&dashboard_url(env))
        .await
        .expect("open the dashboard");
    wait_live(&browser).await;
    browser
}

async fn wait_live(browser: &Browser) {
    let live = browser
        .wait_until(
            "document.body.dataset.ready === '1' && document.body.dataset.live === '1'",
            Duration::from_secs(15),
        )
        .await;
    assert!(
        live,
        "the dashboard never became ready and live; page problems: {:?}",
        browser.problems()
    );
}

/// The page's problems, less the browser's notes of optional routes not served yet.
fn faults(browser: &Browser) -> Vec<PageProblem> {
    browser
        .problems()
        .into_iter()
        .filter(|p| {
            let optional = p.source == "network"
                && p.text.contains("404")
                && p.url
                    .as_deref()
                    .is_some_and(|u| OPTIONAL_ROUTES.iter().any(|r| u.contains(r)));
            !optional
        })
        .collect()
}

fn file(env: &Env, body: Value) -> String {
    let (code, answer) = env.api("/api/tasks", Some(&body));
    assert_eq!(code, 200, "{answer}");
    answer["id"].as_str().expect("an id").to_owned()
}

/// A row of the board for this task exists.
fn row_of(id: &str) -> String {
    format!("document.querySelector('.task-row[data-task=\"{id}\"]') !== null")
}

/// A plain GET of a page asset: status line and headers (lowercased names), body.
fn get_raw(base: &str, path: &str) -> (String, Vec<(String, String)>, String) {
    let addr = base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, body) = response.split_once("\r\n\r\n").expect("a head");
    let mut lines = head.lines();
    let status = lines.next().unwrap_or_default().to_owned();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, body.to_owned())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} header in {headers:?}"))
}

#[test]
fn the_assets_are_served_with_their_types_and_a_strict_policy() {
    let env = Env::new();
    env.manifest(MANIFEST);
    let _host = env.start();
    let base = base_url(&env);
    for (path, kind) in [
        ("/", "text/html"),
        ("/assets/app.js", "text/javascript"),
        ("/assets/app.css", "text/css"),
    ] {
        let (status, headers, body) = get_raw(&base, path);
        assert!(status.contains(" 200 "), "{path}: {status}");
        assert!(header(&headers, "content-type").starts_with(kind), "{path}");
        let policy = header(&headers, "content-security-policy");
        assert!(policy.contains("default-src 'self'"), "{policy}");
        assert!(policy.contains("script-src 'self'"), "{policy}");
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        assert!(!body.is_empty(), "{path} is empty");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_loads_cleanly_and_moves_the_token_out_of_the_address() {
    let env = Env::new();
    env.manifest(MANIFEST);
    let _host = env.start();
    let answer = env.api(
        "/api/tasks",
        Some(&json!({ "tasks": [
            { "key": "a", "title": "Gather the figures", "tags": ["data"] },
            { "title": "Write the report", "depends_on": ["a"], "priority": "high" },
        ]})),
    );
    assert_eq!(answer.0, 200, "{}", answer.1);
    let first = answer.1["tasks"][0]["id"].as_str().unwrap().to_owned();
    let second = answer.1["tasks"][1]["id"].as_str().unwrap().to_owned();

    let browser = open(&env).await;
    let hash: String = browser.eval("location.hash").await.unwrap();
    assert_eq!(hash, "", "the token is cleared from the address bar");
    let stored: String = browser
        .eval("localStorage.getItem('hypernet.token')")
        .await
        .unwrap();
    assert_eq!(stored, token(&env));
    assert!(
        browser
            .wait_until(
                &format!("{} && {}", row_of(&first), row_of(&second)),
                Duration::from_secs(5)
            )
            .await
    );

    // Selecting a task shows it with its dependency graph.
    browser
        .click(&format!(".task-row[data-task=\"{second}\"]"))
        .await
        .unwrap();
    let graph = "document.querySelectorAll('#detail svg [data-node]').length === 2 \
         && document.querySelector('#detail h2').textContent === 'Write the report'";
    assert!(
        browser.wait_until(graph, Duration::from_secs(5)).await,
        "the detail and its graph of two tasks"
    );
    for panel in ["#workers .worker", "#plugins .plugin", "#budget .big"] {
        assert!(
            browser
                .wait_until(
                    &format!("document.querySelector('{panel}') !== null"),
                    Duration::from_secs(5)
                )
                .await,
            "{panel} is shown"
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let faults = faults(&browser);
    assert!(
        faults.is_empty(),
        "console errors or exceptions:\n{}",
        faults
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_filed_through_the_api_appears_within_a_second() {
    let env = Env::new();
    env.manifest(MANIFEST);
    let _host = env.start();
    let browser = open(&env).await;
    for n in 0..3 {
        let id = file(&env, json!({ "title": format!("Arrives live {n}") }));
        let filed = Instant::now();
        let shown = browser
            .wait_until(&row_of(&id), Duration::from_secs(1))
            .await;
        let took = filed.elapsed();
        assert!(
            shown && took <= Duration::from_secs(1),
            "{id} was not on the page within 1 s (after {took:?}); problems: {:?}",
            browser.problems()
        );
    }
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_form_files_a_task_and_shows_the_hosts_refusal() {
    let env = Env::new();
    env.manifest(MANIFEST);
    let _host = env.start();
    let browser = open(&env).await;

    browser
        .type_into("#file-title", "Write the onboarding guide")
        .await
        .unwrap();
    browser
        .type_into("#file-description", "For new workers.")
        .await
        .unwrap();
    browser
        .eval::<String>("document.querySelector('#file-priority').value = 'high'")
        .await
        .unwrap();
    browser
        .type_into("#file-tags", "docs, guide")
        .await
        .unwrap();
    browser.click("#file-submit").await.unwrap();
    let message = "document.querySelector('#file-message').textContent";
    assert!(
        browser
            .wait_until(
                &format!("{message}.startsWith('Filed T-')"),
                Duration::from_secs(5)
            )
            .await,
        "no confirmation; problems: {:?}",
        browser.problems()
    );
    let said: String = browser.eval(message).await.unwrap();
    let id = said
        .trim_start_matches("Filed ")
        .trim_end_matches('.')
        .to_owned();

    let (code, task) = env.api(&format!("/api/tasks/{id}"), None);
    assert_eq!(code, 200, "{task}");
    assert_eq!(task["title"], "Write the onboarding guide");
    assert_eq!(task["description"], "For new workers.");
    assert_eq!(task["priority"], "high");
    assert_eq!(task["tags"], json!(["docs", "guide"]));
    let (_, listed) = env.api("/api/tasks?limit=10", None);
    let listed = listed
        .as_array()
        .or_else(|| listed["items"].as_array())
        .cloned()
        .unwrap_or_default();
    assert!(listed.iter().any(|t| t["id"] == id.as_str()), "{listed:?}");
    assert!(
        browser
            .wait_until(&row_of(&id), Duration::from_secs(2))
            .await
    );
    let title: String = browser
        .eval("document.querySelector('#file-title').value")
        .await
        .unwrap();
    assert_eq!(title, "", "the form is cleared for the next task");

    // An empty title is caught before any request.
    browser.click("#file-submit").await.unwrap();
    let said: String = browser.eval(message).await.unwrap();
    assert_eq!(said, "A task needs a title.");

    // With a wrong token the host refuses, and its message is shown beside the form.
    browser.click("#token-toggle").await.unwrap();
    browser
        .type_into("#token-input", "not-the-token")
        .await
        .unwrap();
    browser
        .click("#token-form button[type=submit]")
        .await
        .unwrap();
    // The stream's refusal brings the token field back; type once the page is still.
    assert!(
        browser
            .wait_until(
                "!document.querySelector('#token-form').hidden \
                 && document.querySelector('#token-note').textContent.includes('refused')",
                Duration::from_secs(5)
            )
            .await,
        "the refused token is reported"
    );
    browser
        .type_into("#file-title", "Refused task")
        .await
        .unwrap();
    browser.click("#file-submit").await.unwrap();
    assert!(
        browser
            .wait_until(
                &format!("{message}.includes('token does not match')"),
                Duration::from_secs(5)
            )
            .await,
        "the refusal is shown; the form says {:?}",
        browser.eval::<String>(message).await
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token_the_page_asks_for_one() {
    let env = Env::new();
    env.manifest(MANIFEST);
    let _host = env.start();
    let browser = Browser::launch().await;
    browser.open(&base_url(&env)).await.unwrap();
    assert!(
        browser
            .wait_until(
                "document.body.dataset.ready === '1' && !document.querySelector('#token-form').hidden",
                Duration::from_secs(10)
            )
            .await,
        "the token field is shown"
    );
    let live: String = browser
        .eval("document.body.dataset.live || ''")
        .await
        .unwrap();
    assert_ne!(live, "1", "no stream without a token");
    browser
        .type_into("#token-input", &token(&env))
        .await
        .unwrap();
    browser
        .click("#token-form button[type=submit]")
        .await
        .unwrap();
    wait_live(&browser).await;
    let id = file(&env, json!({ "title": "Seen once the token is in" }));
    assert!(
        browser
            .wait_until(&row_of(&id), Duration::from_secs(2))
            .await
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_are_switched_off_and_on_from_the_page() {
    let env = Env::new();
    env.manifest(MANIFEST);
    let _host = env.start();
    let browser = open(&env).await;
    let row = "[data-plugin=\"example\"]";
    for (from, to) in [("loaded", "disabled"), ("disabled", "loaded")] {
        assert!(
            browser
                .wait_until(
                    &format!(
                        "document.querySelector('{row}[data-state=\"{from}\"] button') !== null"
                    ),
                    Duration::from_secs(5)
                )
                .await,
            "example is shown {from}"
        );
        browser.click(&format!("{row} button")).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let (_, status) = env.api("/api/plugins/example", None);
            if status["state"] == to {
                break;
            }
            assert!(Instant::now() < deadline, "the host still says {status}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            browser
                .wait_until(
                    &format!("document.querySelector('{row}').dataset.state === '{to}'"),
                    Duration::from_secs(2)
                )
                .await,
            "the page shows example {to}"
        );
    }
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_queue_keeps_only_the_visible_rows_in_the_page() {
    let env = Env::new();
    // Calls that take a minute: four run, the rest wait in the ready column.
    env.manifest(&MANIFEST.replace("latency_ms = 0", "latency_ms = 60000"));
    let _host = env.start();
    let browser = open(&env).await;
    let tasks: Vec<Value> = (0..1500)
        .map(|n| json!({ "title": format!("Queued task number {n}") }))
        .collect();
    let (code, answer) = env.api("/api/tasks", Some(&json!({ "tasks": tasks })));
    assert_eq!(code, 200, "{answer}");
    let ready = "document.querySelectorAll('.col-ready .task-row')";
    let count = "Number(document.querySelector('.col-ready .count').textContent)";
    assert!(
        browser
            .wait_until(&format!("{count} >= 1490"), Duration::from_secs(15))
            .await,
        "the ready column counts the queue: {:?}",
        browser.eval::<String>(&format!("String({count})")).await
    );
    let rows: usize = browser.eval(&format!("{ready}.length")).await.unwrap();
    assert!(
        (5..=60).contains(&rows),
        "{rows} rows in the DOM for 1,500 tasks"
    );
    let all_rows: usize = browser
        .eval("document.querySelectorAll('.task-row').length")
        .await
        .unwrap();
    assert!(all_rows <= 200, "{all_rows} rows on the whole board");

    // Scrolling far down shows rows from there, still only a screenful of them, promptly.
    let started = Instant::now();
    browser
        .eval::<f64>("document.querySelector('.col-ready .col-body').scrollTop = 30000")
        .await
        .unwrap();
    let far = "[...document.querySelectorAll('.col-ready .task-row')]\
               .some((r) => Number(r.style.transform.replace(/[^0-9.]/g, '')) >= 30000)";
    assert!(
        browser.wait_until(far, Duration::from_secs(2)).await,
        "rows are drawn where the column was scrolled to"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    let rows: usize = browser.eval(&format!("{ready}.length")).await.unwrap();
    assert!(rows <= 60, "{rows} rows after scrolling");
    assert!(faults(&browser).is_empty(), "{:?}", faults(&browser));
    browser.close().await;
}

/// A picture of a busy swarm for people: about fifty tasks, some chained, some failing,
/// calls of a few seconds, and one task selected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes a screenshot for people to look at; set HYPERNET_SCREENSHOT_DIR"]
async fn screenshot_of_a_busy_swarm() {
    let dir = std::env::var_os("HYPERNET_SCREENSHOT_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| hypernet_integration::target_dir().join("screenshots"));
    let env = Env::new();
    env.config("standing = []\n[scheduler]\nmax_attempts = 1\n");
    env.manifest(&MANIFEST.replace(
        "latency_ms = 0",
        "latency_ms = 2500\njitter_ms = 4000\nfailure_rate = 0.2\nseed = 7",
    ));
    let _host = env.start();
    let verbs = [
        "Review",
        "Draft",
        "Summarize",
        "Audit",
        "Refactor",
        "Triage",
        "Plan",
    ];
    let objects = [
        "the release notes",
        "reputation scores for March",
        "governance proposal GOV-0003",
        "the weekly budget report",
        "the HTTP API reference",
        "scheduler latency figures",
        "the onboarding guide",
    ];
    let priorities = ["low", "normal", "normal", "high", "critical"];
    let tags = ["docs", "code", "review", "governance"];
    let tasks: Vec<Value> = (0..50)
        .map(|n| {
            let mut task = json!({
                "key": format!("k{n}"),
                "title": format!("{} {} ({n})", verbs[n % 7], objects[(n * 3) % 7]),
                "description": "Filed for a look at the dashboard.",
                "priority": priorities[n % 5],
                "tags": [tags[n % 4]],
            });
            if n % 4 == 3 {
                task["depends_on"] = json!([format!("k{}", n - 2), format!("k{}", n / 3)]);
            }
            task
        })
        .collect();
    let (code, answer) = env.api("/api/tasks", Some(&json!({ "tasks": tasks })));
    assert_eq!(code, 200, "{answer}");
    let browser = open(&env).await;
    tokio::time::sleep(Duration::from_secs(12)).await;
    let chained = answer["tasks"][11]["id"].as_str().unwrap();
    browser
        .click(&format!(".task-row[data-task=\"{chained}\"]"))
        .await
        .ok();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let panels = "document.querySelector('.panels').offsetTop - 8";
    for (name, scroll, scheme) in [
        ("dashboard.png", "0", "light"),
        ("dashboard-panels.png", panels, "light"),
        ("dashboard-dark.png", "0", "dark"),
    ] {
        browser
            .page()
            .emulate_media_features(vec![MediaFeature {
                name: "prefers-color-scheme".into(),
                value: scheme.into(),
            }])
            .await
            .expect("a color scheme");
        browser
            .eval::<f64>(&format!("(window.scrollTo(0, {scroll}), 0)"))
            .await
            .expect("scroll");
        tokio::time::sleep(Duration::from_millis(200)).await;
        let path = browser
            .screenshot(dir.join(name))
            .await
            .expect("screenshot");
        eprintln!("wrote {}", path.display());
    }
    browser.close().await;
}

/// A loopback relay in front of the host that a test can cut: while it is closed, every
/// connection through it is dropped and new ones are refused. It notes the first line of
/// every request it relays.
struct Relay {
    port: u16,
    open: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    requests: Arc<Mutex<Vec<String>>>,
    accept: JoinHandle<()>,
}

impl Relay {
    async fn start(upstream: &str) -> Relay {
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let open = Arc::new(AtomicBool::new(true));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (gate, held, noted) = (open.clone(), connections.clone(), requests.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !gate.load(Ordering::SeqCst) {
                    continue;
                }
                let (upstream, noted) = (upstream.clone(), noted.clone());
                let relay = tokio::spawn(async move {
                    let mut head = [0u8; 1024];
                    if let Ok(n) = inbound.peek(&mut head).await {
                        let text = String::from_utf8_lossy(&head[..n]);
                        let line = text.lines().next().unwrap_or_default().to_owned();
                        noted.lock().unwrap().push(line);
                    }
                    if let Ok(mut outbound) = TcpStream::connect(&upstream).await {
                        let _ = copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                held.lock().unwrap().push(relay);
            }
        });
        Relay {
            port,
            open,
            connections,
            requests,
            accept,
        }
    }

    /// Drops every connection and refuses new ones until [`Relay::reopen`].
    fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }

    fn reopen(&self) {
        self.open.store(true, Ordering::SeqCst);
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_dropped_connection_the_page_catches_up_on_what_it_missed() {
    let env = Env::new();
    env.manifest(MANIFEST);
    let host = env.start();
    let relay = Relay::start(&host.url).await;
    let browser = Browser::launch().await;
    browser
        .open(&format!(
            "http://127.0.0.1:{}/#token={}",
            relay.port,
            token(&env)
        ))
        .await
        .expect("open through the relay");
    wait_live(&browser).await;
    let seen = file(&env, json!({ "title": "Seen live" }));
    assert!(
        browser
            .wait_until(&row_of(&seen), Duration::from_secs(2))
            .await
    );

    relay.cut();
    assert!(
        browser
            .wait_until("document.body.dataset.live === '0'", Duration::from_secs(5))
            .await,
        "the page notices the dropped stream"
    );
    let missed = file(&env, json!({ "title": "Filed while the page was away" }));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let early: bool = browser.eval(&row_of(&missed)).await.unwrap();
    assert!(!early, "nothing reaches the page while it is cut off");

    relay.reopen();
    wait_live(&browser).await;
    assert!(
        browser
            .wait_until(&row_of(&missed), Duration::from_secs(3))
            .await,
        "the replay brings the task filed meanwhile"
    );
    let resumed = relay
        .requests()
        .iter()
        .filter(|r| r.starts_with("GET /api/events?") && r.contains("after="))
        .count();
    assert!(resumed >= 1, "{:?}", relay.requests());
    browser.close().await;
}
