//! The mock LLM server itself: scripts, recording and the wire shapes it replays, over
//! plain HTTP/1.0 on loopback.

use hypernet_integration::mock_llm::{MockLlm, Reply};
use serde_json::Value;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// Sends one request; returns the status, the raw head and the body (or an error when the
/// connection breaks).
fn send(
    mock: &MockLlm,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    let mut stream = std::net::TcpStream::connect(mock.addr()).expect("connect to the mock");
    let mut request = format!(
        "{method} {path} HTTP/1.0\r\nHost: mock\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).expect("send");
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_owned(), body.to_owned())
}

fn data_lines(body: &str) -> Vec<String> {
    body.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn defaults_follow_both_wire_formats() {
    let mock = MockLlm::start();
    let (status, _, body) = send(
        &mock,
        "POST",
        "/v1/chat/completions",
        &[("authorization", "Bearer k")],
        r#"{"model":"gpt-4o-mini"}"#,
    );
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["choices"][0]["message"]["content"], "Hello from the mock");
    assert_eq!(v["usage"]["prompt_tokens"], 11);

    let (status, _, body) = send(
        &mock,
        "POST",
        "/v1/messages",
        &[("x-api-key", "k")],
        r#"{"model":"claude-sonnet-4-5"}"#,
    );
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["type"], "message");
    assert_eq!(v["content"][0]["text"], "Hello from the mock");
    assert_eq!(v["usage"]["output_tokens"], 4);

    let (_, _, body) = send(&mock, "GET", "/v1/models", &[], "");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["object"], "list");
    assert_eq!(v["data"][0]["id"], "gpt-4o-mini");
    let (_, _, body) = send(
        &mock,
        "GET",
        "/v1/models",
        &[("anthropic-version", "2023-06-01")],
        "",
    );
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["data"][0]["type"], "model");
    assert_eq!(v["has_more"], false);
}

#[test]
fn streams_follow_both_wire_formats() {
    let mock = MockLlm::start();
    let (_, head, body) = send(
        &mock,
        "POST",
        "/v1/chat/completions",
        &[],
        r#"{"stream":true}"#,
    );
    assert!(
        head.to_ascii_lowercase().contains("text/event-stream"),
        "{head}"
    );
    let data = data_lines(&body);
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    let chunks: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "Hello from the mock");
    assert!(
        chunks
            .iter()
            .any(|c| c["choices"] == serde_json::json!([]) && c["usage"]["completion_tokens"] == 4)
    );

    let (_, _, body) = send(&mock, "POST", "/v1/messages", &[], r#"{"stream":true}"#);
    let events: Vec<&str> = body
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(events.first(), Some(&"message_start"));
    assert_eq!(events.last(), Some(&"message_stop"));
    assert!(events.contains(&"ping"));
    let text: String = data_lines(&body)
        .iter()
        .map(|d| serde_json::from_str::<Value>(d).unwrap())
        .filter_map(|v| v["delta"]["text"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(text, "Hello from the mock");

    mock.script(
        "/v1/messages",
        [Reply::anthropic_stream_tool_use(
            "read_file",
            &["{\"pa", "th\": \"a\"}"],
            5,
            9,
        )],
    );
    let (_, _, body) = send(&mock, "POST", "/v1/messages", &[], "{}");
    let args: String = data_lines(&body)
        .iter()
        .map(|d| serde_json::from_str::<Value>(d).unwrap())
        .filter_map(|v| v["delta"]["partial_json"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(serde_json::from_str::<Value>(&args).unwrap()["path"], "a");
}

#[test]
fn scripts_run_in_order_then_defaults_resume_and_requests_are_recorded() {
    let mock = MockLlm::start();
    mock.script(
        "/v1/chat/completions",
        [
            Reply::openai_error(429, "requests", "rate_limit_exceeded", "slow down")
                .with_header("retry-after", "2"),
            Reply::anthropic_error(529, "overloaded_error", "Overloaded"),
            Reply::openai_error(
                401,
                "invalid_request_error",
                "invalid_api_key",
                "Incorrect API key",
            ),
        ],
    );
    let (s1, head, body) = send(
        &mock,
        "POST",
        "/v1/chat/completions",
        &[("authorization", "Bearer sk-1")],
        "{\"n\":1}",
    );
    assert_eq!(s1, 429);
    assert!(
        head.to_ascii_lowercase().contains("retry-after: 2"),
        "{head}"
    );
    assert!(body.contains("rate_limit_exceeded"));
    assert_eq!(
        send(&mock, "POST", "/v1/chat/completions", &[], "{}").0,
        529
    );
    let (s3, _, body) = send(&mock, "POST", "/v1/chat/completions", &[], "{}");
    assert_eq!(s3, 401);
    assert!(body.contains("invalid_api_key"));
    assert_eq!(
        send(&mock, "POST", "/v1/chat/completions", &[], "{}").0,
        200
    );
    let recorded = mock.requests_to("/v1/chat/completions");
    assert_eq!(recorded.len(), 4);
    assert_eq!(recorded[0].method, "POST");
    assert_eq!(recorded[0].header("Authorization"), Some("Bearer sk-1"));
    assert_eq!(recorded[0].json()["n"], 1);
}

#[test]
fn slow_and_broken_replies() {
    let mock = MockLlm::start();
    mock.script(
        "/v1/chat/completions",
        [
            Reply::openai_text("late", 1, 1).after(Duration::from_millis(300)),
            Reply::drop_mid_body("{\"choices\":["),
        ],
    );
    let started = Instant::now();
    let (status, _, body) = send(&mock, "POST", "/v1/chat/completions", &[], "{}");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(status, 200);
    assert!(body.contains("late"));
    let (status, _, body) = send(&mock, "POST", "/v1/chat/completions", &[], "{}");
    assert_eq!(status, 200);
    assert!(body.starts_with("{\"choices\":["), "{body}");
    assert!(
        serde_json::from_str::<Value>(&body).is_err(),
        "the body was cut: {body}"
    );
}
