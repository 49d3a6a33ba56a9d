//! The swarm: everything the host does with tasks between the store below and the API
//! above. It builds on `hypernet-model` (ids, tasks), `hypernet-store` (the redb file),
//! `hypernet-llm` (the HTTP executor) and `hypernet-engine` (plugins and the event bus).
//!
//! - [`scheduler`]: the task graph, batches, dispatch of model calls.
//! - [`router`]: which model a task's call goes to.
//! - [`budget`]: prices, limits, reservations and spend.
//! - [`prompts`]: system prompts and answer lengths.
//! - [`coordinator`]: affinity, decomposition, conflicts, autoscaling and limits.
//! - [`workers`]: worker configuration, stats, memory and personal time.
//! - [`identity`]: worker identities, their prompts and the boot sequence.
//! - [`tools`]: tools workers call during a task, and their permissions.
//! - [`approvals`]: actions held for a person's decision.
//! - [`audit`]: the hash-chained, signed audit log.
//! - [`security`]: keys, signatures, redaction and isolation of outside text.
//! - [`outbox`]: messages to people, stored, then delivered through channel plugins (after
//!   the herald, when it is loaded).
//! - [`people`]: `[[person]]`: who is told what, and who may command.
//! - [`channels`]: channel plugins: delivery, inbound commands, polling.
//! - [`bus`]: messages between workers, read in their next prompts.
//! - [`alerts`]: anomalies told to people as they happen; the morning brief, the evening
//!   recap and reminders.
//! - [`federation`]: `[federation]`, peers and their answers, as the scheduler sees them
//!   (the NATS transport is the `hypernet-federation` crate).
//! - [`config`]: the host config file, `hypernet.toml`.
//! - [`persist`]: the swarm's tables in the redb file.

pub mod alerts;
pub mod approvals;
pub mod audit;
pub mod budget;
pub mod bus;
pub mod channels;
pub mod config;
pub mod coordinator;
pub mod federation;
pub mod identity;
pub mod outbox;
pub mod people;
pub mod persist;
pub mod prompts;
pub mod router;
pub mod scheduler;
pub mod security;
pub mod tools;
pub mod workers;
