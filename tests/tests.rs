//! The integration tests: the real `hypernet` binary with real plugin libraries, driven
//! through its CLI, its API and its dashboard. One module per area, all in one test binary,
//! so the harness is built and linked once and the host and plugins are built once per run.
//!
//! Run one area with `cargo test -p hypernet-integration -- <module>::` (a filter matches
//! any part of a test's path), e.g. `-- scheduler::`.

mod address;
mod alerts;
mod api;
mod approvals;
mod audit;
mod batch_api;
mod batching;
mod bench;
mod budget;
mod call_errors;
mod capabilities;
mod channel_discord;
mod channel_webhook;
mod channels_email;
mod channels_telegram;
mod compat;
mod console;
mod coordinator;
mod cost;
mod dashboard;
mod dashboard_contract;
mod delivery;
mod demo;
mod doctor;
mod events;
mod federation;
mod identity;
mod isolation;
mod ladder;
mod loading;
mod manifest_errors;
mod metrics;
mod mock_llm;
mod openapi;
mod output;
mod package;
mod people;
mod plugin_new;
mod providers;
mod roster;
mod scheduler;
mod secrets;
mod start;
mod subsystems;
mod tasks_cli;
mod third_party;
mod tool_loop;
mod tools;
mod worker_behaviour;
mod worker_bus;

mod util;
