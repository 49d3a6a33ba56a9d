//! Every kind of refusal with its status, code and a message naming the fault; no
//! cross-origin grants.

use super::*;

#[test]
fn every_refusal_has_the_error_shape_its_status_and_names_the_fault() {
    let api = Api::start(
        &format!("{SIM}{EXAMPLE}"),
        &format!("standing = []\n{SOLO}"),
    );
    let first = api.post("/api/tasks", json!({ "title": "Only task" }));
    assert_eq!(first["id"], "T-1");
    bodies_are_checked_field_by_field(&api);
    query_strings_are_checked_parameter_by_parameter(&api);
    unknown_things_and_wrong_methods_are_named(&api);
    auth::mutations_need_the_token(&api);
    for path in READ_ROUTES {
        ok(&api.send("GET", path, Auth::Anonymous, ""), path);
    }
    let wrong_in_query = format!("/api/events?token={WRONG_TOKEN}");
    for (path, auth) in [
        ("/api/events", Auth::Anonymous),
        ("/api/events", Auth::WrongToken),
        (wrong_in_query.as_str(), Auth::Anonymous),
    ] {
        api.refused("GET", path, auth, "", UNAUTHORIZED)
            .mentions(&["`Authorization: Bearer <token>` or `?token=<token>`"]);
    }
    no_other_origin_is_granted_anything(&api);
    api.assert_no_secret_in_log();
}

