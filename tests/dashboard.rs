//! The dashboard at `/` in a real headless Chromium, against the real binary with the real
//! provider-sim and example plugin libraries: it loads cleanly under its security policy,
//! takes the token from the address, follows the event stream (and catches up after a
//! dropped connection), files tasks through its form, toggles plugins, and keeps a long
//! queue cheap by rendering only the rows in view.
//!
//! A busy swarm on a 1366×768 screen shows whole, without scrolling
//! ([`a_busy_swarm_fits_a_laptop_screen`]); that test writes `dashboard.png` and
//! `dashboard-dark.png` (the dark color scheme) to `HYPERNET_SCREENSHOT_DIR`, by default
//! `target/screenshots`, for people to look at (`docs/images` holds copies).
//!
//! A test with a browser has the machine alone ([`alone`], taken before its `Env`).

use crate::util::OPENAI_KEY;
use chromiumoxide::cdp::browser_protocol::emulation::MediaFeature;
use hypernet_integration::browser::Browser;
use hypernet_integration::mock_llm::{MockLlm, Reply};
use hypernet_integration::relay::Relay;
use hypernet_integration::turn::alone;
use hypernet_integration::{Env, Host};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

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

const READY_AND_LIVE: &str =
    "document.body.dataset.ready === '1' && document.body.dataset.live === '1'";
const FORM_MESSAGE: &str = "document.querySelector('#file-message').textContent";

/// A running host and, once opened, a browser on its dashboard; dropped in that order
/// (browser, host, folder).
struct Swarm {
    browser: Option<Browser>,
    host: Host,
    env: Env,
}

impl Swarm {
    /// A host with `manifest` (and `hypernet.toml` text when given).
    fn start(manifest: &str, config: Option<&str>) -> Swarm {
        let env = Env::new();
        if let Some(config) = config {
            env.config(config);
        }
        env.manifest(manifest);
        let host = env.start();
        Swarm {
            browser: None,
            host,
            env,
        }
    }

    /// A host with [`MANIFEST`] and the dashboard open on it, loaded and live.
    async fn open() -> Swarm {
        let mut swarm = Swarm::start(MANIFEST, None);
        swarm.browse(&dashboard_url(&swarm.env)).await;
        swarm
            .page()
            .expect(READY_AND_LIVE, LIVE, "the dashboard goes live")
            .await;
        swarm
    }

    /// A host whose provider-openai talks to `mock`, without streaming or personal time,
    /// with `workers` (and other `hypernet.toml` text after them), and the dashboard open
    /// on it, loaded and live.
    async fn open_on_openai_mock(mock: &MockLlm, workers: &str) -> Swarm {
        let env = Env::new();
        env.manifest(&format!(
            "[[plugin]]\nname = \"provider-openai\"\ncapabilities = [\"log\"]\n[plugin.config]\nbase_url = \"{}\"\napi_key_env = \"HN_TEST_OPENAI_KEY\"\n",
            mock.openai_base_url()
        ));
        env.config(&format!(
            "standing = []\n[http]\nstream = false\n[personal_time]\nenabled = false\n{workers}"
        ));
        let host = env.start_with_env(&OPENAI_KEY);
        let mut swarm = Swarm {
            browser: None,
            host,
            env,
        };
        swarm.browse(&dashboard_url(&swarm.env)).await;
        swarm
            .page()
            .expect(READY_AND_LIVE, LIVE, "the dashboard goes live")
            .await;
        swarm
    }

    /// Launches the browser at `url`.
    async fn browse(&mut self, url: &str) {
        let browser = Browser::launch().await;
        browser.open(url).await.expect("open the dashboard");
        self.browser = Some(browser);
    }

    fn page(&self) -> &Browser {
        self.browser.as_ref().expect("a browser is open")
    }

    /// Files a task through the API; its id.
    fn file(&self, body: Value) -> String {
        let (code, answer) = self.env.api("/api/tasks", Some(&body));
        assert_eq!(code, 200, "{answer}");
        answer["id"].as_str().expect("an id").to_owned()
    }

    async fn close(mut self) {
        if let Some(browser) = self.browser.take() {
            browser.close().await;
        }
    }
}

/// How long the page may take to load and open its stream (a cold browser on a busy
/// machine, or a reconnect after a few backoffs).
const LIVE: Duration = Duration::from_secs(15);

