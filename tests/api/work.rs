//! Filed work read back: paging, filters, failures and history, graphs, worker hours,
//! spend by day, totals, and the state changes cancel and retry may make.

use super::*;

#[test]
fn filed_work_pages_filters_graphs_and_adds_up() {
    // No personal time: a worker that happens to take ten of the tasks (how they spread
    // over the four workers depends on timing) would be filed one of its own, and every
    // count below is of the filed work.
    let api = Api::start(
        SIM,
        &format!(
            "standing = []\n[personal_time]\nenabled = false\n[scheduler]\nmax_attempts = 1\n[router]\nrules = [{{ if_tags_any = [\"fast\"], model = \"sim/fast\" }}]\n{PRICED}"
        ),
    );
    let paged: Vec<Value> = (0..25)
        .map(|i| {
            let tags = if i % 5 == 0 {
                vec!["paged", "fast"]
            } else {
                vec!["paged"]
            };
            json!({ "title": format!("Page item {i:02}"), "tags": tags })
        })
        .collect();
    let paged = filed_ids(&api.post("/api/tasks", json!({ "tasks": paged })), 25);
    let lone = api.post(
        "/api/tasks",
        json!({ "title": "Lone task", "priority": "high" }),
    );
    assert_eq!(lone["created"], true, "{lone}");
    assert_eq!(
        lone.as_object().unwrap().len(),
        2,
        "only id and created: {lone}"
    );
    let lone = lone["id"].as_str().unwrap().to_owned();
    // The sim echoes the title; "unable to" in a short answer makes it a failure.
    let plan = api.post(
        "/api/tasks",
        json!({ "tasks": [
            { "key": "design", "title": "Design the cache" },
            { "key": "build", "title": "Build the cache", "depends_on": ["design"] },
            { "key": "test", "title": "Test the cache", "depends_on": ["build"] },
            { "key": "docs", "title": "Document the cache", "depends_on": ["design"] },
            { "key": "doomed", "title": "Unable to comply" },
            { "key": "stuck", "title": "Ship what the doomed one makes", "depends_on": ["doomed"] },
            { "title": "Child task one", "parent": paged[0] },
            { "title": "Child task two", "parent": paged[0] },
        ] }),
    );
    let plan = filed_ids(&plan, 8);
    let [design, build, test, docs, doomed, stuck, ..] = &plan[..] else {
        unreachable!()
    };
    let summary = eventually("the work to settle", || {
        let s = api.get("/api/summary");
        (s["by_status"] == json!({ "completed": 32, "failed": 1, "blocked": 1 })).then_some(s)
    });

    totals_agree_with_what_was_filed(&api, &summary);
    let all = listed(&api, "");
    assert_eq!(all.len(), 34);
    let one = api.get(&format!("/api/tasks/{lone}"));
    for (key, value) in [
        ("title", "Lone task"),
        ("priority", "high"),
        ("status", "completed"),
        ("filed_by", "person"),
    ] {
        assert_eq!(one[key], value, "{one}");
    }
    assert_eq!(one["result"]["input_tokens"], 3, "{one}");

    pages_have_no_gaps(&api, &paged);
    let busiest = filters_pick_exactly_their_tasks(&api, &all, &paged, &plan);
    failures_and_history_list_finished_work(&api, doomed);
    graphs_join_a_batch(&api, [design, build, test, docs], [doomed, stuck], &lone);
    a_worker_reports_its_hours(&api, &all, &busiest);
    spend_is_counted_by_day(&api, &all);

    cancel_and_retry_follow_the_state_machine(&api, design, doomed, stuck);
    api.assert_no_secret_in_log();
}

/// Summary, status and budget agree with the 34 tasks filed: 32 completed, the doomed one
/// failed, its dependent blocked.
fn totals_agree_with_what_was_filed(api: &Api, summary: &Value) {
    assert_eq!(summary["total"], 34, "{summary}");
    assert_eq!(
        summary["by_model"],
        json!({ "sim/default": 27, "sim/fast": 5 }),
        "{summary}"
    );
    assert_eq!(summary["tokens"], 32 * CALL_TOKENS, "{summary}");
    assert_eq!(summary["cost_micros"], 32 * CALL_MICROS, "{summary}");
    let status = api.get("/api/status");
    assert_eq!(status["tasks"], json!({ "blocked": 1 }), "{status}");
    assert_eq!(
        status["finished"],
        json!({ "completed": 32, "failed": 1 }),
        "{status}"
    );
    assert_eq!(
        status["workers"],
        json!({ "total": 4, "busy": 0 }),
        "{status}"
    );
    assert_eq!(
        status["plugins"],
        json!({ "total": 1, "loaded": 1, "disabled": 0, "failed": 0 }),
        "{status}"
    );
    assert!(status["uptime_ms"].is_u64() && status["batches_written"].is_u64());
    // The failed call was paid for too.
    let budget = api.get("/api/budget");
    assert_eq!(budget["spent_session_micros"], 33 * CALL_MICROS, "{budget}");
    assert_eq!(budget["per_model"]["sim/fast"]["calls"], 5, "{budget}");
}

