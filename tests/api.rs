//! The HTTP API end to end, against the real binary and provider-sim: every route answers
//! with its documented shape, every refusal with `{"error": {"code", "message"}}` and its
//! status, the bearer token is demanded where it must be and never given away, and no
//! other origin is granted anything.
//!
//! Each test starts one host and groups its cases, so the suite costs four host starts.

mod auth;
mod refusals;
mod round_trips;
mod strict;
mod work;

use hypernet_integration::{Env, Host, Response, eventually};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Each simulated call: 3 input and 7 output tokens, at once.
const SIM: &str = "[[plugin]]\nname = \"provider-sim\"\ncapabilities = [\"log\"]\n[plugin.config]\ninput_tokens = 3\noutput_tokens = 7\n";
const EXAMPLE: &str =
    "[[plugin]]\nname = \"example\"\ncapabilities = [\"kv\", \"events\", \"log\"]\n";
/// With these prices a call costs 3 × 1 + 7 × 2 micro-dollars.
const PRICED: &str =
    "[budget.prices]\n\"sim/\" = { input_per_mtok = 1.0, output_per_mtok = 2.0 }\n";
const CALL_TOKENS: u64 = 10;
const CALL_MICROS: u64 = 17;
const SOLO: &str = "[[worker]]\nname = \"Solo\"\naccount = \"2.1\"\n";
const WRONG_TOKEN: &str = "0123456789abcdef0123456789abcdef-not-this-hosts";
const HOUR_MS: u64 = 3_600_000;
const DAY_MS: u64 = 86_400_000;

/// Every route that reads, at a path that exists on a host running [`SOLO`] and
/// [`EXAMPLE`] with `T-1` filed.
const READ_ROUTES: &[&str] = &[
    "/api/status",
    "/api/summary",
    "/api/tasks",
    "/api/tasks/T-1",
    "/api/tasks/T-1/graph",
    "/api/failures",
    "/api/history",
    "/api/workers",
    "/api/workers/Solo",
    "/api/budget",
    "/api/budget/history",
    "/api/plugins",
    "/api/plugins/example",
    "/api/messages",
];

