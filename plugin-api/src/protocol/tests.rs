use super::provider::{self as ops, Op, Operation, ParseResponseArgs};
use super::*;
use crate::provider::{
    Completion, CompletionRequest, HttpResponse, Message, Prepared, Provider, ProviderError,
    ProviderInfo, SseEvent, StopReason, StreamDelta, Usage,
};
use crate::testing::TestHost;
use crate::{ErrorCode, Host, PluginError};
use serde_json::{Value, json};

fn commands() -> Vec<HostCommand> {
    vec![
        BudgetSet {
            daily_limit_usd: Some(30.0),
            session_limit_usd: Some(5.5),
        }
        .into(),
        BudgetSet::default().into(),
        BudgetSet {
            daily_limit_usd: Some(0.0),
            session_limit_usd: None,
        }
        .into(),
        LimitsSet {
            name: "max_concurrent_workers".into(),
            soft: 10,
            hard: 20,
        }
        .into(),
        LimitsSet {
            name: "ephemeral_workers".into(),
            soft: 0,
            hard: u64::MAX,
        }
        .into(),
        PermissionsSet {
            worker: "Trace".into(),
            tier: 0,
        }
        .into(),
        PermissionsSet {
            worker: "Keystone".into(),
            tier: 4,
        }
        .into(),
    ]
}

#[test]
fn a_command_survives_its_name_and_args() {
    for command in commands() {
        let back = HostCommand::parse(command.name(), &command.args());
        assert_eq!(back.as_ref(), Ok(&command), "{command:?}");
        assert_eq!(Command::name(&command), command.name());
    }
}

#[test]
fn a_command_survives_the_command_run_payload() {
    for command in commands() {
        let payload = serde_json::to_value(&command).unwrap();
        assert_eq!(
            payload,
            json!({ "name": command.name(), "args": command.args() })
        );
        let back: HostCommand = serde_json::from_value(payload).unwrap();
        assert_eq!(back, command);
    }
}

#[test]
fn each_commands_args_are_what_the_host_reads() {
    let cases = [
        (
            HostCommand::from(BudgetSet {
                daily_limit_usd: Some(30.0),
                session_limit_usd: None,
            }),
            json!({ "daily_limit_usd": 30.0, "session_limit_usd": null }),
        ),
        (
            LimitsSet {
                name: "max_task_queue_depth".into(),
                soft: 1,
                hard: 2,
            }
            .into(),
            json!({ "name": "max_task_queue_depth", "soft": 1, "hard": 2 }),
        ),
        (
            PermissionsSet {
                worker: "Trace".into(),
                tier: 3,
            }
            .into(),
            json!({ "worker": "Trace", "tier": 3 }),
        ),
    ];
    for (command, args) in cases {
        assert_eq!(command.args(), args);
        match &command {
            HostCommand::BudgetSet(c) => assert_eq!(Command::args(c), args),
            HostCommand::LimitsSet(c) => assert_eq!(Command::args(c), args),
            HostCommand::PermissionsSet(c) => assert_eq!(Command::args(c), args),
        }
    }
    assert_eq!(
        HostCommand::NAMES,
        ["budget.set", "limits.set", "permissions.set"]
    );
}

#[test]
fn lenient_args_read_as_the_host_reads_them() {
    let parse = |name: &str, args: Value| HostCommand::parse(name, &args).unwrap();
    // Absent, null, or no object at all: no limit.
    for args in [json!({}), json!({ "daily_limit_usd": null }), Value::Null] {
        assert_eq!(parse("budget.set", args), BudgetSet::default().into());
    }
    // Whole dollars, and arguments nobody reads.
    assert_eq!(
        parse(
            "budget.set",
            json!({ "daily_limit_usd": 12, "note": "from GOV-1" })
        ),
        BudgetSet {
            daily_limit_usd: Some(12.0),
            session_limit_usd: None
        }
        .into()
    );
    // Any name: the host checks it against its limits.
    assert_eq!(
        parse("limits.set", json!({ "name": "", "soft": 0, "hard": 0 })),
        LimitsSet {
            name: String::new(),
            soft: 0,
            hard: 0
        }
        .into()
    );
}

