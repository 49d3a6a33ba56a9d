//! The API takes only what it documents: a body is the documented JSON object or is refused,
//! the body limit holds on every route, a route without a documented body refuses one, a
//! client's mistake is a 4xx in the error shape, and every status answered here is one the
//! OpenAPI document lists for its route.

use super::*;

/// A provider whose key is in no variable: it fails to start, and enabling it cannot help.
const KEYLESS: &str = "[[plugin]]\nname = \"provider-openai\"\ncapabilities = [\"log\"]\n[plugin.config]\nbase_url = \"http://127.0.0.1:9\"\napi_key_env = \"HN_TEST_KEY_NOBODY_SET\"\n";
/// Calls that take a minute, so filed tasks stay unfinished.
const SLOW_SIM: &str = "[[plugin]]\nname = \"provider-sim\"\ncapabilities = [\"log\"]\n[plugin.config]\nlatency_ms = 60000\n";
const SHALLOW_QUEUE: &str = "[swarm_limits]\nmax_task_queue_depth = { soft = 4, hard = 6 }\n";

#[test]
fn the_api_takes_only_what_it_documents() {
    let api = Api::start(
        &format!("{SLOW_SIM}{EXAMPLE}{KEYLESS}"),
        &format!("standing = []\n{SHALLOW_QUEUE}{SOLO}"),
    );
    let doc = api.get("/api/openapi.json");
    let first = api.post("/api/tasks", json!({ "title": "Stays unfinished" }));
    assert_eq!(first["id"], "T-1");
    let check = Check {
        api: &api,
        doc: &doc,
    };
    only_objects_are_bodies(&check);
    the_body_limit_holds_on_every_route(&check);
    routes_without_a_body_refuse_one(&check);
    mistakes_are_refused_not_failures(&check);
    filing_past_the_queue_depth_is_documented(&check);
    let task = api.get("/api/tasks/T-1");
    assert_ne!(task["status"], "cancelled", "no refused call acted: {task}");
    assert_eq!(api.get("/api/plugins/example")["state"], "loaded");
}

/// A host and its OpenAPI document: each refusal is checked against both.
struct Check<'a> {
    api: &'a Api,
    doc: &'a Value,
}

impl Check<'_> {
    /// `method path` with `body` and the token is refused with `kind`, a status the document
    /// lists for the route `template`; the refusal's message.
    fn refused(&self, method: &str, path: &str, template: &str, body: &str, kind: Kind) -> Refusal {
        let refusal = self.api.refused(method, path, Auth::Token, body, kind);
        let answers = &self.doc["paths"][template][method.to_ascii_lowercase()]["responses"];
        assert!(
            answers.get(kind.0.to_string()).is_some(),
            "{method} {template} answers {} but documents only {answers}",
            kind.0
        );
        refusal
    }
}

