//! The provider through its `Provider` trait, one file per concern; this module holds the
//! shared fixtures.

use super::*;
use serde_json::Value;

mod answers;
mod batches;
mod config;
mod request;

const KEY: &str = "sk-ant-api03-test-key-0123456789";

fn config(value: Value) -> Config {
    let config: Config = serde_json::from_value(value).unwrap();
    Anthropic::validate(&config).unwrap();
    config
}

fn provider(value: Value) -> Anthropic {
    Anthropic::new(config(value), Some(KEY.to_owned())).unwrap()
}

fn http(prepared: Prepared) -> HttpRequest {
    match prepared {
        Prepared::Http { request } => request,
        _ => panic!("the Anthropic provider simulated a call"),
    }
}

fn ok(body: &str) -> HttpResponse {
    HttpResponse {
        status: 200,
        headers: vec![("request-id".into(), "req_01".into())],
        body: body.to_owned(),
    }
}