fn refusal(name: &str, args: Value) -> String {
    HostCommand::parse(name, &args).unwrap_err().to_string()
}

#[test]
fn refusals_read_as_the_host_has_always_written_them() {
    let cases = [
        (
            "budget.set",
            json!({ "daily_limit_usd": -1 }),
            "budget.set: `daily_limit_usd` must be a number of dollars ≥ 0, not -1",
        ),
        (
            "budget.set",
            json!({ "daily_limit_usd": 1, "session_limit_usd": "5" }),
            "budget.set: `session_limit_usd` must be a number of dollars ≥ 0, not \"5\"",
        ),
        (
            "budget.set",
            json!({ "daily_limit_usd": -0.5, "session_limit_usd": -1 }),
            "budget.set: `daily_limit_usd` must be a number of dollars ≥ 0, not -0.5",
        ),
        (
            "limits.set",
            json!({ "soft": 1, "hard": 2 }),
            "limits.set: `name` (the limit) is required",
        ),
        (
            "limits.set",
            json!({ "name": 7, "soft": 1, "hard": 2 }),
            "limits.set: `name` (the limit) is required",
        ),
        (
            "limits.set",
            json!({ "name": "max_concurrent_workers", "soft": -1, "hard": 2 }),
            "limits.set: `soft` and `hard` must be whole numbers ≥ 0: invalid value: integer `-1`, expected u64",
        ),
        (
            "limits.set",
            json!({ "name": "max_concurrent_workers", "soft": 1.5, "hard": 2 }),
            "limits.set: `soft` and `hard` must be whole numbers ≥ 0: invalid type: floating point `1.5`, expected u64",
        ),
        (
            "limits.set",
            json!({ "name": "max_concurrent_workers", "soft": 1 }),
            "limits.set: `soft` and `hard` must be whole numbers ≥ 0: invalid type: null, expected u64",
        ),
        (
            "permissions.set",
            json!({ "tier": 1 }),
            "permissions.set: `worker` (a worker's name) is required",
        ),
        (
            "permissions.set",
            json!({ "worker": "Trace" }),
            "permissions.set: `tier` must be a whole number 0 to 4, not null",
        ),
        (
            "permissions.set",
            json!({ "worker": "Trace", "tier": 300 }),
            "permissions.set: `tier` must be a whole number 0 to 4, not 300",
        ),
        (
            "permissions.set",
            json!({ "worker": "Trace", "tier": "3" }),
            "permissions.set: `tier` must be a whole number 0 to 4, not \"3\"",
        ),
        (
            "permissions.set",
            json!({ "worker": "Trace", "tier": 9 }),
            "permissions.set: a tier is 0 (read-only) to 4 (destructive), not 9",
        ),
        (
            "x",
            json!({}),
            "unknown host command `x` (known: budget.set, limits.set, permissions.set)",
        ),
        (
            "Budget.Set",
            json!({}),
            "unknown host command `Budget.Set` (known: budget.set, limits.set, permissions.set)",
        ),
    ];
    for (name, args, message) in cases {
        assert_eq!(refusal(name, args.clone()), message, "{name} {args}");
    }
}