/// What `hypernet dashboard` prints: the page's address with the token in the fragment.
fn dashboard_url(env: &Env) -> String {
    let run = env.run(&["dashboard"]);
    let url = run.ok().trim().to_owned();
    let token = env.token();
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

/// Fails listing the page's console errors, uncaught exceptions and error log entries.
fn assert_no_problems(browser: &Browser) {
    let problems = browser.problems();
    let listed: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(
        problems.is_empty(),
        "console errors or exceptions:\n{}",
        listed.join("\n")
    );
}

/// A row of the board for this task exists.
fn row_of(id: &str) -> String {
    format!("document.querySelector('.task-row[data-task=\"{id}\"]') !== null")
}

#[test]
fn the_assets_are_served_with_their_types_and_a_strict_policy() {
    let swarm = Swarm::start(MANIFEST, None);
    for (path, kind) in [
        ("/", "text/html"),
        ("/assets/app.js", "text/javascript"),
        ("/assets/app.css", "text/css"),
    ] {
        let answer = swarm.env.request("GET", path, &[], b"");
        assert_eq!(answer.status, 200, "{path}");
        let header = |name| answer.header(name).unwrap_or_default();
        assert!(header("content-type").starts_with(kind), "{path}");
        let policy = header("content-security-policy");
        assert!(policy.contains("default-src 'self'"), "{policy}");
        assert!(policy.contains("script-src 'self'"), "{policy}");
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        assert!(!answer.body.is_empty(), "{path} is empty");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_loads_cleanly_and_moves_the_token_out_of_the_address() {
    let _alone = alone();
    let mut swarm = Swarm::start(MANIFEST, None);
    let (code, answer) = swarm.env.api(
        "/api/tasks",
        Some(&json!({ "tasks": [
            { "key": "a", "title": "Gather the figures", "tags": ["data"] },
            { "title": "Write the report", "depends_on": ["a"], "priority": "high" },
        ]})),
    );
    assert_eq!(code, 200, "{answer}");
    let first = answer["tasks"][0]["id"].as_str().unwrap().to_owned();
    let second = answer["tasks"][1]["id"].as_str().unwrap().to_owned();
    swarm.browse(&dashboard_url(&swarm.env)).await;
    let page = swarm.page();
    page.expect(READY_AND_LIVE, LIVE, "the dashboard goes live")
        .await;

    let hash: String = page.eval("location.hash").await.unwrap();
    assert_eq!(hash, "", "the token is cleared from the address bar");
    let stored: String = page
        .eval("localStorage.getItem('hypernet.token')")
        .await
        .unwrap();
    assert_eq!(stored, swarm.env.token());
    let both = format!("{} && {}", row_of(&first), row_of(&second));
    page.expect(&both, Duration::from_secs(5), "both tasks on the board")
        .await;

    page.click(&format!(".task-row[data-task=\"{second}\"]"))
        .await
        .unwrap();
    page.expect(
        "document.querySelectorAll('#detail svg [data-node]').length === 2 \
         && document.querySelector('#detail h2').textContent === 'Write the report'",
        Duration::from_secs(5),
        "the selected task with its graph of two tasks",
    )
    .await;
    for panel in ["#workers .worker", "#plugins .plugin", "#budget .big"] {
        let shown = format!("document.querySelector('{panel}') !== null");
        page.expect(&shown, Duration::from_secs(5), panel).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_no_problems(page);
    swarm.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_filed_through_the_api_appears_within_a_second() {
    let _alone = alone();
    let swarm = Swarm::open().await;
    for n in 0..3 {
        let id = swarm.file(json!({ "title": format!("Arrives live {n}") }));
        let filed = Instant::now();
        let shown = swarm
            .page()
            .wait_until(&row_of(&id), Duration::from_secs(1))
            .await;
        let took = filed.elapsed();
        assert!(
            shown && took <= Duration::from_secs(1),
            "{id} was not on the page within 1 s (after {took:?}); problems: {:?}",
            swarm.page().problems()
        );
    }
    swarm.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_form_files_a_task_and_shows_the_hosts_refusal() {
    let _alone = alone();
    let swarm = Swarm::open().await;
    let page = swarm.page();
    // The form opens over the board, its title ready for typing.
    page.click("#file-toggle").await.unwrap();
    page.expect(
        "!document.querySelector('#file-card').hidden \
         && document.activeElement === document.querySelector('#file-title')",
        Duration::from_secs(2),
        "the filing form is open",
    )
    .await;
    for (field, text) in [
        ("#file-title", "Write the onboarding guide"),
        ("#file-description", "For new workers."),
        ("#file-tags", "docs, guide"),
    ] {
        page.type_into(field, text).await.unwrap();
    }
    page.eval::<String>("document.querySelector('#file-priority').value = 'high'")
        .await
        .unwrap();
    page.click("#file-submit").await.unwrap();
    let confirmed = format!("{FORM_MESSAGE}.startsWith('Filed T-')");
    page.expect(
        &confirmed,
        Duration::from_secs(5),
        "the filing is confirmed",
    )
    .await;
    let said: String = page.eval(FORM_MESSAGE).await.unwrap();
    let id = said.trim_start_matches("Filed ").trim_end_matches('.');

    let (code, task) = swarm.env.api(&format!("/api/tasks/{id}"), None);
    assert_eq!(code, 200, "{task}");
    assert_eq!(task["title"], "Write the onboarding guide");
    assert_eq!(task["description"], "For new workers.");
    assert_eq!(task["priority"], "high");
    assert_eq!(task["tags"], json!(["docs", "guide"]));
    let (_, listed) = swarm.env.api("/api/tasks?limit=10", None);
    let listed = listed.as_array().or(listed["items"].as_array()).cloned();
    assert!(
        listed.unwrap_or_default().iter().any(|t| t["id"] == id),
        "{id} is listed"
    );
    page.expect(&row_of(id), Duration::from_secs(2), "the new task's row")
        .await;
    let title: String = page
        .eval("document.querySelector('#file-title').value")
        .await
        .unwrap();
    assert_eq!(title, "", "the form is cleared for the next task");

    // An empty title is caught before any request.
    page.click("#file-submit").await.unwrap();
    let said: String = page.eval(FORM_MESSAGE).await.unwrap();
    assert_eq!(said, "A task needs a title.");

    // With a wrong token the host refuses, and its message is shown beside the form.
    page.click("#token-toggle").await.unwrap();
    page.type_into("#token-input", "not-the-token")
        .await
        .unwrap();
    page.click("#token-form button[type=submit]").await.unwrap();
    // The stream's refusal brings the token field back; type once the page is still.
    page.expect(
        "!document.querySelector('#token-form').hidden \
         && document.querySelector('#token-note').textContent.includes('refused')",
        Duration::from_secs(5),
        "the refused token is reported",
    )
    .await;
    page.type_into("#file-title", "Refused task").await.unwrap();
    page.click("#file-submit").await.unwrap();
    let refused = format!("{FORM_MESSAGE}.includes('token does not match')");
    page.expect(&refused, Duration::from_secs(5), "the refusal is shown")
        .await;
    swarm.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token_the_page_asks_for_one() {
    let _alone = alone();
    let mut swarm = Swarm::start(MANIFEST, None);
    swarm.browse(&base_url(&swarm.env)).await;
    let page = swarm.page();
    page.expect(
        "document.body.dataset.ready === '1' && !document.querySelector('#token-form').hidden",
        Duration::from_secs(10),
        "the token field is shown",
    )
    .await;
    let live: String = page.eval("document.body.dataset.live || ''").await.unwrap();
    assert_ne!(live, "1", "no stream without a token");
    page.type_into("#token-input", &swarm.env.token())
        .await
        .unwrap();
    page.click("#token-form button[type=submit]").await.unwrap();
    page.expect(READY_AND_LIVE, LIVE, "live with the pasted token")
        .await;
    let id = swarm.file(json!({ "title": "Seen once the token is in" }));
    page.expect(&row_of(&id), Duration::from_secs(2), "the task arrives")
        .await;
    swarm.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_whose_reads_need_the_token_still_serves_a_working_page() {
    let _alone = alone();
    let config = "standing = []\n[api]\nread_requires_token = true\n";
    let mut swarm = Swarm::start(MANIFEST, Some(config));
    let (code, _) = swarm.env.api("/api/tasks", None);
    assert_eq!(code, 401, "reads need the token on this host");
    let id = swarm.file(json!({ "title": "Read with the token" }));
    swarm.browse(&dashboard_url(&swarm.env)).await;
    let page = swarm.page();
    page.expect(READY_AND_LIVE, LIVE, "the dashboard goes live")
        .await;
    page.expect(&row_of(&id), Duration::from_secs(5), "the task is read")
        .await;
    page.expect(
        "document.querySelector('#plugins .plugin') !== null && document.querySelector('#workers .worker') !== null",
        Duration::from_secs(5),
        "plugins and workers are read",
    )
    .await;
    assert_no_problems(page);
    swarm.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_answer_shows_as_it_arrives() {
    let _alone = alone();
    let mock = MockLlm::start();
    let pieces: Vec<String> = (0..60).map(|i| format!("word{i} ")).collect();
    let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
    mock.script(
        "/v1/chat/completions",
        [Reply::openai_stream_text(&refs, 11, 60).paced(Duration::from_millis(50))],
    );
    let env = Env::new();
    let host = env.start_on_openai_mock(&mock);
    let mut swarm = Swarm {
        browser: None,
        host,
        env,
    };
    swarm.browse(&dashboard_url(&swarm.env)).await;
    let page = swarm.page();
    page.expect(READY_AND_LIVE, LIVE, "the dashboard goes live")
        .await;
    let id = swarm.file(json!({ "title": "Write at length" }));
    page.expect(&row_of(&id), Duration::from_secs(2), "the task's row")
        .await;
    page.click(&format!(".task-row[data-task=\"{id}\"]"))
        .await
        .unwrap();
    page.expect(
        "/word[0-9]+ word[0-9]+/.test(document.querySelector('#detail .output.live')?.textContent || '')",
        Duration::from_secs(5),
        "the answer streams into the selected task",
    )
    .await;
    page.expect(
        "(document.querySelector('.worker[data-worker=\"Coder\"] .live')?.textContent || '').includes('word')",
        Duration::from_secs(2),
        "and onto its worker's card",
    )
    .await;
    page.expect(
        &format!(
            "document.querySelector('#detail .output:not(.live)')?.textContent === {}",
            json!(pieces.concat())
        ),
        Duration::from_secs(10),
        "the whole answer once completed",
    )
    .await;
    assert_no_problems(page);
    swarm.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_are_switched_off_and_on_from_the_page() {
    let _alone = alone();
    let swarm = Swarm::open().await;
    let page = swarm.page();
    let row = "[data-plugin=\"example\"]";
    for (from, to) in [("loaded", "disabled"), ("disabled", "loaded")] {
        let shown =
            format!("document.querySelector('{row}[data-state=\"{from}\"] button') !== null");
        page.expect(&shown, Duration::from_secs(5), from).await;
        page.click(&format!("{row} button")).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let (_, status) = swarm.env.api("/api/plugins/example", None);
            if status["state"] == to {
                break;
            }
            assert!(Instant::now() < deadline, "the host still says {status}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let now = format!("document.querySelector('{row}').dataset.state === '{to}'");
        page.expect(&now, Duration::from_secs(2), to).await;
    }
    swarm.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_paused_or_removed_from_the_command_line_show_at_once() {
    let _alone = alone();
    let swarm = Swarm::open().await;
    let page = swarm.page();
    // The page re-reads the workers on a `worker.*` event (at most every 3 s), and every
    // 15 s whatever happened.
    let badge = "document.querySelector('[data-worker=\"Trace\"] .state.paused') !== null";
    swarm.env.run(&["workers", "pause", "Trace"]).ok();
    page.expect(badge, Duration::from_secs(30), "Trace shown paused")
        .await;
    swarm.env.run(&["workers", "remove", "Keystone"]).ok();
    let gone = "document.querySelector('[data-worker=\"Keystone\"]') === null";
    page.expect(gone, Duration::from_secs(30), "Keystone gone")
        .await;
    swarm.env.run(&["workers", "resume", "Trace"]).ok();
    let resumed = "document.querySelector('[data-worker=\"Trace\"]') !== null \
         && document.querySelector('[data-worker=\"Trace\"] .state') === null";
    page.expect(resumed, Duration::from_secs(30), "Trace shown working")
        .await;
    assert_no_problems(page);
    swarm.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_queue_keeps_only_the_visible_rows_in_the_page() {
    let _alone = alone();
    // Calls that take a minute: four run, the rest wait in the ready column.
    let slow = MANIFEST.replace("latency_ms = 0", "latency_ms = 60000");
    // Past the default queue-depth limit (500), which would refuse the filing.
    let deep = "[swarm_limits]\nmax_task_queue_depth = { soft = 2000, hard = 5000 }\n";
    let mut swarm = Swarm::start(&slow, Some(deep));
    swarm.browse(&dashboard_url(&swarm.env)).await;
    swarm
        .page()
        .expect(READY_AND_LIVE, LIVE, "the dashboard goes live")
        .await;
    let tasks: Vec<Value> = (0..1500)
        .map(|n| json!({ "title": format!("Queued task number {n}") }))
        .collect();
    let (code, answer) = swarm
        .env
        .api("/api/tasks", Some(&json!({ "tasks": tasks })));
    assert_eq!(code, 200, "{answer}");
    let page = swarm.page();
    let ready = "document.querySelectorAll('.col-ready .task-row').length";
    let counted = "Number(document.querySelector('.col-ready .count').textContent) >= 1490";
    page.expect(
        counted,
        Duration::from_secs(15),
        "the ready column counts the queue",
    )
    .await;
    let rows: usize = page.eval(ready).await.unwrap();
    assert!(
        (5..=60).contains(&rows),
        "{rows} rows in the DOM for 1,500 tasks"
    );
    let all: usize = page
        .eval("document.querySelectorAll('.task-row').length")
        .await
        .unwrap();
    assert!(all <= 200, "{all} rows on the whole board");

    // Scrolling far down draws rows there, still only a screenful of them. The column
    // loads the queue in pages as its end comes into view, so the scroll is repeated until
    // the rows there are loaded, as a person keeps scrolling.
    page.expect(
        "(document.querySelector('.col-ready .col-body').scrollTop = 30000, \
         [...document.querySelectorAll('.col-ready .task-row')]\
         .some((r) => Number(r.style.transform.replace(/[^0-9.]/g, '')) >= 30000))",
        Duration::from_secs(10),
        "rows drawn where the column was scrolled to",
    )
    .await;
    let rows: usize = page.eval(ready).await.unwrap();
    assert!(rows <= 60, "{rows} rows after scrolling");
    assert_no_problems(page);
    swarm.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_dropped_connection_the_page_catches_up_on_what_it_missed() {
    let _alone = alone();
    let mut swarm = Swarm::start(MANIFEST, None);
    let relay = Relay::start(&swarm.host.url).await;
    let url = format!(
        "http://127.0.0.1:{}/#token={}",
        relay.port,
        swarm.env.token()
    );
    swarm.browse(&url).await;
    let page = swarm.page();
    page.expect(READY_AND_LIVE, LIVE, "live through the relay")
        .await;
    let seen = swarm.file(json!({ "title": "Seen live" }));
    page.expect(&row_of(&seen), Duration::from_secs(2), "a live task")
        .await;

    relay.cut();
    let offline = "document.body.dataset.live === '0'";
    page.expect(offline, Duration::from_secs(5), "the drop is noticed")
        .await;
    let missed = swarm.file(json!({ "title": "Filed while the page was away" }));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let early: bool = page.eval(&row_of(&missed)).await.unwrap();
    assert!(!early, "nothing reaches the page while it is cut off");

    relay.reopen();
    page.expect(READY_AND_LIVE, LIVE, "live again").await;
    page.expect(
        &row_of(&missed),
        Duration::from_secs(3),
        "the replay brings the task filed meanwhile",
    )
    .await;
    let resumed = relay
        .requests()
        .iter()
        .any(|r| r.starts_with("GET /api/events?") && r.contains("after="));
    assert!(resumed, "{:?}", relay.requests());
    swarm.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_shows_in_its_column_and_is_answered_from_the_page() {
    let _alone = alone();
    let mock = MockLlm::start();
    let asks = "I need one thing.\n```signal\n{\"type\": \"clarification_needed\", \"question\": \"Which wall?\"}\n```";
    mock.script(
        "/v1/chat/completions",
        [
            Reply::openai_text(asks, 10, 5),
            Reply::openai_text("Painted the north wall.", 10, 5),
        ],
    );
    let env = Env::on_mock_providers(
        &mock,
        "openai/gpt-4o-mini",
        "[http]\nstream = false\n[tools]\nenabled = false\n[personal_time]\nenabled = false\n",
    );
    let host = env.start_with_env(&OPENAI_KEY);
    let mut swarm = Swarm {
        browser: None,
        host,
        env,
    };
    let id = swarm.file(json!({ "title": "Paint the wall" }));
    swarm.browse(&dashboard_url(&swarm.env)).await;
    let page = swarm.page();
    page.expect(READY_AND_LIVE, LIVE, "the dashboard goes live")
        .await;
    let waiting = format!(".col-input .task-row[data-task=\"{id}\"]");
    page.expect(
        &format!("document.querySelector('{waiting}') !== null"),
        Duration::from_secs(10),
        "the task in the Needs input column",
    )
    .await;
    page.click(&waiting).await.unwrap();
    page.expect(
        "document.querySelector('#detail .questions dt')?.textContent === 'Coder asks: Which wall?'",
        Duration::from_secs(5),
        "the question in the task's view",
    )
    .await;
    page.expect(
        "document.querySelector('#detail .answer-form textarea') !== null",
        Duration::from_secs(5),
        "the answer form",
    )
    .await;
    page.type_into("#detail .answer-form textarea", "The north one.")
        .await
        .unwrap();
    page.click("#detail .answer-form button").await.unwrap();
    page.expect(
        &format!("document.querySelector('.col-finished .task-row[data-task=\"{id}\"][data-status=\"completed\"]') !== null"),
        Duration::from_secs(10),
        "the answered task completes",
    )
    .await;
    let task = swarm.env.api(&format!("/api/tasks/{id}"), None).1;
    assert_eq!(task["status"], "completed", "{task}");
    assert_eq!(task["clarifications"][0]["answer"], "The north one.");
    assert_eq!(task["result"]["text"], "Painted the north wall.");
    assert_no_problems(page);
    swarm.close().await;
}

/// Polls the host until `f` gives a value, for up to ten seconds.
async fn until(what: &str, mut f: impl FnMut() -> Option<Value>) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(value) = f() {
            return value;
        }
        assert!(Instant::now() < deadline, "{what}: still not so after 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The panel's row of request `id` exists in its `part` (`pending` or `decided`).
fn request_in(part: &str, id: &str) -> String {
    format!("document.querySelector('#approvals .{part} [data-approval=\"{id}\"]')")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_shell_calls_are_approved_and_denied_from_the_page() {
    let _alone = alone();
    let mock = MockLlm::start();
    mock.script(
        "/v1/chat/completions",
        [
            Reply::openai_tool_call("shell", json!({"argv": ["echo", "hi"]}), 10, 10),
            Reply::openai_text("Done.", 10, 5),
            Reply::openai_tool_call("shell", json!({"argv": ["echo", "bye"]}), 10, 10),
            Reply::openai_text("Done.", 10, 5),
        ],
    );
    // One worker at tier 3 with the `shell` grant: its shell calls wait for a person.
    let swarm = Swarm::open_on_openai_mock(
        &mock,
        "[tools]\nshell_allow = [\"echo\"]\n\
         [[worker]]\nname = \"Coder\"\naccount = \"2.1\"\nmodel = \"openai/gpt-4o-mini\"\ntier = 3\ngrants = [\"shell\"]\n",
    )
    .await;
    let page = swarm.page();
    let empty = "document.querySelector('#approvals .empty')?.textContent === 'Nothing waits for approval.'";
    page.expect(empty, Duration::from_secs(5), "an empty queue")
        .await;

    // The first call is held: the request shows with its tool, arguments and task.
    let first = swarm.file(json!({ "title": "Greet the shell", "max_attempts": 1 }));
    let row = request_in("pending", "AQ-0001");
    page.expect(
        &format!("{row} !== null"),
        Duration::from_secs(10),
        "the request in the panel",
    )
    .await;
    let shown: Value = page
        .eval(&format!(
            "(() => {{ const r = {row}; return {{ tool: r.querySelector('.tool').textContent, \
             args: r.querySelector('.args').textContent, task: r.querySelector('button.link').textContent, \
             expires: r.querySelector('.expires').textContent }}; }})()"
        ))
        .await
        .unwrap();
    assert_eq!(shown["tool"], "shell", "{shown}");
    assert_eq!(shown["args"], r#"{"argv":["echo","hi"]}"#, "{shown}");
    assert_eq!(shown["task"], first.as_str(), "{shown}");
    assert!(
        shown["expires"]
            .as_str()
            .unwrap_or_default()
            .starts_with("expires in 23h"),
        "{shown}"
    );
    // Its task link selects the task, which says what it waits on.
    page.click("#approvals .pending [data-approval=\"AQ-0001\"] button.link")
        .await
        .unwrap();
    page.expect(
        &format!(
            "document.querySelector('#detail .tid')?.textContent === '{first}' \
             && document.querySelector('#detail').textContent.includes('Waits on approval request AQ-0001')"
        ),
        Duration::from_secs(5),
        "the waiting task selected",
    )
    .await;

    page.click("#approvals [data-approval=\"AQ-0001\"] button[data-action=\"approve\"]")
        .await
        .unwrap();
    page.expect(
        &format!(
            "{} === null && {}?.dataset.status === 'approved' \
             && {}.textContent.includes('ran ok')",
            row,
            request_in("decided", "AQ-0001"),
            request_in("decided", "AQ-0001"),
        ),
        Duration::from_secs(5),
        "the request leaves the pending list, approved and run",
    )
    .await;
    let task = until("the approved task completes", || {
        let t = swarm.env.api(&format!("/api/tasks/{first}"), None).1;
        (t["status"] == "completed" || t["status"] == "failed").then_some(t)
    })
    .await;
    assert_eq!(task["status"], "completed", "{task}\n{}", swarm.host.log());
    let record = swarm.env.api("/api/approvals/AQ-0001", None).1;
    assert_eq!(record["status"], "approved", "{record}");
    assert_eq!(record["execution"]["state"], "done", "{record}");
    assert_eq!(record["execution"]["ok"], true, "{record}");
    page.expect(
        &format!(
            "document.querySelector('.col-finished .task-row[data-task=\"{first}\"][data-status=\"completed\"]') !== null"
        ),
        Duration::from_secs(5),
        "the task completed on the board",
    )
    .await;

    // The second is denied, with the reason typed into its row.
    let second = swarm.file(json!({ "title": "Say goodbye", "max_attempts": 1 }));
    let row = request_in("pending", "AQ-0002");
    page.expect(
        &format!("{row}?.querySelector('.args').textContent === '{{\"argv\":[\"echo\",\"bye\"]}}'"),
        Duration::from_secs(10),
        "the second request in the panel",
    )
    .await;
    page.type_into(
        "#approvals [data-approval=\"AQ-0002\"] input[name=\"reason\"]",
        "not this time",
    )
    .await
    .unwrap();
    page.click("#approvals [data-approval=\"AQ-0002\"] button[data-action=\"deny\"]")
        .await
        .unwrap();
    let decided = request_in("decided", "AQ-0002");
    page.expect(
        &format!(
            "{row} === null && {decided}?.dataset.status === 'rejected' \
             && {decided}.textContent.includes('not this time')"
        ),
        Duration::from_secs(5),
        "the request is shown rejected with its reason",
    )
    .await;
    let record = swarm.env.api("/api/approvals/AQ-0002", None).1;
    assert_eq!(record["status"], "rejected", "{record}");
    assert_eq!(record["note"], "not this time", "{record}");
    assert!(record.get("execution").is_none(), "it never ran: {record}");
    let task = until("the refused task completes", || {
        let t = swarm.env.api(&format!("/api/tasks/{second}"), None).1;
        (t["status"] == "completed" || t["status"] == "failed").then_some(t)
    })
    .await;
    assert_eq!(task["status"], "completed", "{task}\n{}", swarm.host.log());
    page.expect(empty, Duration::from_secs(5), "nothing waits any more")
        .await;
    assert_no_problems(page);
    swarm.close().await;
}

/// The bus panel's row of message `id`, as `{who, status, body}` (null while absent).
fn bus_row(id: &str) -> String {
    format!(
        "(() => {{ const r = document.querySelector('#bus [data-message=\"{id}\"]'); \
         return r && {{ who: r.querySelector('.who').textContent, status: r.dataset.status, \
         body: r.querySelector('.body').textContent }}; }})()"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_between_workers_show_live_in_their_panel() {
    let _alone = alone();
    let mock = MockLlm::start();
    mock.script(
        "/v1/chat/completions",
        [
            Reply::openai_tool_call(
                "send_message",
                json!({"to": "reviewer", "body": "Please review the parser."}),
                10,
                5,
            ),
            Reply::openai_text("Written.", 10, 5),
            Reply::openai_text("Reviewed.", 10, 5),
        ],
    );
    let swarm = Swarm::open_on_openai_mock(
        &mock,
        "[[worker]]\nname = \"Coder\"\naccount = \"2.1\"\nmodel = \"openai/gpt-4o-mini\"\ncapabilities = [\"code\"]\n\
         [[worker]]\nname = \"Reviewer\"\naccount = \"2.1\"\nmodel = \"openai/gpt-4o-mini\"\ncapabilities = [\"review\"]\n",
    )
    .await;
    let page = swarm.page();
    let empty =
        "document.querySelector('#bus .note')?.textContent === 'No messages between workers.'";
    page.expect(empty, Duration::from_secs(5), "an empty panel")
        .await;

    swarm.file(json!({ "title": "Write the parser", "tags": ["code"] }));
    let row = bus_row("WM-000001");
    page.expect(
        &format!("{row}?.status === 'delivered'"),
        Duration::from_secs(10),
        "the message in the panel",
    )
    .await;
    let shown: Value = page.eval(&row).await.unwrap();
    assert_eq!(shown["who"], "Coder → Reviewer", "{shown}");
    assert_eq!(shown["body"], "Please review the parser.", "{shown}");

    // Once the recipient's next prompt shows it, the panel says it was read.
    swarm.file(json!({ "title": "Review the parser", "tags": ["review"] }));
    page.expect(
        &format!("{row}?.status === 'read'"),
        Duration::from_secs(10),
        "the message read",
    )
    .await;
    assert_eq!(
        page.eval::<String>("document.querySelector('#bus-note').textContent")
            .await
            .unwrap(),
        "1"
    );
    assert_no_problems(page);
    swarm.close().await;
}

const CHAT: &str = "/v1/chat/completions";

/// Four workers on the OpenAI mock whose shell calls wait for a person, a daily limit, one
/// automatic retry ten minutes after a failure, calls that may take minutes, and the
/// example plugin beside the provider.
const LAPTOP_CONFIG: &str = "\
standing = []
[http]
stream = false
max_retries = 0
request_timeout_ms = 600000
[scheduler]
retry_backoff_ms = 600000
retry_backoff_max_ms = 600000
[budget]
daily_limit_usd = 5.0
[budget.targets]
identity_usd = 0.00001
work_usd = 1.0
[personal_time]
enabled = false
# One call per task: the busy board shows four running and four reserved behind them.
[batching]
enabled = false
[tools]
shell_allow = [\"echo\"]
";

/// The host's status of task `id`, once `done` says it has reached the wanted state.
async fn settled(swarm: &Swarm, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    until(what, || {
        let task = swarm.env.api(&format!("/api/tasks/{id}"), None).1;
        done(&task).then_some(task)
    })
    .await
}

/// A swarm with work in every state: completed, failed for good (with a task blocked on
/// it), failed and waiting for its automatic retry, waiting on an approval, asking a
/// question, cancelled, four calls running with four more tasks reserved behind them, a
/// queue, a chain of four, and a plugin disabled. Each task's answer is scripted before it
/// is filed, and the host reports each state before the next task is filed.
async fn busy_swarm(mock: &MockLlm) -> (Swarm, BusyIds) {
    let env = Env::new();
    env.manifest(&format!(
        "[[plugin]]\nname = \"provider-openai\"\ncapabilities = [\"log\"]\n[plugin.config]\n\
         base_url = \"{}\"\napi_key_env = \"HN_TEST_OPENAI_KEY\"\n\n\
         [[plugin]]\nname = \"example\"\ncapabilities = [\"kv\", \"events\", \"log\"]\n",
        mock.openai_base_url()
    ));
    let workers: String = ["Keystone", "Trace", "Herald", "Librarian"]
        .iter()
        .map(|name| {
            format!(
                "[[worker]]\nname = \"{name}\"\naccount = \"2.1\"\nmodel = \"openai/gpt-4o-mini\"\n\
                 tier = 3\ngrants = [\"shell\"]\n"
            )
        })
        .collect();
    env.config(&format!("{LAPTOP_CONFIG}{workers}"));
    let host = env.start_with_env(&OPENAI_KEY);
    let swarm = Swarm {
        browser: None,
        host,
        env,
    };
    let status = |s: &'static str| move |t: &Value| t["status"] == s;

    mock.script(
        CHAT,
        [Reply::openai_text(
            "The changelog is written.",
            200_000,
            40_000,
        )],
    );
    let completed = swarm.file(json!({ "title": "Write the changelog for release 0.4" }));
    settled(&swarm, &completed, "completed", status("completed")).await;

    // A refused request cannot succeed on another attempt: failed for good.
    mock.script(
        CHAT,
        [Reply::openai_error(
            400,
            "invalid_request_error",
            "invalid_value",
            "The request names an unknown parameter",
        )],
    );
    let failed =
        swarm.file(json!({ "title": "Convert the legacy configuration", "max_attempts": 3 }));
    settled(&swarm, &failed, "failed for good", |t| {
        t["status"] == "failed" && t["retry_at_ms"].is_null()
    })
    .await;

    // A server error with attempts left: retried in ten minutes.
    mock.script(
        CHAT,
        [Reply::openai_error(
            503,
            "server_error",
            "overloaded",
            "The server is overloaded",
        )],
    );
    let retrying =
        swarm.file(json!({ "title": "Fetch the partner price feed", "max_attempts": 3 }));
    settled(&swarm, &retrying, "failed, retry scheduled", |t| {
        t["status"] == "failed" && t["retry_at_ms"].is_u64()
    })
    .await;

    mock.script(
        CHAT,
        [Reply::openai_tool_call(
            "shell",
            json!({"argv": ["echo", "deploying the docs"]}),
            10,
            10,
        )],
    );
    let approval =
        swarm.file(json!({ "title": "Deploy the documentation site", "priority": "high" }));
    settled(
        &swarm,
        &approval,
        "waiting on an approval",
        status("needs_input"),
    )
    .await;

    let asks = "I need one thing.\n```signal\n{\"type\": \"clarification_needed\", \"question\": \"Which colour for the north wall?\"}\n```";
    mock.script(CHAT, [Reply::openai_text(asks, 10, 5)]);
    let question = swarm.file(json!({ "title": "Paint the north wall" }));
    settled(
        &swarm,
        &question,
        "asking a question",
        status("needs_input"),
    )
    .await;

    // Calls that outlast the test: four run, four are reserved behind them, the rest wait.
    mock.script(
        CHAT,
        (0..12).map(|_| Reply::openai_text("Done.", 10, 5).after(Duration::from_secs(300))),
    );
    let queue = [
        ("Review the HTTP API reference", "high", "docs"),
        ("Summarize scheduler latency figures", "normal", "code"),
        (
            "Audit governance proposal GOV-0003",
            "critical",
            "governance",
        ),
        ("Draft the weekly budget report", "normal", "docs"),
        ("Triage reputation scores for March", "low", "review"),
        ("Refactor the outbox courier", "normal", "code"),
        ("Plan the onboarding guide", "low", "docs"),
        ("Review the release notes", "high", "review"),
        ("Translate the README into French", "low", "docs"),
        ("Benchmark the event log on 100k tasks", "normal", "code"),
    ];
    let mut tasks: Vec<Value> = vec![
        json!({ "key": "c1", "title": "Gather the usage figures", "priority": "critical", "tags": ["data"] }),
        json!({ "key": "c2", "title": "Chart the usage figures", "depends_on": ["c1"], "tags": ["data"] }),
        json!({ "key": "c3", "title": "Write the usage report", "depends_on": ["c2"], "tags": ["data"] }),
        json!({ "key": "c4", "title": "Send the usage report to the board", "depends_on": ["c3"], "tags": ["data"] }),
        json!({ "title": "Migrate the legacy configuration", "depends_on": [failed], "tags": ["code"] }),
        json!({ "title": "Announce the documentation site", "priority": "low" }),
    ];
    tasks.extend(queue.iter().map(
        |(title, priority, tag)| json!({ "title": title, "priority": priority, "tags": [tag] }),
    ));
    let (code, answer) = swarm
        .env
        .api("/api/tasks", Some(&json!({ "tasks": tasks })));
    assert_eq!(code, 200, "{answer}");
    let id = |n: usize| answer["tasks"][n]["id"].as_str().unwrap().to_owned();
    let chain = [id(0), id(1), id(2), id(3)];
    let cancelled = id(5);
    let (code, answer) = swarm.env.act(&format!("/api/tasks/{cancelled}/cancel"));
    assert_eq!(code, 200, "{answer}");
    let (code, answer) = swarm.env.act("/api/plugins/example/disable");
    assert_eq!(code, 200, "{answer}");
    until("four running and four reserved", || {
        let status = swarm.env.api("/api/status", None).1;
        (status["tasks"]["running"] == 4 && status["tasks"]["assigned"] == 4).then_some(status)
    })
    .await;
    let ids = BusyIds {
        completed,
        failed,
        retrying,
        approval,
        question,
        chain,
    };
    (swarm, ids)
}

/// The tasks of [`busy_swarm`] that the checks look at.
struct BusyIds {
    completed: String,
    failed: String,
    retrying: String,
    approval: String,
    question: String,
    chain: [String; 4],
}

/// Where the page's parts are at 1366×768, measured in the page: the viewport, the
/// document's size, whether the board and each summary panel (its header and first row)
/// lie inside the viewport, headers cut short, and board columns too narrow for titles.
const LAYOUT: &str = "(() => {
  const vw = innerWidth, vh = innerHeight;
  const inView = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0 && r.bottom <= vh && r.right <= vw;
  };
  const panels = {};
  for (const name of ['workers', 'budget', 'approvals', 'plugins', 'failures']) {
    const panel = document.querySelector(`#${name}-panel`);
    const body = panel.querySelector('.panel-body');
    const first = body.firstElementChild;
    const b = body.getBoundingClientRect();
    const f = first && first.getBoundingClientRect();
    panels[name] = {
      panel: inView(panel),
      header: inView(panel.querySelector('h2')),
      first_row: Boolean(f) && f.height > 0 && f.top >= b.top && f.top + 14 <= b.bottom && f.top + 14 <= vh,
    };
  }
  const cut = (el) => el.scrollWidth > el.clientWidth;
  return {
    viewport: [vw, vh],
    document: [document.documentElement.scrollWidth, document.documentElement.scrollHeight],
    board: inView(document.querySelector('#board')),
    columns: [...document.querySelectorAll('.col h3')].map((h) => h.textContent),
    panels,
    cut_headers: [...document.querySelectorAll('.col > header, .col h3, .panel > h2, #summary')]
      .filter(cut)
      .map((el) => el.textContent),
    narrow_columns: [...document.querySelectorAll('.col')]
      .filter((c) => c.querySelector('.task-row') && c.getBoundingClientRect().width < 170)
      .map((c) => c.dataset.column),
    unexplained_markers: [...document.querySelectorAll('.prio, .dot, .chip')]
      .filter((m) => !m.title)
      .map((m) => m.outerHTML),
  };
})()";

/// Fails unless the page fills exactly the 1366×768 viewport without scrolling, with the
/// board and each summary panel (and its header) inside it and no header cut short.
fn assert_fits(layout: &Value) {
    assert_eq!(layout["viewport"], json!([1366, 768]), "{layout}");
    assert_eq!(
        layout["document"],
        json!([1366, 768]),
        "the page itself does not scroll: {layout}"
    );
    assert_eq!(layout["board"], true, "{layout}");
    for (name, panel) in layout["panels"].as_object().unwrap() {
        assert_eq!(panel["panel"], true, "the {name} panel in view: {layout}");
        assert_eq!(panel["header"], true, "the {name} panel's header: {layout}");
    }
    assert_eq!(layout["cut_headers"], json!([]), "{layout}");
}

/// The text of the header's figure `stat`.
fn stat(name: &str) -> String {
    format!("document.querySelector('#summary [data-stat=\"{name}\"] dd')?.textContent")
}

/// Whether every node of the selected task's graph is drawn inside the graph's panel,
/// in view without scrolling it: `n` nodes.
fn whole_graph(n: usize) -> String {
    format!(
        "(() => {{ const g = document.querySelector('#detail .graph')?.getBoundingClientRect(); \
         const nodes = [...document.querySelectorAll('#detail .graph [data-node]')]; \
         return Boolean(g) && nodes.length === {n} && nodes.every((node) => {{ \
           const r = node.getBoundingClientRect(); \
           return r.left >= g.left - 1 && r.right <= g.right + 1 && r.top >= g.top - 1 \
             && r.bottom <= g.bottom + 1 && r.bottom <= innerHeight; }}); }})()"
    )
}

/// A busy swarm on a 1366×768 laptop screen: the board and every summary panel in view
/// without scrolling, headers whole, the figures right, and pictures of it (light and
/// dark) written to `HYPERNET_SCREENSHOT_DIR` (default `target/screenshots`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_swarm_fits_a_laptop_screen() {
    let _alone = alone();
    let mock = MockLlm::start();
    let (mut swarm, ids) = busy_swarm(&mock).await;
    swarm.browse(&dashboard_url(&swarm.env)).await;
    let page = swarm.page();
    page.expect(READY_AND_LIVE, LIVE, "the dashboard goes live")
        .await;
    let summary = swarm.env.api("/api/summary", None).1;
    let count = |s: &str| summary["by_status"][s].as_u64().unwrap_or(0);
    let (running, reserved) = (count("running"), count("assigned"));
    assert!(running > 0 && reserved > 0, "{summary}");
    let (done, failed) = (count("completed"), count("failed"));

    // Everything the checks read is on the page.
    let loaded = format!(
        "{} === '{running}' && {} === '{reserved}' && {} === '{done}' && {} === '{failed}' \
         && document.querySelectorAll('#workers .worker').length === 4 \
         && document.querySelector('#budget .big') !== null \
         && document.querySelector('#budget .cost-categories .badge.bad')?.textContent.startsWith('identity') \
         && document.querySelector('#budget .cost-categories')?.textContent.includes('work $0.0') \
         && document.querySelector('#budget .cost-month')?.textContent.startsWith('month $0.05') \
         && document.querySelector('#approvals .pending .approval') !== null \
         && document.querySelector('[data-plugin=\"example\"]')?.dataset.state === 'disabled' \
         && document.querySelectorAll('#failures .failure').length === 2 \
         && {} && {}",
        stat("running"),
        stat("reserved"),
        stat("done"),
        stat("failed"),
        row_of(&ids.question),
        row_of(&ids.completed),
    );
    page.expect(
        &loaded,
        Duration::from_secs(10),
        "the busy swarm on the page",
    )
    .await;

    // The board and a compact view of every panel, each with its first row, are on the
    // screen without scrolling; headers are whole, columns wide enough for titles, and
    // every colour marker says what it means.
    let layout: Value = page.eval(LAYOUT).await.unwrap();
    assert_fits(&layout);
    for (name, panel) in layout["panels"].as_object().unwrap() {
        assert_eq!(
            panel["first_row"], true,
            "the {name} panel's first row: {layout}"
        );
    }
    assert_eq!(
        layout["columns"],
        json!(["Waiting", "Ready", "Running", "Needs input", "Finished"]),
        "{layout}"
    );
    assert_eq!(layout["narrow_columns"], json!([]), "{layout}");
    assert_eq!(layout["unexplained_markers"], json!([]), "{layout}");
    let legend: String = page
        .eval("[...document.querySelectorAll('#legend .prio')].map((p) => p.title).join(', ')")
        .await
        .unwrap();
    assert_eq!(
        legend,
        "critical priority, high priority, normal priority, low priority"
    );

    // Running counts only the calls in flight; a task reserved for a busy worker is not.
    let column: String = page
        .eval("document.querySelector('.col-running .count').textContent")
        .await
        .unwrap();
    assert_eq!(column, running.to_string(), "the Running column's count");
    for id in [&ids.approval, &ids.question] {
        let waits =
            format!("document.querySelector('.col-input .task-row[data-task=\"{id}\"]') !== null");
        assert!(
            page.wait_until(&waits, Duration::from_secs(1)).await,
            "{id} needs input"
        );
    }

    // The task waiting for its automatic retry says when, with nothing to press; the one
    // that failed for good has its Retry button.
    let failure = |id: &str| format!("document.querySelector('#failures [data-task=\"{id}\"]')");
    let retrying: Value = page
        .eval(&format!(
            "(() => {{ const r = {}; return {{ button: [...r.querySelectorAll('button')].some((b) => b.textContent === 'Retry'), \
             note: r.querySelector('.retrying')?.textContent || '' }}; }})()",
            failure(&ids.retrying)
        ))
        .await
        .unwrap();
    assert_eq!(retrying["button"], false, "{retrying}");
    let note = retrying["note"].as_str().unwrap_or_default();
    assert!(
        note.starts_with("retrying at ") && note.contains(" · in "),
        "{retrying}"
    );
    let retry_button = format!(
        "{}.querySelector('button[data-action=\"retry\"]')?.textContent",
        failure(&ids.failed)
    );
    let button: String = page.eval(&retry_button).await.unwrap();
    assert_eq!(button, "Retry");
    // The selected task's view agrees.
    page.click(&format!(
        "#failures [data-task=\"{}\"] button.link",
        ids.retrying
    ))
    .await
    .unwrap();
    page.expect(
        &format!(
            "document.querySelector('#detail .tid')?.textContent === '{}' \
             && document.querySelector('#detail .retrying')?.textContent.startsWith('retrying at ') \
             && document.querySelector('#detail [data-action=\"retry\"]') === null",
            ids.retrying
        ),
        Duration::from_secs(5),
        "the retrying task's view, without Retry",
    )
    .await;
    page.click(&format!(
        "#failures [data-task=\"{}\"] button.link",
        ids.failed
    ))
    .await
    .unwrap();
    page.expect(
        &format!(
            "document.querySelector('#detail .tid')?.textContent === '{}' \
             && document.querySelector('#detail [data-action=\"retry\"]') !== null",
            ids.failed
        ),
        Duration::from_secs(5),
        "the failed task's view, with Retry",
    )
    .await;

    // The graph of a task in the middle of a chain of four shows all four, in view.
    page.click(&format!(".task-row[data-task=\"{}\"]", ids.chain[2]))
        .await
        .unwrap();
    page.expect(
        &whole_graph(4),
        Duration::from_secs(5),
        "the whole chain in the selected task's graph",
    )
    .await;
    for id in &ids.chain {
        let node = format!("document.querySelector('#detail [data-node=\"{id}\"]') !== null");
        assert!(page.wait_until(&node, Duration::from_secs(1)).await, "{id}");
    }

    // With a task open, everything still fits the screen.
    let layout: Value = page.eval(LAYOUT).await.unwrap();
    assert_fits(&layout);

    let dir = std::env::var_os("HYPERNET_SCREENSHOT_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| hypernet_integration::target_dir().join("screenshots"));
    for (name, scheme) in [("dashboard.png", "light"), ("dashboard-dark.png", "dark")] {
        let feature = MediaFeature {
            name: "prefers-color-scheme".into(),
            value: scheme.into(),
        };
        page.page()
            .emulate_media_features(vec![feature])
            .await
            .expect("a color scheme");
        let dark = format!(
            "matchMedia('(prefers-color-scheme: dark)').matches === {}",
            scheme == "dark"
        );
        page.expect(&dark, Duration::from_secs(2), scheme).await;
        let path = page.screenshot(dir.join(name)).await.expect("screenshot");
        let png = std::fs::read(&path).expect("the screenshot");
        assert!(png.starts_with(b"\x89PNG"), "{}", path.display());
        eprintln!("wrote {}", path.display());
    }
    assert_no_problems(page);
    swarm.close().await;
}