/// Every route that changes something (all `POST`), with a body it would accept.
const MUTATE_ROUTES: &[(&str, &str)] = &[
    ("/api/tasks", r#"{"title": "Sneaked in"}"#),
    ("/api/tasks/T-1/cancel", ""),
    ("/api/tasks/T-1/retry", ""),
    ("/api/budget", r#"{"daily_limit_usd": 0.0}"#),
    ("/api/plugins/example/enable", ""),
    ("/api/plugins/example/disable", ""),
    ("/api/plugins/example/query/add", r#"{"kind": "sneaked"}"#),
    ("/api/messages", r#"{"to": "ops", "body": "sneaked"}"#),
];

/// Who a request says it is.
#[derive(Debug, Clone, Copy)]
enum Auth {
    Anonymous,
    Token,
    WrongToken,
}

/// A running host. Every answer that passes through is checked not to carry the token.
struct Api {
    env: Env,
    host: Host,
}

impl Api {
    fn start(plugins: &str, config: &str) -> Api {
        let env = Env::new();
        env.manifest(plugins);
        env.config(config);
        let host = env.start();
        Api { env, host }
    }

    fn send(&self, method: &str, path: &str, auth: Auth, body: &str) -> Response {
        self.send_with(method, path, auth, &[], body.as_bytes())
    }

    fn send_with(
        &self,
        method: &str,
        path: &str,
        auth: Auth,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        let token = self.env.token();
        let bearer = match auth {
            Auth::Anonymous => None,
            Auth::Token => Some(format!("Bearer {token}")),
            Auth::WrongToken => Some(format!("Bearer {WRONG_TOKEN}")),
        };
        let mut all = headers.to_vec();
        all.extend(bearer.as_deref().map(|b| ("Authorization", b)));
        if !body.is_empty() {
            all.push(("Content-Type", "application/json"));
        }
        let response = self.env.request(method, path, &all, body);
        let leaked = response.body.contains(&token)
            || response.headers.iter().any(|(_, v)| v.contains(&token));
        assert!(!leaked, "{method} {path} gave the token away: {response:?}");
        response
    }

    /// `GET` with the token, expecting 200.
    fn get(&self, path: &str) -> Value {
        ok(
            &self.send("GET", path, Auth::Token, ""),
            &format!("GET {path}"),
        )
    }

    /// `POST` with the token, expecting 200.
    fn post(&self, path: &str, body: Value) -> Value {
        let response = self.send("POST", path, Auth::Token, &body.to_string());
        ok(&response, &format!("POST {path} {body}"))
    }

    /// `POST` with the token and no body, expecting 200.
    fn act(&self, path: &str) -> Value {
        ok(
            &self.send("POST", path, Auth::Token, ""),
            &format!("POST {path}"),
        )
    }

    /// A refusal, once its error shape, status and code are checked.
    fn refused(&self, method: &str, path: &str, auth: Auth, body: &str, kind: Kind) -> Refusal {
        let response = self.send(method, path, auth, body);
        error(&response, kind, &format!("{method} {path} {body}"))
    }

    /// A 400 `invalid` for a `GET` (no body) or a `POST` with the token.
    fn invalid(&self, path: &str, body: Option<&str>) -> Refusal {
        match body {
            None => self.refused("GET", path, Auth::Token, "", INVALID),
            Some(body) => self.refused("POST", path, Auth::Token, body, INVALID),
        }
    }

    fn assert_no_secret_in_log(&self) {
        let log = self.host.log();
        assert!(!log.is_empty(), "the host logs");
        assert!(!log.contains(&self.env.token()), "the log holds the token");
        assert!(
            !log.contains(WRONG_TOKEN),
            "the log holds a presented token"
        );
    }
}

fn ok(response: &Response, what: &str) -> Value {
    assert_eq!(response.status, 200, "{what}: {}", response.body);
    response.json()
}

/// A refusal's status and code.
type Kind = (u16, &'static str);
const INVALID: Kind = (400, "invalid");
const UNAUTHORIZED: Kind = (401, "unauthorized");
const NOT_FOUND: Kind = (404, "not_found");
const WRONG_METHOD: Kind = (405, "method_not_allowed");
const ILLEGAL: Kind = (409, "illegal_transition");
const TOO_LARGE: Kind = (413, "too_large");

/// The message of a refusal.
struct Refusal(String);

impl Refusal {
    /// Asserts the message names every one of `words`.
    fn mentions(&self, words: &[&str]) {
        assert_mentions(&self.0, words);
    }
}

/// Checks the one error shape, status and code.
fn error(response: &Response, (status, code): Kind, what: &str) -> Refusal {
    assert_eq!(response.status, status, "{what}: {}", response.body);
    assert_eq!(
        response.header("content-type"),
        Some("application/json"),
        "{what}"
    );
    let body = response.json();
    let keys = |v: &Value| v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>());
    assert_eq!(keys(&body), Some(vec!["error".into()]), "{what}: {body}");
    assert_eq!(
        keys(&body["error"]),
        Some(vec!["code".into(), "message".into()]),
        "{what}: {body}"
    );
    assert_eq!(body["error"]["code"], code, "{what}: {body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "{what}: {body}");
    Refusal(message.to_owned())
}

fn assert_mentions(message: &str, words: &[&str]) {
    for word in words {
        assert!(
            message.contains(word),
            "{message:?} does not mention {word:?}"
        );
    }
}

/// A list's items, after checking it has exactly the paging shape.
fn items(page: &Value) -> &Vec<Value> {
    let keys: BTreeSet<&str> = page
        .as_object()
        .unwrap_or_else(|| panic!("not a page: {page}"))
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["items", "total", "offset", "limit"]),
        "{page}"
    );
    page["items"].as_array().expect("items is an array")
}

fn ids(page: &Value) -> Vec<String> {
    items(page)
        .iter()
        .map(|t| t["id"].as_str().expect("id").to_owned())
        .collect()
}

fn number(id: &str) -> u64 {
    id.trim_start_matches("T-").parse().expect("T-<n>")
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as u64
}

/// `YYYY-MM-DD` of an HTTP `Date` header (`Wed, 25 Nov 2026 08:47:16 GMT`).
fn http_date_day(date: &str) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let parts: Vec<&str> = date.split_whitespace().collect();
    let month = MONTHS.iter().position(|m| *m == parts[2]).expect("month") + 1;
    format!("{}-{month:02}-{}", parts[3], parts[1])
}

/// The ids a batch filing answered, all newly created.
fn filed_ids(answer: &Value, count: usize) -> Vec<String> {
    let filed = answer["tasks"].as_array().expect("tasks");
    assert_eq!(filed.len(), count, "{answer}");
    assert!(filed.iter().all(|f| f["created"] == true), "{answer}");
    filed
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Tasks on one big page, checking the listing agrees with itself.
fn listed(api: &Api, query: &str) -> Vec<Value> {
    let page = api.get(&format!("/api/tasks?limit=1000&{query}"));
    let all = items(&page).clone();
    assert_eq!(page["total"], all.len(), "{query}: {page}");
    let numbers: Vec<u64> = all
        .iter()
        .map(|t| number(t["id"].as_str().unwrap()))
        .collect();
    assert!(
        numbers.windows(2).all(|w| w[0] > w[1]),
        "{query}: newest first: {numbers:?}"
    );
    all
}

fn id_set(tasks: &[Value]) -> BTreeSet<String> {
    tasks
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect()
}

fn set<S: AsRef<str>>(ids: &[S]) -> BTreeSet<String> {
    ids.iter().map(|s| s.as_ref().to_owned()).collect()
}