#[test]
fn refusals_are_typed_and_invalid_at_the_boundary() {
    let err = HostCommand::parse("permissions.set", &json!({})).unwrap_err();
    assert_eq!(
        err,
        CommandError::InvalidArgs {
            command: "permissions.set",
            message: "`worker` (a worker's name) is required".into()
        }
    );
    let unknown = HostCommand::parse("x", &json!({})).unwrap_err();
    assert_eq!(unknown, CommandError::Unknown { name: "x".into() });
    for err in [err, unknown] {
        let text = err.to_string();
        let plugin = PluginError::from(err);
        assert_eq!(plugin.code(), ErrorCode::Invalid);
        assert_eq!(plugin.message(), text);
    }
    let payload = json!({ "name": "budget.set", "args": { "daily_limit_usd": -1 } });
    let err = serde_json::from_value::<HostCommand>(payload).unwrap_err();
    assert_eq!(
        err.to_string(),
        "budget.set: `daily_limit_usd` must be a number of dollars ≥ 0, not -1"
    );
    // No `args` reads as `null`, as the host reads it.
    let bare: HostCommand = serde_json::from_value(json!({ "name": "budget.set" })).unwrap();
    assert_eq!(bare, BudgetSet::default().into());
}

#[test]
fn run_sends_the_command_and_reads_the_answer_typed() {
    let test = TestHost::new("governance");
    test.answer_commands(|command| {
        Ok(match command {
            HostCommand::BudgetSet(_) => json!({
                "daily_limit_micros": 30_000_000, "session_limit_micros": null,
                "spent_today_micros": 5, "spent_session_micros": 7, "reserved_micros": 0,
                "reservations": 0, "next_reset_ms": 1, "paused": false,
                "per_model": { "sim/default": { "calls": 1, "input_tokens": 2, "output_tokens": 3, "cost_micros": 4 } },
                "per_worker": {}, "added_later": true,
            }),
            HostCommand::LimitsSet(set) => json!({
                set.name.clone(): { "soft": set.soft, "hard": set.hard },
                "max_task_queue_depth": { "soft": 200, "hard": 500 },
                "ephemeral_workers": { "soft": 2, "hard": 4 },
            }),
            HostCommand::PermissionsSet(set) => {
                json!({ "worker": "Trace", "tier": set.tier, "previous": 2 })
            }
        })
    });
    let host = test.host();
    let budget = host
        .run(&BudgetSet {
            daily_limit_usd: Some(30.0),
            session_limit_usd: None,
        })
        .unwrap();
    assert_eq!(budget.daily_limit_micros, Some(30_000_000));
    assert_eq!(budget.per_model["sim/default"].cost_micros, 4);
    let limits = host
        .run(&LimitsSet {
            name: "max_concurrent_workers".into(),
            soft: 10,
            hard: 20,
        })
        .unwrap();
    assert_eq!(limits.max_concurrent_workers, Limit { soft: 10, hard: 20 });
    let tier = host
        .run(&PermissionsSet {
            worker: "trace".into(),
            tier: 3,
        })
        .unwrap();
    assert_eq!(
        tier,
        TierChanged {
            worker: "Trace".into(),
            tier: 3,
            previous: 2
        }
    );
    let raw = host.run(&HostCommand::from(BudgetSet::default())).unwrap();
    assert_eq!(raw["added_later"], true);
    assert_eq!(
        test.commands()[0],
        (
            "budget.set".to_owned(),
            json!({ "daily_limit_usd": 30.0, "session_limit_usd": null })
        )
    );
    assert_eq!(test.host_commands().len(), 4);
}

#[test]
fn an_answer_of_the_wrong_shape_names_the_command() {
    let test = TestHost::new("p");
    let err = test
        .host()
        .run(&PermissionsSet {
            worker: "Trace".into(),
            tier: 1,
        })
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Invalid);
    assert!(
        err.message()
            .starts_with("the host answered `permissions.set` with unexpected JSON: "),
        "{err}"
    );
}

#[test]
fn the_test_host_refuses_what_the_host_refuses_and_records_nothing() {
    let test = TestHost::new("p");
    let err = test
        .host()
        .command("permissions.set", &json!({ "worker": "Trace", "tier": 9 }))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Invalid);
    assert_eq!(
        err.message(),
        "permissions.set: a tier is 0 (read-only) to 4 (destructive), not 9"
    );
    assert!(test.commands().is_empty());
    assert!(test.host_commands().is_empty());
}

