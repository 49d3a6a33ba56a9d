//! OpenAI's Batch API for chat completions: the requests are uploaded as a JSONL file
//! (`POST /files`, multipart, `purpose=batch`), the batch is created from it
//! (`POST /batches` with `input_file_id`, `endpoint=/v1/chat/completions`,
//! `completion_window=24h`), polled (`GET /batches/{id}`), and its output and error files
//! read (`GET /files/{id}/content`), one JSON line per request:
//! `{"custom_id", "response": {"status_code", "body"}, "error"}`.

use crate::server::Server;
use crate::{classify_error, classify_error_object, parse_completion, request_body};
use hypernet_plugin_api::provider::{
    BatchOutcome, BatchRequest, BatchStatus, BatchStep, CompletionRequest, HttpRequest,
    HttpResponse, ProviderError,
};
use serde::Deserialize;
use serde_json::{Value, json};

/// The endpoint every batched request goes to.
pub const ENDPOINT: &str = "/v1/chat/completions";

/// The stage a submission step answers.
const UPLOAD: &str = "upload";
const CREATE: &str = "create";

/// `GET /batches/{id}` and `POST /batches` answers: the fields read.
#[derive(Debug, Deserialize)]
struct Batch {
    id: String,
    status: String,
    #[serde(default)]
    output_file_id: Option<String>,
    #[serde(default)]
    error_file_id: Option<String>,
    #[serde(default)]
    errors: Option<BatchErrors>,
}

#[derive(Debug, Deserialize)]
struct BatchErrors {
    #[serde(default)]
    data: Vec<Value>,
}

/// One line of an output or error file.
#[derive(Debug, Deserialize)]
struct Line {
    custom_id: String,
    #[serde(default)]
    response: Option<LineResponse>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct LineResponse {
    status_code: u16,
    #[serde(default)]
    body: Value,
}

fn malformed(what: &str, e: impl std::fmt::Display, body: &str) -> ProviderError {
    let excerpt: String = body.chars().take(200).collect();
    ProviderError::Malformed {
        message: format!("{what} is not the expected JSON ({e}): {excerpt}"),
    }
}

/// A multipart boundary that occurs nowhere in `content`.
fn boundary(content: &str) -> String {
    (0u32..)
        .map(|n| format!("hypernet-batch-{n:08x}"))
        .find(|b| !content.contains(b.as_str()))
        .expect("some boundary is free")
}

impl Server {
    fn files_url(&self) -> String {
        format!("{}/files", self.base_url.trim_end_matches('/'))
    }

    fn batches_url(&self) -> String {
        format!("{}/batches", self.base_url.trim_end_matches('/'))
    }

    /// The input file: one line per request, `{"custom_id", "method", "url", "body"}`;
    /// `wire_model` gives each request's model id on the wire.
    pub fn batch_file(
        &self,
        requests: &[BatchRequest],
        wire_model: impl Fn(&str) -> Result<String, ProviderError>,
    ) -> Result<String, ProviderError> {
        let mut lines = String::new();
        for r in requests {
            let mut request: CompletionRequest = r.request.clone();
            request.stream = false;
            request.tools.clear();
            let model = wire_model(&request.model)?;
            let body = request_body(&request, &model, self.token_field)?;
            let body: Value =
                serde_json::from_str(&body).map_err(|e| ProviderError::BadRequest {
                    message: format!("the request body of `{}` is not JSON: {e}", r.custom_id),
                })?;
            let line =
                json!({"custom_id": r.custom_id, "method": "POST", "url": ENDPOINT, "body": body});
            lines.push_str(&line.to_string());
            lines.push('\n');
        }
        Ok(lines)
    }

    /// The first step: uploading the input file (`POST /files`, `purpose=batch`).
    pub fn submit_batch(
        &self,
        requests: &[BatchRequest],
        wire_model: impl Fn(&str) -> Result<String, ProviderError>,
    ) -> Result<BatchStep, ProviderError> {
        let file = self.batch_file(requests, wire_model)?;
        let b = boundary(&file);
        let body = format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n\
             --{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"batch.jsonl\"\r\n\
             Content-Type: application/jsonl\r\n\r\n{file}\r\n--{b}--\r\n"
        );
        let mut headers = self.headers.clone();
        headers.push((
            "Content-Type".to_owned(),
            format!("multipart/form-data; boundary={b}"),
        ));
        Ok(BatchStep::Send {
            request: HttpRequest {
                method: "POST".to_owned(),
                url: self.files_url(),
                headers,
                body,
            },
            state: json!({ "stage": UPLOAD }),
        })
    }