/// Cancel and retry make only the changes the state machine allows.
fn cancel_and_retry_follow_the_state_machine(api: &Api, design: &str, doomed: &str, stuck: &str) {
    let conflict = |action: &str, id: &str, words: &[&str]| {
        let path = format!("/api/tasks/{id}/{action}");
        api.refused("POST", &path, Auth::Token, "", ILLEGAL)
            .mentions(&[&[id][..], words].concat());
    };
    conflict(
        "cancel",
        design,
        &["a completed task cannot become cancelled"],
    );
    conflict("retry", design, &["a completed task cannot become ready"]);
    conflict("retry", stuck, &["a blocked task cannot become ready"]);
    let cancelled = api.act(&format!("/api/tasks/{stuck}/cancel"));
    assert_eq!(
        (&cancelled["id"], &cancelled["status"]),
        (&json!(stuck), &json!("cancelled"))
    );
    assert!(cancelled["finished_ms"].is_u64(), "{cancelled}");
    conflict(
        "cancel",
        stuck,
        &["a cancelled task cannot become cancelled"],
    );
    assert_eq!(
        cancelled["blocked_reason"],
        Value::Null,
        "it waits for nothing now"
    );
    // Filed again by hand, it waits for its failed dependency again; withdrawn once more.
    let again = api.act(&format!("/api/tasks/{stuck}/retry"));
    assert_eq!(
        (&again["status"], &again["finished_ms"]),
        (&json!("blocked"), &Value::Null),
        "{again}"
    );
    assert_mentions(
        again["blocked_reason"].as_str().unwrap(),
        &[&format!("dependency {doomed} failed")],
    );
    api.act(&format!("/api/tasks/{stuck}/cancel"));

    let retried = api.act(&format!("/api/tasks/{doomed}/retry"));
    assert_eq!(retried["id"], doomed);
    assert_eq!(
        retried["max_attempts"], 2,
        "one more attempt allowed: {retried}"
    );
    assert!(
        ["ready", "assigned", "running"].contains(&retried["status"].as_str().unwrap())
            || retried["attempts"] == 2,
        "a retried task leaves `failed` until its next attempt ends: {retried}"
    );
    let again = eventually("the second attempt to fail", || {
        let t = api.get(&format!("/api/tasks/{doomed}"));
        (t["attempts"] == 2 && t["status"] == "failed").then_some(t)
    });
    assert_mentions(
        again["error"].as_str().unwrap(),
        &["output looks like an error"],
    );
    let cancelled = api.act(&format!("/api/tasks/{doomed}/cancel"));
    assert_eq!(
        cancelled["status"], "cancelled",
        "a failed task may be withdrawn"
    );
    assert_eq!(items(&api.get("/api/failures")).len(), 0);
    let withdrawn = api.get("/api/history?status=cancelled");
    assert_eq!(
        id_set(items(&withdrawn)),
        set(&[doomed, stuck]),
        "{withdrawn}"
    );
    let summary = api.get("/api/summary");
    assert_eq!(
        summary["by_status"],
        json!({ "completed": 32, "cancelled": 2 }),
        "{summary}"
    );
    assert_eq!(api.get("/api/status")["tasks"], json!({}));
    let budget = api.get("/api/budget");
    assert_eq!(budget["spent_session_micros"], 34 * CALL_MICROS, "{budget}");
}

/// 25 tasks read 10 at a time: every one exactly once, newest first, totals right.
fn pages_have_no_gaps(api: &Api, paged: &[String]) {
    let mut seen = Vec::new();
    for (offset, len) in [(0, 10), (10, 10), (20, 5)] {
        let page = api.get(&format!("/api/tasks?tag=paged&limit=10&offset={offset}"));
        assert_eq!(
            (&page["total"], &page["offset"], &page["limit"]),
            (&json!(25), &json!(offset), &json!(10)),
            "{page}"
        );
        assert_eq!(items(&page).len(), len, "{page}");
        seen.extend(ids(&page));
    }
    let mut newest_first = paged.to_vec();
    newest_first.sort_by_key(|id| std::cmp::Reverse(number(id)));
    assert_eq!(seen, newest_first, "no duplicates, no gaps, newest first");
    let past_the_end = api.get("/api/tasks?tag=paged&offset=30");
    assert_eq!(items(&past_the_end).len(), 0);
    assert_eq!(
        (&past_the_end["total"], &past_the_end["limit"]),
        (&json!(25), &json!(100))
    );
}

