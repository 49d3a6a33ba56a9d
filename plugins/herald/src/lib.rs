//! `herald`: content review, the outbound gate and the moderation log.
//!
//! Everything the swarm says to people, and every result it publishes, passes the herald
//! while this plugin is enabled: a sender files the message with `submit_outbound`, and it
//! is held back (`pending`) until a reviewer approves it or an auto-approval rule clears it.
//! Only then is `herald.outbound_approved` published, carrying the full message; delivery
//! channels send on that event and nothing else. Plain content can be reviewed the same way
//! with `review_content`. Reviews, the id counter and the moderation log live in the host's
//! key-value store, so a restart loses nothing (a held message is still held afterwards).
//!
//! # Manifest entry (`plugins.toml`)
//!
//! ```toml
//! [[plugin]]
//! name = "herald"
//! enabled = true
//! capabilities = ["kv", "events", "clock", "log"]
//! [plugin.config]
//! auto_approve_tags = ["routine"]      # outbound messages with any of these tags pass at once
//! auto_approve_senders = ["Herald"]    # outbound messages from these senders pass at once
//! ```
//!
//! # Config keys
//!
//! | key                    | type           | default | meaning                                  |
//! |------------------------|----------------|---------|------------------------------------------|
//! | `auto_approve_tags`    | list of string | `[]`    | a message carrying any of them is approved |
//! | `auto_approve_senders` | list of string | `[]`    | a message from any of them is approved   |
//!
//! Matching is exact. Empty entries are refused when the config is validated; unknown keys
//! are refused by name.
//!
//! # Review states
//!
//! Ids run `HR-0001`, `HR-0002`, ...; each review stores the lower-case hex SHA-256 of its
//! content (the body, for an outbound message).
//!
//! | from        | allowed to                      | by query                         |
//! |-------------|---------------------------------|----------------------------------|
//! | `pending`   | `approved`, `held`, `escalated` | `approve`, `hold`, `escalate`    |
//! | `held`      | `released`, `escalated`         | `release`, `escalate`            |
//! | `escalated` | `approved`, `held`              | `approve`, `hold`                |
//! | `approved`  | — (final)                       |                                  |
//! | `released`  | — (final)                       |                                  |
//!
//! Any other move is refused with an error naming both states, e.g. ``review `HR-0003`:
//! cannot move from `held` to `approved` (from `held` only: released, escalated)``. An
//! outbound message is announced as approved exactly when it reaches `approved` or
//! `released`.
//!
//! # Queries
//!
//! Reviews are answered as one JSON shape, below as `Review`:
//!
//! ```json
//! {"id": "HR-0001", "kind": "outbound",
//!  "message": {"to": "ana", "channel": "discord", "body": "...", "sender": "Trace", "tags": []},
//!  "sha256": "…64 hex…", "state": "pending", "notes": ["Escalated: tone"],
//!  "history": [{"from": "pending", "to": "escalated", "by": "herald",
//!               "note": "Escalated: tone", "at_ms": 0}],
//!  "created_ms": 0, "updated_ms": 0}
//! ```
//!
//! (a content review has `"kind": "content", "content": "...", "source": "..."` instead of
//! `message`).
//!
//! | query             | arguments                                               | answer |
//! |-------------------|---------------------------------------------------------|--------|
//! | `submit_outbound` | `{"to", "channel", "body", "sender", "tags"?: [..]}`    | `Review` |
//! | `review_content`  | `{"content", "source"}`                                 | `Review` |
//! | `approve`         | `{"id", "reviewer", "note"?}`                           | `Review` |
//! | `hold`            | `{"id", "reviewer", "reason"}` (notes `Held: <reason>`, logs `hold`) | `Review` |
//! | `escalate`        | `{"id", "reason", "by"?}` (notes `Escalated: <reason>`) | `Review` |
//! | `release`         | `{"id", "reviewer", "note"?}`                           | `Review` |
//! | `review`          | `{"id"}`                                                | `Review` |
//! | `pending`         | `{}`: reviews awaiting a decision (`pending`, `escalated`), oldest first | `{"count": n, "reviews": [Review]}` |
//! | `log`             | `{"limit"?}` (default 50, at most 500)                  | `{"entries": [LogEntry], "kept": n, "last_seq": n}` |
//! | `record`          | `{"action", "actor", "target"?, "detail"?}`             | `LogEntry` |
//!
//! A `LogEntry` is `{"seq", "action", "actor", "target"?, "detail"?, "at_ms"}`; `action` is
//! one of `welcome`, `answer`, `flag`, `summarize`, `translate`, `hold`. The log keeps the
//! newest 500 entries, oldest first.
//!
//! # Events published
//!
//! | kind                       | payload                                                   |
//! |----------------------------|-----------------------------------------------------------|
//! | `herald.review_created`    | `{"id", "kind", "state", "sha256"}`                       |
//! | `herald.state_changed`     | `{"id", "from", "to", "by", "note"}`                      |
//! | `herald.outbound_approved` | `{"id", "state", "by", "sha256", "message": {..}}`        |

mod herald;
pub mod modlog;
pub mod review;
pub mod sha256;
pub mod state;
mod store;

pub use herald::{
    Config, EVENT_OUTBOUND_APPROVED, EVENT_REVIEW_CREATED, EVENT_STATE_CHANGED, Herald,
};

hypernet_plugin_api::register_subsystem!(Herald, "herald");

hypernet_plugin_api::export_plugin!();