    /// Reads the answer to a submission step: the uploaded file's id leads to creating the
    /// batch; the created batch's id ends the submission.
    pub fn batch_submitted(
        &self,
        state: &Value,
        response: &HttpResponse,
    ) -> Result<BatchStep, ProviderError> {
        #[derive(Deserialize)]
        struct Created {
            id: String,
        }
        let created: Created = serde_json::from_str(&response.body)
            .map_err(|e| malformed("the answer to a batch step", e, &response.body))?;
        match state["stage"].as_str() {
            Some(UPLOAD) => {
                let mut headers = self.headers.clone();
                headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
                let body = json!({
                    "input_file_id": created.id,
                    "endpoint": ENDPOINT,
                    "completion_window": "24h",
                });
                Ok(BatchStep::Send {
                    request: HttpRequest {
                        method: "POST".to_owned(),
                        url: self.batches_url(),
                        headers,
                        body: body.to_string(),
                    },
                    state: json!({ "stage": CREATE }),
                })
            }
            Some(CREATE) => Ok(BatchStep::Created {
                batch_id: created.id,
            }),
            _ => Err(ProviderError::Malformed {
                message: format!("unknown batch submission state {state}"),
            }),
        }
    }

    /// `GET /batches/{id}`.
    pub fn poll_batch(&self, batch_id: &str) -> HttpRequest {
        HttpRequest {
            method: "GET".to_owned(),
            url: format!("{}/{batch_id}", self.batches_url()),
            headers: self.headers.clone(),
            body: String::new(),
        }
    }

    /// Reads a batch's status: `validating`, `in_progress`, `finalizing` and `cancelling`
    /// are in progress; `completed`, `expired` and `cancelled` have ended, their output and
    /// error files (those that exist) holding the results; `failed`, or an end with no
    /// file, gives nothing.
    pub fn parse_batch_status(
        &self,
        response: &HttpResponse,
    ) -> Result<BatchStatus, ProviderError> {
        let batch: Batch = serde_json::from_str(&response.body)
            .map_err(|e| malformed("the batch", e, &response.body))?;
        match batch.status.as_str() {
            "validating" | "in_progress" | "finalizing" | "cancelling" => {
                Ok(BatchStatus::InProgress)
            }
            "completed" | "expired" | "cancelled" => {
                let results: Vec<HttpRequest> = [batch.output_file_id, batch.error_file_id]
                    .into_iter()
                    .flatten()
                    .map(|file| HttpRequest {
                        method: "GET".to_owned(),
                        url: format!("{}/{file}/content", self.files_url()),
                        headers: self.headers.clone(),
                        body: String::new(),
                    })
                    .collect();
                if results.is_empty() {
                    return Ok(BatchStatus::Failed {
                        reason: format!("batch {} {} with no results", batch.id, batch.status),
                    });
                }
                Ok(BatchStatus::Ended { results })
            }
            "failed" => {
                let why = batch
                    .errors
                    .and_then(|e| e.data.into_iter().next())
                    .and_then(|e| e["message"].as_str().map(str::to_owned))
                    .unwrap_or_else(|| "no reason given".to_owned());
                Ok(BatchStatus::Failed {
                    reason: format!("batch {} failed: {why}", batch.id),
                })
            }
            other => Err(ProviderError::Malformed {
                message: format!("batch {} has the unknown status `{other}`", batch.id),
            }),
        }
    }