/// Each filter alone and combined; returns the busiest worker's name.
fn filters_pick_exactly_their_tasks(
    api: &Api,
    all: &[Value],
    paged: &[String],
    plan: &[String],
) -> String {
    let [design, build, test, docs, doomed, stuck, child1, child2] = plan else {
        unreachable!()
    };
    let fast: Vec<&String> = paged.iter().step_by(5).collect();
    let cases: Vec<(String, BTreeSet<String>)> = vec![
        ("status=failed,blocked".into(), set(&[doomed, stuck])),
        ("status=blocked".into(), set(&[stuck])),
        (
            "status=completed,failed".into(),
            id_set(all).into_iter().filter(|id| id != stuck).collect(),
        ),
        ("status=cancelled".into(), BTreeSet::new()),
        ("tag=fast".into(), set(&fast)),
        ("model=sim/fast".into(), set(&fast)),
        (
            "tag=paged&model=sim/fast&status=completed".into(),
            set(&fast),
        ),
        ("q=CACHE".into(), set(&[design, build, test, docs])),
        (format!("parent={}", paged[0]), set(&[child1, child2])),
        ("q=cache&parent=T-1&tag=paged".into(), BTreeSet::new()),
    ];
    for (query, expected) in cases {
        assert_eq!(id_set(&listed(api, &query)), expected, "?{query}");
    }
    for t in listed(api, "tag=fast") {
        assert_eq!(t["model"], "sim/fast", "{t}");
    }

    let mut done: Vec<(usize, String)> = Vec::new();
    for t in all.iter().filter(|t| t["status"] == "completed") {
        let name = t["worker"].as_str().expect("a completed task has a worker");
        match done.iter_mut().find(|(_, n)| n == name) {
            Some((count, _)) => *count += 1,
            None => done.push((1, name.to_owned())),
        }
    }
    let busiest = done.into_iter().max().expect("work was done").1;
    let theirs: Vec<Value> = all
        .iter()
        .filter(|t| t["worker"] == busiest.as_str())
        .cloned()
        .collect();
    let query = format!("worker={}", busiest.to_lowercase());
    assert_eq!(
        id_set(&listed(api, &query)),
        id_set(&theirs),
        "worker names match in any case"
    );
    busiest
}

/// `/api/failures` is the failed tasks; `/api/history` every finished one.
fn failures_and_history_list_finished_work(api: &Api, doomed: &str) {
    let failures = api.get("/api/failures");
    assert_eq!(ids(&failures), [doomed], "{failures}");
    assert_eq!(failures["total"], 1);
    let failed = &items(&failures)[0];
    assert_eq!(
        (&failed["status"], &failed["attempts"]),
        (&json!("failed"), &json!(1))
    );
    assert_mentions(
        failed["error"].as_str().unwrap(),
        &["output looks like an error", "Unable to comply"],
    );
    assert!(
        failed["retry_at_ms"].is_null(),
        "no attempts left: {failed}"
    );
    let history = api.get("/api/history?limit=1000");
    assert_eq!(
        history["total"], 33,
        "completed and failed, not the blocked one"
    );
    assert!(
        items(&history)
            .iter()
            .all(|t| ["completed", "failed"].contains(&t["status"].as_str().unwrap()))
    );
    assert_eq!(api.get("/api/history?q=comply")["total"], 1);
    let page = api.get("/api/history?limit=5&offset=5");
    assert_eq!((items(&page).len(), &page["total"]), (5, &json!(33)));
}

/// A task's graph walks up its dependencies and down its dependents.
fn graphs_join_a_batch(api: &Api, cache: [&String; 4], failure: [&String; 2], lone: &str) {
    let [design, build, test, docs] = cache;
    let graph = api.get(&format!("/api/tasks/{build}/graph"));
    assert_eq!(
        (&graph["task"], &graph["truncated"]),
        (&json!(build), &json!(false))
    );
    let nodes = graph["nodes"].as_array().expect("nodes");
    assert_eq!(id_set(nodes), set(&[design, build, test, docs]), "{graph}");
    let node = |id: &str| nodes.iter().find(|n| n["id"] == id).unwrap();
    assert_eq!(node(test)["depends_on"], json!([build]));
    assert_eq!(node(design)["depends_on"], json!([]));
    assert_eq!(
        (&node(docs)["title"], &node(docs)["status"]),
        (&json!("Document the cache"), &json!("completed"))
    );
    assert!(node(docs)["worker"].is_string(), "{graph}");
    let edges: BTreeSet<(String, String)> = graph["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| {
            (
                e["from"].as_str().unwrap().into(),
                e["to"].as_str().unwrap().into(),
            )
        })
        .collect();
    let edge = |from: &String, to: &String| (from.clone(), to.clone());
    assert_eq!(
        edges,
        BTreeSet::from([edge(design, build), edge(build, test), edge(design, docs)])
    );

    let [doomed, stuck] = failure;
    let graph = api.get(&format!("/api/tasks/{stuck}/graph"));
    assert_eq!(
        id_set(graph["nodes"].as_array().unwrap()),
        set(&[doomed, stuck])
    );
    assert_eq!(graph["edges"], json!([{ "from": doomed, "to": stuck }]));
    let alone = api.get(&format!("/api/tasks/{lone}/graph"));
    assert_eq!(
        (alone["nodes"].as_array().unwrap().len(), &alone["edges"]),
        (1, &json!([]))
    );
}