#[test]
fn provider_ops_are_named_once() {
    let names: Vec<&str> = Op::ALL.iter().map(|op| op.name()).collect();
    assert_eq!(
        names,
        [
            "describe",
            "prepare",
            "parse_response",
            "parse_stream_event",
            "parse_stream_events",
            "parse_stream_text",
            "classify_error",
            "list_models",
            "parse_models",
            "batch_support",
            "submit_batch",
            "batch_submitted",
            "poll_batch",
            "parse_batch_status",
            "parse_batch_results"
        ]
    );
    for op in Op::ALL {
        assert_eq!(op.name().parse::<Op>(), Ok(op));
        assert_eq!(op.to_string(), op.name());
    }
    let err = "reboot".parse::<Op>().unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);
    assert_eq!(
        [
            ops::Describe::OP,
            ops::Prepare::OP,
            ops::ParseResponse::OP,
            ops::ParseStreamEvent::OP,
            ops::ParseStreamEvents::OP,
            ops::ParseStreamText::OP,
            ops::ClassifyError::OP,
            ops::ListModels::OP,
            ops::ParseModels::OP,
            ops::BatchSupport::OP,
            ops::SubmitBatch::OP,
            ops::BatchSubmitted::OP,
            ops::PollBatch::OP,
            ops::ParseBatchStatus::OP,
            ops::ParseBatchResults::OP,
        ],
        Op::ALL
    );
}

/// Answers `prepare` with its model and `parse_response` with the body.
struct Echo;

impl Provider for Echo {
    type Config = Value;
    fn start(_config: Value, _host: Host) -> Result<Self, PluginError> {
        Ok(Echo)
    }
    fn describe(&self) -> ProviderInfo {
        ProviderInfo {
            models: vec!["echo/".into()],
            local: true,
            simulated: false,
        }
    }
    fn prepare(&mut self, request: &CompletionRequest) -> Result<Prepared, ProviderError> {
        Err(ProviderError::BadRequest {
            message: request.model.clone(),
        })
    }
    fn parse_response(
        &mut self,
        request: &CompletionRequest,
        response: &HttpResponse,
    ) -> Result<Completion, ProviderError> {
        Ok(Completion {
            model: request.model.clone(),
            text: response.body.clone(),
            tool_calls: vec![],
            stop_reason: StopReason::EndTurn,
            usage: Usage::default(),
            simulated: false,
        })
    }
    fn parse_stream_event(&mut self, event: &SseEvent) -> Result<Vec<StreamDelta>, ProviderError> {
        if event.data == "boom" {
            return Err(ProviderError::Malformed {
                message: "boom".into(),
            });
        }
        Ok(vec![StreamDelta::Text {
            text: event.data.clone(),
        }])
    }
}

/// Calls `O` on a started [`Echo`] as the host would: typed arguments out, typed answer in.
fn call<O: Operation>(args: &O::Args<'_>) -> Result<O::Answer, PluginError> {
    let test = TestHost::new("echo");
    let decl = crate::service::ServiceDecl::provider::<Echo>("echo");
    let mut service = (decl.start)("", test.host())?;
    let out = service.call(O::OP.name(), &O::encode(args)?)?;
    Ok(serde_json::from_str(&out).unwrap())
}

