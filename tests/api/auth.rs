//! The bearer token: demanded by every mutating route and the event stream always, by
//! every reading route on a guarded host; never given away.

use super::*;

/// `method path` refuses a call without the token, with another token and with another
/// scheme, each with a 401 saying what is wrong.
fn needs_the_token(api: &Api, method: &str, path: &str, body: &str) {
    api.refused(method, path, Auth::Anonymous, body, UNAUTHORIZED)
        .mentions(&["`Authorization: Bearer <token>`", "api-token"]);
    api.refused(method, path, Auth::WrongToken, body, UNAUTHORIZED)
        .mentions(&["does not match"]);
    let basic = format!("Basic {}", api.env.token());
    let other = api.send_with(
        method,
        path,
        Auth::Anonymous,
        &[("Authorization", &basic)],
        body.as_bytes(),
    );
    error(&other, UNAUTHORIZED, &format!("{method} {path} with Basic"));
}

/// Every mutating route needs the token, and the refusals change nothing.
pub(super) fn mutations_need_the_token(api: &Api) {
    let before = observable_state(api);
    for (path, body) in MUTATE_ROUTES {
        needs_the_token(api, "POST", path, body);
    }
    assert_eq!(
        observable_state(api),
        before,
        "a refused call changed something"
    );
}

/// What the mutating routes could change.
fn observable_state(api: &Api) -> Value {
    let sneaked = json!({ "kind": "sneaked" });
    json!({
        "tasks": api.get("/api/summary")["by_status"],
        "first": api.get("/api/tasks/T-1")["status"],
        "example": api.get("/api/plugins/example")["state"],
        "sneaked": api.post("/api/plugins/example/query/count", sneaked)["count"],
        "messages": api.get("/api/messages")["total"],
        "limit": api.get("/api/budget")["daily_limit_micros"],
    })
}

#[test]
fn a_guarded_host_wants_the_token_for_reads_and_bounds_bodies() {
    let api = Api::start(
        &format!("{SIM}latency_ms = 60000\n{EXAMPLE}"),
        &format!("standing = []\n[api]\nread_requires_token = true\nmax_body_bytes = 2048\n{SOLO}"),
    );
    let health = api.send("GET", "/api/health", Auth::Anonymous, "");
    assert_eq!(ok(&health, "health stays open")["ok"], true);
    let filed = api.post(
        "/api/tasks",
        json!({ "tasks": [{ "title": "Long job" }, { "title": "Queued job" }] }),
    );
    assert_eq!(filed_ids(&filed, 2), ["T-1", "T-2"]);
    let status = |id: &str| api.get(&format!("/api/tasks/{id}"))["status"].clone();
    eventually(
        "the long job to run and the next to wait in reserve",
        || (status("T-1") == "running" && status("T-2") == "assigned").then_some(()),
    );

    for path in READ_ROUTES {
        needs_the_token(&api, "GET", path, "");
        assert!(api.get(path).is_object(), "{path} works with the token");
    }
    mutations_need_the_token(&api);
    api.refused("GET", "/api/events", Auth::Anonymous, "", UNAUTHORIZED)
        .mentions(&["`?token=<token>`"]);
    // An unknown route is still a 404, a wrong method still a 405.
    api.refused("GET", "/api/nope", Auth::Anonymous, "", NOT_FOUND);
    api.refused("DELETE", "/api/tasks", Auth::Anonymous, "", WRONG_METHOD);

    // Bodies past `max_body_bytes`: 413 on every route taking one, once the token passed.
    let big = json!({ "title": "Big", "description": "x".repeat(4096) }).to_string();
    for path in [
        "/api/tasks",
        "/api/messages",
        "/api/budget",
        "/api/plugins/example/query/counts",
    ] {
        api.refused("POST", path, Auth::Token, &big, TOO_LARGE)
            .mentions(&["over the size limit"]);
        api.refused("POST", path, Auth::Anonymous, &big, UNAUTHORIZED);
    }
    let fits = json!({ "title": "Fits", "description": "x".repeat(1900) });
    assert_eq!(api.post("/api/tasks", fits)["id"], "T-3");

    // A running task can be cancelled but not retried; its worker moves on.
    api.refused("POST", "/api/tasks/T-1/retry", Auth::Token, "", ILLEGAL)
        .mentions(&["T-1", "a running task cannot become ready"]);
    let cancelled = api.act("/api/tasks/T-1/cancel");
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    eventually("the reserved task to start", || {
        (status("T-2") == "running").then_some(())
    });
    let worker = api.get("/api/workers/Solo");
    assert_eq!(worker["current_task"], "T-2", "{worker}");
    let cancelled = api.act("/api/tasks/T-3/cancel");
    assert_eq!(
        cancelled["status"], "cancelled",
        "a waiting task is withdrawn"
    );
    api.assert_no_secret_in_log();
}