/// The busiest worker's last 24 hours add up to its completed tasks.
fn a_worker_reports_its_hours(api: &Api, all: &[Value], name: &str) {
    let list = api.get("/api/workers");
    assert_eq!((items(&list).len(), &list["total"]), (4, &json!(4)));
    let first = api.get("/api/workers?limit=3");
    let rest = api.get("/api/workers?offset=3&limit=3");
    let names = |p: &Value| -> Vec<String> {
        items(p)
            .iter()
            .map(|w| w["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let (first, rest) = (names(&first), names(&rest));
    assert_eq!((first.len(), rest.len()), (3, 1));
    assert_eq!(
        [first, rest].concat().into_iter().collect::<BTreeSet<_>>(),
        names(&list).into_iter().collect::<BTreeSet<_>>()
    );

    let before = now_ms();
    let worker = api.get(&format!("/api/workers/{}", name.to_lowercase()));
    assert_eq!(worker["name"], name);
    let by_address = api.get(&format!(
        "/api/workers/{}",
        worker["address"].as_str().unwrap()
    ));
    assert_eq!(by_address["name"], name);
    let hourly = worker["hourly"].as_array().expect("hourly");
    assert_eq!(hourly.len(), 24, "{worker}");
    let starts: Vec<u64> = hourly
        .iter()
        .map(|h| h["hour_ms"].as_u64().unwrap())
        .collect();
    assert!(
        starts.windows(2).all(|w| w[1] == w[0] + HOUR_MS),
        "{starts:?}"
    );
    let hour = |ms: u64| ms / HOUR_MS * HOUR_MS;
    assert!(
        [hour(before), hour(now_ms())].contains(&starts[23]),
        "ends with this hour: {starts:?}"
    );
    let sum = |key: &str| hourly.iter().map(|h| h[key].as_u64().unwrap()).sum::<u64>();
    let count = |status: &str| {
        all.iter()
            .filter(|t| t["worker"] == name && t["status"] == status)
            .count() as u64
    };
    let done = count("completed");
    assert!(done > 0);
    assert_eq!(
        (
            sum("completed"),
            sum("failed"),
            sum("tokens"),
            sum("cost_micros")
        ),
        (
            done,
            count("failed"),
            done * CALL_TOKENS,
            done * CALL_MICROS
        ),
        "{worker}"
    );
    assert_eq!(worker["stats"]["tasks_done"], done, "{worker}");
}

/// `?days=3` is three UTC days ending today; today's entry is what completed today.
fn spend_is_counted_by_day(api: &Api, all: &[Value]) {
    let today = now_ms() / DAY_MS;
    let response = api.send("GET", "/api/budget/history?days=3", Auth::Token, "");
    let history = ok(&response, "spend by day");
    let days = history["days"].as_array().expect("days");
    assert_eq!(days.len(), 3, "{history}");
    let labels: Vec<&str> = days.iter().map(|d| d["day"].as_str().unwrap()).collect();
    assert!(labels.windows(2).all(|w| w[0] < w[1]), "{labels:?}");
    let date = response.header("date").expect("a Date header");
    assert_eq!(labels[2], http_date_day(date), "the last entry is today");
    let completed: Vec<&Value> = all.iter().filter(|t| t["status"] == "completed").collect();
    let today_count = completed
        .iter()
        .filter(|t| t["finished_ms"].as_u64().unwrap() / DAY_MS == today)
        .count() as u64;
    assert_eq!(
        (
            &days[2]["tasks"],
            &days[2]["tokens"],
            &days[2]["cost_micros"]
        ),
        (
            &json!(today_count),
            &json!(today_count * CALL_TOKENS),
            &json!(today_count * CALL_MICROS)
        ),
        "{history}"
    );
    let total: u64 = days.iter().map(|d| d["tasks"].as_u64().unwrap()).sum();
    assert_eq!(
        total,
        completed.len() as u64,
        "failed calls are not completed work"
    );
    assert_eq!(
        api.get("/api/budget/history")["days"]
            .as_array()
            .unwrap()
            .len(),
        14
    );
}