#[test]
fn the_provider_dispatcher_speaks_the_typed_operations() {
    let request = CompletionRequest::new("echo/one", vec![Message::user("hi")]);
    let response = HttpResponse {
        status: 200,
        headers: vec![],
        body: "hello".into(),
    };
    let info = call::<ops::Describe>(&()).unwrap();
    assert_eq!(info.models, ["echo/"]);
    let prepared = call::<ops::Prepare>(&request).unwrap();
    assert_eq!(
        prepared,
        Err(ProviderError::BadRequest {
            message: "echo/one".into()
        })
    );
    let args = ParseResponseArgs::new(&request, &response);
    let completion = call::<ops::ParseResponse>(&args).unwrap().unwrap();
    assert_eq!(
        (completion.model.as_str(), completion.text.as_str()),
        ("echo/one", "hello")
    );
    let event = SseEvent {
        event: None,
        data: "x".into(),
    };
    let deltas = call::<ops::ParseStreamEvent>(&event).unwrap().unwrap();
    assert_eq!(deltas, [StreamDelta::Text { text: "x".into() }]);
    // A batch: the deltas of the events before the first failure, then that failure; the
    // events after it are not parsed.
    let events: Vec<SseEvent> = ["a", "b", "boom", "c"]
        .into_iter()
        .map(|data| SseEvent {
            event: None,
            data: data.into(),
        })
        .collect();
    let batch = call::<ops::ParseStreamEvents>(&std::borrow::Cow::Borrowed(&events[..])).unwrap();
    let boom = Some(ProviderError::Malformed {
        message: "boom".into(),
    });
    // Text after text goes back as one piece.
    assert_eq!(batch.deltas, [StreamDelta::Text { text: "ab".into() }]);
    assert_eq!(batch.error, boom);
    // The same events as their text, sent as it is (no JSON): framed on the plugin's side.
    let text = "data: a\n\n: a comment\ndata: b\r\n\r\ndata: boom\n\ndata: c\n\n";
    assert_eq!(
        ops::ParseStreamText::encode(&text.into()).unwrap(),
        text,
        "the payload is the text"
    );
    let batch = call::<ops::ParseStreamText>(&text.into()).unwrap();
    assert_eq!(batch.deltas, [StreamDelta::Text { text: "ab".into() }]);
    assert_eq!(batch.error, boom);
    let err = call::<ops::ClassifyError>(&HttpResponse {
        status: 401,
        ..response.clone()
    })
    .unwrap();
    assert!(matches!(err, ProviderError::Auth { .. }), "{err:?}");
    assert_eq!(call::<ops::ListModels>(&()).unwrap(), None);
    assert_eq!(call::<ops::ParseModels>(&response).unwrap(), Ok(vec![]));
    // A provider that does not implement the batch methods takes no batches.
    assert_eq!(call::<ops::BatchSupport>(&()).unwrap(), None);
    let requests = [crate::provider::BatchRequest {
        custom_id: "T-1-1".into(),
        request: request.clone(),
    }];
    let refused = call::<ops::SubmitBatch>(&std::borrow::Cow::Borrowed(&requests[..])).unwrap();
    assert!(
        matches!(refused, Err(ProviderError::BadRequest { .. })),
        "{refused:?}"
    );
    let refused = call::<ops::PollBatch>(&"msgbatch_01".into()).unwrap();
    assert!(refused.is_err());
    let args = ops::BatchSubmittedArgs {
        state: serde_json::Value::Null,
        response: std::borrow::Cow::Borrowed(&response),
    };
    assert!(call::<ops::BatchSubmitted>(&args).unwrap().is_err());
    assert!(call::<ops::ParseBatchStatus>(&response).unwrap().is_err());
    assert!(call::<ops::ParseBatchResults>(&response).unwrap().is_err());
}

#[test]
fn the_provider_dispatcher_names_what_it_cannot_read() {
    let test = TestHost::new("echo");
    let decl = crate::service::ServiceDecl::provider::<Echo>("echo");
    let mut service = (decl.start)("", test.host()).unwrap();
    let unknown = service.call("reboot", "{}").unwrap_err();
    assert_eq!(unknown.code(), ErrorCode::NotFound);
    assert_eq!(unknown.message(), "unknown provider operation `reboot`");
    let bad = service.call("prepare", "{}").unwrap_err();
    assert_eq!(bad.code(), ErrorCode::Invalid);
    assert!(
        bad.message().starts_with("arguments of `prepare`: "),
        "{bad}"
    );
    // `describe` and `list_models` take no arguments: any payload will do.
    assert!(service.call("describe", "").is_ok());
    assert!(service.call("list_models", "").is_ok());
}