fn only_objects_are_bodies(check: &Check) {
    let budget = check.api.get("/api/budget");
    let audit_total = check.api.get("/api/audit")["total"].clone();
    let keys_total = check.api.get("/api/keys")["total"].clone();
    // (path, its template, whether the body is optional: then `null` is no body)
    for (path, template, optional) in [
        ("/api/budget", "/api/budget", false),
        ("/api/audit/prune", "/api/audit/prune", false),
        ("/api/messages", "/api/messages", false),
        ("/api/tasks", "/api/tasks", false),
        ("/api/tasks/T-1/answer", "/api/tasks/{id}/answer", false),
        ("/api/keys", "/api/keys", true),
        ("/api/keys/rotate", "/api/keys/rotate", true),
        (
            "/api/approvals/AQ-0001/approve",
            "/api/approvals/{id}/approve",
            true,
        ),
        (
            "/api/approvals/AQ-0001/deny",
            "/api/approvals/{id}/deny",
            true,
        ),
    ] {
        for (body, kind) in [
            ("[1, 2]", "an array"),
            ("[1]", "an array"),
            (r#"["hello"]"#, "an array"),
            (r#""hello""#, "a string"),
            ("7", "a number"),
            ("true", "a boolean"),
            ("null", "null"),
        ] {
            if optional && body == "null" {
                continue;
            }
            check
                .refused("POST", path, template, body, INVALID)
                .mentions(&[&format!("expected a JSON object, not {kind}")]);
        }
    }
    // An optional body given as `null` is no body, as the document allows.
    check
        .refused(
            "POST",
            "/api/approvals/AQ-0001/approve",
            "/api/approvals/{id}/approve",
            "null",
            NOT_FOUND,
        )
        .mentions(&["AQ-0001"]);
    assert_eq!(
        check.api.get("/api/budget"),
        budget,
        "the limits are unchanged"
    );
    assert_eq!(
        check.api.get("/api/audit")["total"],
        audit_total,
        "nothing was pruned"
    );
    assert_eq!(
        check.api.get("/api/keys")["total"],
        keys_total,
        "no key was made"
    );
    assert_eq!(check.api.get("/api/messages")["total"], 0);
    assert_eq!(check.api.get("/api/tasks")["total"], 1);
}

/// Routes that document no body: `(method, path, template)`.
const BODILESS: &[(&str, &str, &str)] = &[
    ("POST", "/api/tasks/T-1/cancel", "/api/tasks/{id}/cancel"),
    ("POST", "/api/tasks/T-1/retry", "/api/tasks/{id}/retry"),
    (
        "POST",
        "/api/tasks/T-1/decompose",
        "/api/tasks/{id}/decompose",
    ),
    (
        "POST",
        "/api/plugins/example/disable",
        "/api/plugins/{name}/disable",
    ),
    (
        "POST",
        "/api/plugins/example/enable",
        "/api/plugins/{name}/enable",
    ),
    ("GET", "/api/tasks/T-1", "/api/tasks/{id}"),
    ("GET", "/api/budget", "/api/budget"),
];

/// The dashboard's pages, which are not in the document but take no body either.
const PAGES: &[&str] = &["/", "/assets/app.js"];

fn the_body_limit_holds_on_every_route(check: &Check) {
    let big = "x".repeat(2 * 1024 * 1024);
    let taking_one = [
        ("POST", "/api/keys/rotate", "/api/keys/rotate"),
        (
            "POST",
            "/api/approvals/AQ-0001/approve",
            "/api/approvals/{id}/approve",
        ),
        ("POST", "/api/tasks", "/api/tasks"),
    ];
    for (method, path, template) in BODILESS.iter().chain(&taking_one) {
        check
            .refused(method, path, template, &big, TOO_LARGE)
            .mentions(&["over the size limit"]);
    }
    assert_eq!(check.api.get("/api/tasks/T-1")["status"], "running");
}

fn routes_without_a_body_refuse_one(check: &Check) {
    for (method, path, template) in BODILESS {
        check
            .refused(method, path, template, r#"{"why": "by mistake"}"#, INVALID)
            .mentions(&[&format!("{method} {path} takes no body")]);
    }
    for page in PAGES {
        check
            .api
            .refused("GET", page, Auth::Anonymous, "{}", INVALID)
            .mentions(&[&format!("GET {page} takes no body")]);
        check.api.refused(
            "GET",
            page,
            Auth::Anonymous,
            &"x".repeat(2 << 20),
            TOO_LARGE,
        );
    }
    // Whitespace is no body.
    let status = check.api.send("GET", "/api/budget", Auth::Token, " \n");
    assert_eq!(status.status, 200, "{}", status.body);
    assert_eq!(check.api.get("/api/tasks/T-1")["status"], "running");
}

fn mistakes_are_refused_not_failures(check: &Check) {
    check
        .refused(
            "POST",
            "/api/keys/rotate",
            "/api/keys/rotate",
            r#"{"owner": "nobody-with-a-key"}"#,
            ILLEGAL,
        )
        .mentions(&["`nobody-with-a-key` has no active key"]);
    assert_eq!(
        check.api.get("/api/plugins/provider-openai")["state"],
        "failed"
    );
    check
        .refused(
            "POST",
            "/api/plugins/provider-openai/enable",
            "/api/plugins/{name}/enable",
            "",
            (409, "failed"),
        )
        .mentions(&["HN_TEST_KEY_NOBODY_SET"]);
    check
        .refused(
            "POST",
            "/api/plugins/provider-openai/query/models",
            "/api/plugins/{name}/query/{query}",
            "",
            (409, "failed"),
        )
        .mentions(&[
            "plugin `provider-openai` has failed",
            "HN_TEST_KEY_NOBODY_SET",
        ]);
}

fn filing_past_the_queue_depth_is_documented(check: &Check) {
    let tasks: Vec<Value> = (0..10)
        .map(|i| json!({ "title": format!("Deep {i}") }))
        .collect();
    let body = json!({ "tasks": tasks }).to_string();
    check
        .refused(
            "POST",
            "/api/tasks",
            "/api/tasks",
            &body,
            (429, "limit_reached"),
        )
        .mentions(&["max_task_queue_depth"]);
}
