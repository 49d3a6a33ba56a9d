//! The Message Batches wire format, with the documented example bodies.

use super::*;
use hypernet_plugin_api::provider::Message;
use serde_json::json;

fn requests() -> Vec<BatchRequest> {
    ["my-first-request", "my-second-request"]
        .iter()
        .map(|id| {
            let mut request = CompletionRequest::new(
                "anthropic/claude-sonnet-4-5",
                vec![Message::user("Hello, world")],
            );
            request.stream = true;
            request.tools = vec![hypernet_plugin_api::provider::ToolSpec {
                name: "read".into(),
                description: "Reads a file".into(),
                input_schema: json!({"type": "object"}),
            }];
            BatchRequest {
                custom_id: (*id).into(),
                request,
            }
        })
        .collect()
}

#[test]
fn a_batch_is_created_with_one_params_body_per_request_and_no_tools_or_stream() {
    let mut p = provider(json!({}));
    let BatchStep::Send { request, state } = p.submit_batch(&requests()).unwrap() else {
        panic!("expected the create request");
    };
    assert_eq!(request.method, "POST");
    assert_eq!(request.url, "https://api.anthropic.com/v1/messages/batches");
    assert!(request.headers.contains(&("x-api-key".into(), KEY.into())));
    assert!(
        request
            .headers
            .iter()
            .any(|(n, _)| n == "anthropic-version")
    );
    let body: Value = serde_json::from_str(&request.body).unwrap();
    let entries = body["requests"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["custom_id"], "my-first-request");
    assert_eq!(entries[1]["custom_id"], "my-second-request");
    let params = &entries[0]["params"];
    assert_eq!(params["model"], "claude-sonnet-4-5");
    assert_eq!(params["max_tokens"], 1024);
    assert_eq!(params["messages"][0]["role"], "user");
    assert!(params.get("stream").is_none(), "{params}");
    assert!(params.get("tools").is_none(), "{params}");
    // The documented answer of the create call.
    let created = ok(
        r#"{"id": "msgbatch_013Zva2CMHLNnXjNJJKqJ2EF", "type": "message_batch", "processing_status": "in_progress",
            "request_counts": {"processing": 2, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0},
            "ended_at": null, "created_at": "2024-09-24T18:37:24.100435Z", "expires_at": "2024-09-25T18:37:24.100435Z",
            "cancel_initiated_at": null, "results_url": null}"#,
    );
    assert_eq!(
        p.batch_submitted(&state, &created).unwrap(),
        BatchStep::Created {
            batch_id: "msgbatch_013Zva2CMHLNnXjNJJKqJ2EF".into()
        }
    );
}

#[test]
fn polling_reads_the_processing_status_and_the_results_url() {
    let mut p = provider(json!({}));
    let poll = p.poll_batch("msgbatch_013Zva2CMHLNnXjNJJKqJ2EF").unwrap();
    assert_eq!(poll.method, "GET");
    assert_eq!(
        poll.url,
        "https://api.anthropic.com/v1/messages/batches/msgbatch_013Zva2CMHLNnXjNJJKqJ2EF"
    );
    assert!(poll.headers.contains(&("x-api-key".into(), KEY.into())));
    let batch = |status: &str, url: Value| {
        ok(&json!({"id": "msgbatch_013Zva2CMHLNnXjNJJKqJ2EF", "type": "message_batch",
            "processing_status": status, "request_counts": {"processing": 0, "succeeded": 50,
            "errored": 30, "canceled": 10, "expired": 10}, "results_url": url,
            "created_at": "2024-08-20T18:37:24.100435Z", "expires_at": "2024-08-21T18:37:24.100435Z",
            "ended_at": null, "archived_at": null, "cancel_initiated_at": null})
        .to_string())
    };
    for status in ["in_progress", "canceling"] {
        assert_eq!(
            p.parse_batch_status(&batch(status, Value::Null)).unwrap(),
            BatchStatus::InProgress
        );
    }
    let url =
        "https://api.anthropic.com/v1/messages/batches/msgbatch_013Zva2CMHLNnXjNJJKqJ2EF/results";
    let BatchStatus::Ended { results } = p.parse_batch_status(&batch("ended", json!(url))).unwrap()
    else {
        panic!("expected results");
    };
    assert_eq!(results.len(), 1);
    assert_eq!(
        (results[0].method.as_str(), results[0].url.as_str()),
        ("GET", url)
    );
    assert!(
        results[0]
            .headers
            .contains(&("x-api-key".into(), KEY.into()))
    );
    assert!(matches!(
        p.parse_batch_status(&batch("ended", Value::Null)).unwrap(),
        BatchStatus::Failed { .. }
    ));
}

#[test]
fn result_lines_give_completions_errors_and_expiries() {
    let mut p = provider(json!({}));
    let lines = [
        json!({"custom_id": "my-second-request", "result": {"type": "succeeded", "message": {
            "id": "msg_014VwiXbi91y3JMjcpyGBHX5", "type": "message", "role": "assistant",
            "model": "claude-sonnet-4-5-20250929", "content": [{"type": "text", "text": "Hello again! It's nice to see you."}],
            "stop_reason": "end_turn", "stop_sequence": null, "usage": {"input_tokens": 11, "output_tokens": 36}}}}),
        json!({"custom_id": "my-first-request", "result": {"type": "errored", "error": {"type": "error",
            "error": {"type": "invalid_request_error", "message": "Validation error: max_tokens too large"}}}}),
        json!({"custom_id": "my-third-request", "result": {"type": "expired"}}),
        json!({"custom_id": "my-fourth-request", "result": {"type": "canceled"}}),
    ]
    .map(|l| l.to_string())
    .join("\n");
    let results = p.parse_batch_results(&ok(&lines)).unwrap();
    let ids: Vec<&str> = results.iter().map(|r| r.custom_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "my-second-request",
            "my-first-request",
            "my-third-request",
            "my-fourth-request"
        ]
    );
    let done = results[0].outcome.as_ref().unwrap();
    assert_eq!(done.text, "Hello again! It's nice to see you.");
    assert_eq!(
        (done.usage.input_tokens, done.usage.output_tokens),
        (11, 36)
    );
    assert!(matches!(
        &results[1].outcome,
        Err(ProviderError::BadRequest { message }) if message.contains("max_tokens too large")
    ));
    assert!(
        results[2]
            .outcome
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("expired")
    );
    assert!(
        results[3]
            .outcome
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("cancelled")
    );
    assert!(p.parse_batch_results(&ok("{not json")).is_err());
}