    /// Reads an output or error file: each line's completion or error.
    pub fn parse_batch_results(
        &self,
        response: &HttpResponse,
    ) -> Result<Vec<BatchOutcome>, ProviderError> {
        let unnamed = CompletionRequest::new(String::new(), Vec::new());
        let mut out = Vec::new();
        for text in response.body.lines().filter(|l| !l.trim().is_empty()) {
            let line: Line = serde_json::from_str(text)
                .map_err(|e| malformed("a batch result line", e, text))?;
            let outcome = match (line.error, line.response) {
                (Some(error), _) if !error.is_null() => Err(classify_error_object(&error)),
                (_, Some(r)) => {
                    let answer = HttpResponse {
                        status: r.status_code,
                        headers: Vec::new(),
                        body: r.body.to_string(),
                    };
                    if (200..300).contains(&r.status_code) {
                        parse_completion(&unnamed, &answer)
                    } else {
                        Err(classify_error(&answer))
                    }
                }
                _ => Err(ProviderError::Malformed {
                    message: format!(
                        "batch result `{}` has neither a response nor an error",
                        line.custom_id
                    ),
                }),
            };
            out.push(BatchOutcome {
                custom_id: line.custom_id,
                outcome,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TokenLimitField;
    use hypernet_plugin_api::provider::Message;

    fn server() -> Server {
        Server {
            base_url: "https://api.openai.com/v1".into(),
            prefix: "openai".into(),
            headers: vec![("Authorization".into(), "Bearer sk-test".into())],
            token_field: TokenLimitField::MaxCompletionTokens,
        }
    }

    fn ok(body: &str) -> HttpResponse {
        HttpResponse {
            status: 200,
            headers: vec![],
            body: body.into(),
        }
    }

    fn strip(model: &str) -> Result<String, ProviderError> {
        Ok(model.trim_start_matches("openai/").to_owned())
    }

    fn requests() -> Vec<BatchRequest> {
        ["request-1", "request-2"]
            .iter()
            .map(|id| {
                let mut request = CompletionRequest::new(
                    "openai/gpt-4o-mini",
                    vec![Message::user("Hello world!")],
                );
                request.system = Some("You are a helpful assistant.".into());
                request.stream = true;
                request.max_tokens = 1000;
                BatchRequest {
                    custom_id: (*id).into(),
                    request,
                }
            })
            .collect()
    }

    #[test]
    fn the_input_file_is_uploaded_as_multipart_jsonl_then_the_batch_is_created_from_it() {
        let s = server();
        let BatchStep::Send { request, state } = s.submit_batch(&requests(), strip).unwrap() else {
            panic!("expected an upload");
        };
        assert_eq!(
            (request.method.as_str(), request.url.as_str()),
            ("POST", "https://api.openai.com/v1/files")
        );
        let content_type = &request
            .headers
            .iter()
            .find(|(n, _)| n == "Content-Type")
            .unwrap()
            .1;
        let b = content_type
            .strip_prefix("multipart/form-data; boundary=")
            .unwrap();
        assert!(request.body.starts_with(&format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n"
        )));
        assert!(request.body.ends_with(&format!("\r\n--{b}--\r\n")));
        let file_start = request.body.find("application/jsonl\r\n\r\n").unwrap() + 21;
        let file = &request.body[file_start..request.body.rfind(&format!("\r\n--{b}--")).unwrap()];
        let lines: Vec<Value> = file
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["custom_id"], "request-1");
        assert_eq!(lines[0]["method"], "POST");
        assert_eq!(lines[0]["url"], "/v1/chat/completions");
        assert_eq!(lines[0]["body"]["model"], "gpt-4o-mini");
        assert_eq!(
            lines[0]["body"]["messages"][0],
            json!({"role": "system", "content": "You are a helpful assistant."})
        );
        assert_eq!(lines[0]["body"]["max_completion_tokens"], 1000);
        assert!(
            lines[0]["body"].get("stream").is_none_or(|s| s == false),
            "batched requests are not streamed"
        );

        // The documented answer of the upload.
        let uploaded = ok(
            r#"{"id": "file-abc123", "object": "file", "bytes": 120000, "created_at": 1677610602, "filename": "batch.jsonl", "purpose": "batch"}"#,
        );
        let BatchStep::Send { request, state } = s.batch_submitted(&state, &uploaded).unwrap()
        else {
            panic!("expected the batch creation");
        };
        assert_eq!(request.url, "https://api.openai.com/v1/batches");
        let body: Value = serde_json::from_str(&request.body).unwrap();
        assert_eq!(
            body,
            json!({"input_file_id": "file-abc123", "endpoint": "/v1/chat/completions", "completion_window": "24h"})
        );
        let created = ok(
            r#"{"id": "batch_abc123", "object": "batch", "endpoint": "/v1/chat/completions", "errors": null, "input_file_id": "file-abc123", "completion_window": "24h", "status": "validating", "output_file_id": null, "error_file_id": null, "created_at": 1711471533, "request_counts": {"total": 0, "completed": 0, "failed": 0}, "metadata": null}"#,
        );
        assert_eq!(
            s.batch_submitted(&state, &created).unwrap(),
            BatchStep::Created {
                batch_id: "batch_abc123".into()
            }
        );
    }

    #[test]
    fn statuses_map_to_progress_results_or_nothing() {
        let s = server();
        assert_eq!(
            s.poll_batch("batch_abc123").url,
            "https://api.openai.com/v1/batches/batch_abc123"
        );
        for status in ["validating", "in_progress", "finalizing", "cancelling"] {
            let body = json!({"id": "batch_abc123", "object": "batch", "status": status, "output_file_id": null, "error_file_id": null}).to_string();
            assert_eq!(
                s.parse_batch_status(&ok(&body)).unwrap(),
                BatchStatus::InProgress,
                "{status}"
            );
        }
        let done = json!({"id": "batch_abc123", "object": "batch", "status": "completed", "output_file_id": "file-cvaTdG", "error_file_id": "file-HOWS94", "request_counts": {"total": 100, "completed": 95, "failed": 5}}).to_string();
        let BatchStatus::Ended { results } = s.parse_batch_status(&ok(&done)).unwrap() else {
            panic!("expected results");
        };
        let urls: Vec<&str> = results.iter().map(|r| r.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "https://api.openai.com/v1/files/file-cvaTdG/content",
                "https://api.openai.com/v1/files/file-HOWS94/content"
            ]
        );
        let expired = json!({"id": "batch_abc123", "status": "expired", "output_file_id": null, "error_file_id": null}).to_string();
        assert!(
            matches!(s.parse_batch_status(&ok(&expired)).unwrap(), BatchStatus::Failed { reason } if reason.contains("expired"))
        );
        let failed = json!({"id": "batch_abc123", "status": "failed", "errors": {"object": "list", "data": [{"code": "invalid_json_line", "message": "line 1 is not JSON", "param": null, "line": 1}]}}).to_string();
        assert!(
            matches!(s.parse_batch_status(&ok(&failed)).unwrap(), BatchStatus::Failed { reason } if reason.contains("line 1 is not JSON"))
        );
    }

    #[test]
    fn result_lines_give_completions_or_typed_errors() {
        let s = server();
        let file = [
            json!({"id": "batch_req_123", "custom_id": "request-2", "response": {"status_code": 200, "request_id": "req_123", "body": {"id": "chatcmpl-123", "object": "chat.completion", "created": 1711652795, "model": "gpt-4o-mini-2024-07-18", "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello."}, "logprobs": null, "finish_reason": "stop"}], "usage": {"prompt_tokens": 22, "completion_tokens": 2, "total_tokens": 24}, "system_fingerprint": "fp_123"}}, "error": null}),
            json!({"id": "batch_req_456", "custom_id": "request-1", "response": null, "error": {"code": "batch_expired", "message": "This request could not be executed before the completion window expired."}}),
            json!({"id": "batch_req_789", "custom_id": "request-3", "response": {"status_code": 400, "request_id": "req_789", "body": {"error": {"message": "Invalid model", "type": "invalid_request_error", "param": "model", "code": null}}}, "error": null}),
        ]
        .map(|l| l.to_string())
        .join("\n");
        let results = s.parse_batch_results(&ok(&file)).unwrap();
        assert_eq!(results.len(), 3);
        assert_eq!(results[0].custom_id, "request-2");
        let done = results[0].outcome.as_ref().unwrap();
        assert_eq!(
            (
                done.text.as_str(),
                done.usage.input_tokens,
                done.usage.output_tokens
            ),
            ("Hello.", 22, 2)
        );
        assert_eq!(results[1].custom_id, "request-1");
        assert!(
            results[1]
                .outcome
                .as_ref()
                .unwrap_err()
                .to_string()
                .contains("completion window expired")
        );
        assert!(matches!(
            results[2].outcome,
            Err(ProviderError::BadRequest { .. })
        ));
    }
}