fn bodies_are_checked_field_by_field(api: &Api) {
    for path in [
        "/api/tasks",
        "/api/messages",
        "/api/budget",
        "/api/plugins/example/query/counts",
    ] {
        api.invalid(path, Some("{"))
            .mentions(&["EOF while parsing"]);
    }
    for (body, words) in [
        (
            r#"{"title": "x", "priorty": "high"}"#,
            &["unknown field `priorty`"][..],
        ),
        (
            r#"{"title": "x", "key": "k", "colour": 1}"#,
            &["unknown field `colour`"],
        ),
        (r#"{"description": "no title"}"#, &["missing field `title`"]),
        (
            r#"{"tasks": [{"title": "fine"}, {"title": "y", "colour": 1}]}"#,
            &["tasks[1]: ", "unknown field `colour`"],
        ),
        (
            r#"{"tasks": [{"title": "fine"}, {"title": "also"}, {"description": "none"}]}"#,
            &["tasks[2]: ", "missing field `title`"],
        ),
        (r#"{"tasks": "all of them"}"#, &["`tasks` must be an array"]),
        (r#"{"tasks": []}"#, &["`tasks` is empty"]),
        ("[1, 2]", &["expected a JSON object, not an array"]),
        (r#"{"title": "x", "depends_on": ["nowhere"]}"#, &["nowhere"]),
        (
            r#"{"title": "x", "max_attempts": 0}"#,
            &["`max_attempts` must be at least 1, not 0"],
        ),
    ] {
        api.invalid("/api/tasks", Some(body)).mentions(words);
    }
    let tasks = api.get("/api/tasks");
    assert_eq!(tasks["total"], 1, "a refused batch files nothing: {tasks}");
}

fn query_strings_are_checked_parameter_by_parameter(api: &Api) {
    for list in [
        "/api/tasks",
        "/api/failures",
        "/api/history",
        "/api/workers",
        "/api/plugins",
        "/api/messages",
    ] {
        for (limit, word) in [
            ("0", "not 0"),
            ("1001", "not 1001"),
            ("abc", "invalid digit"),
        ] {
            api.invalid(&format!("{list}?limit={limit}"), None)
                .mentions(&["limit", word]);
        }
        api.invalid(&format!("{list}?offset=1&colour=red"), None)
            .mentions(&["unknown field `colour`"]);
    }
    for (query, words) in [
        (
            "status=done",
            &["`status`", "unknown status `done`", "cancelled"][..],
        ),
        ("status=ready,done", &["unknown status `done`"]),
        ("parent=X-1", &["`parent`", "`X-1` is not a task id"]),
        ("offset=-1", &["offset", "invalid digit"]),
    ] {
        api.invalid(&format!("/api/tasks?{query}"), None)
            .mentions(words);
    }
    api.invalid("/api/failures?status=completed", None)
        .mentions(&["failures are always `failed`"]);
    for (days, word) in [("0", "not 0"), ("367", "not 367"), ("abc", "invalid digit")] {
        api.invalid(&format!("/api/budget/history?days={days}"), None)
            .mentions(&["days", word]);
    }
    api.invalid("/api/budget/history?weeks=2", None)
        .mentions(&["unknown field `weeks`"]);
    api.invalid("/api/events?after=abc", None)
        .mentions(&["after", "invalid digit"]);
    api.invalid("/api/events", None)
        .mentions(&["/api/events is a WebSocket"]);
}

fn unknown_things_and_wrong_methods_are_named(api: &Api) {
    // A malformed id is a 400 and an unknown one a 404, on every route taking an id.
    for (method, suffix) in [
        ("GET", ""),
        ("GET", "/graph"),
        ("POST", "/cancel"),
        ("POST", "/retry"),
    ] {
        let path = format!("/api/tasks/X-1{suffix}");
        api.refused(method, &path, Auth::Token, "", INVALID)
            .mentions(&["`X-1` is not a task id (expected T-<number>)"]);
        let path = format!("/api/tasks/T-999{suffix}");
        api.refused(method, &path, Auth::Token, "", NOT_FOUND)
            .mentions(&["no task T-999"]);
    }
    api.refused("GET", "/api/workers/Nobody", Auth::Token, "", NOT_FOUND)
        .mentions(&["no worker named `Nobody`"]);
    for path in ["/api/nope", "/api/tasks/T-1/nope", "/nope"] {
        api.refused("GET", path, Auth::Token, "", NOT_FOUND)
            .mentions(&[format!("no route {path}").as_str()]);
    }
    // A wrong method is named before any token is asked for.
    for (method, path) in [
        ("DELETE", "/api/tasks"),
        ("PUT", "/api/budget"),
        ("PATCH", "/api/health"),
        ("GET", "/api/tasks/T-1/cancel"),
        ("DELETE", "/api/plugins/example/enable"),
    ] {
        api.refused(method, path, Auth::Anonymous, "", WRONG_METHOD)
            .mentions(&[format!("{path} does not take {method}").as_str()]);
    }
}

fn no_other_origin_is_granted_anything(api: &Api) {
    let origin = ("Origin", "http://evil.example");
    for path in ["/api/health", "/api/tasks", "/api/status"] {
        let response = api.send_with("GET", path, Auth::Anonymous, &[origin], b"");
        assert_eq!(response.status, 200, "{path}");
        assert_no_cors(&response, path);
    }
    let body = br#"{"title": "Cross"}"#;
    let posted = api.send_with("POST", "/api/tasks", Auth::Token, &[origin], body);
    assert_eq!(posted.status, 200, "{}", posted.body);
    assert_no_cors(&posted, "POST /api/tasks");
    let preflight = [
        origin,
        ("Access-Control-Request-Method", "POST"),
        (
            "Access-Control-Request-Headers",
            "authorization, content-type",
        ),
    ];
    for path in ["/api/tasks", "/api/health", "/api/plugins/example/disable"] {
        let response = api.send_with("OPTIONS", path, Auth::Anonymous, &preflight, b"");
        assert!(
            !(200..300).contains(&response.status),
            "preflight of {path} granted: {response:?}"
        );
        assert_no_cors(&response, &format!("OPTIONS {path}"));
    }
    assert_eq!(api.get("/api/plugins/example")["state"], "loaded");
}

fn assert_no_cors(response: &Response, what: &str) {
    let granted: Vec<&(String, String)> = response
        .headers
        .iter()
        .filter(|(name, _)| name.starts_with("access-control-"))
        .collect();
    assert!(granted.is_empty(), "{what} answered with {granted:?}");
}
