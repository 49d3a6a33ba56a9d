//! Persistence in the host's key-value store, under this plugin's namespace.
//!
//! | key                 | value                                   |
//! |---------------------|-----------------------------------------|
//! | `last_review`       | number of the last review id handed out |
//! | `review/HR-0001`    | one [`Review`]                          |
//! | `log/000000000001`  | one [`LogEntry`], keyed by its sequence |
//!
//! One key per review and per log entry keeps every write small; the log drops the key of
//! the entry that falls out of its bound.

use crate::modlog::LogEntry;
use crate::review::{Review, ReviewId};
use hypernet_plugin_api::{Host, PluginError};
use std::collections::BTreeMap;

const LAST_REVIEW_KEY: &str = "last_review";
const REVIEW_PREFIX: &str = "review/";
const LOG_PREFIX: &str = "log/";

fn review_key(id: ReviewId) -> String {
    format!("{REVIEW_PREFIX}{id}")
}

fn log_key(seq: u64) -> String {
    format!("{LOG_PREFIX}{seq:012}")
}

/// Everything the herald keeps, as read back at start.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The last review number handed out.
    pub last_review: u64,
    /// Every review by id.
    pub reviews: BTreeMap<ReviewId, Review>,
    /// Stored log entries, in key order.
    pub log: Vec<LogEntry>,
}

/// Reads the stored state.
pub fn load(host: &Host) -> Result<Loaded, PluginError> {
    let mut reviews = BTreeMap::new();
    for key in host.kv_list(REVIEW_PREFIX)? {
        if let Some(review) = host.kv_get::<Review>(&key)? {
            reviews.insert(review.id, review);
        }
    }
    let mut log = Vec::new();
    for key in host.kv_list(LOG_PREFIX)? {
        if let Some(entry) = host.kv_get::<LogEntry>(&key)? {
            log.push(entry);
        }
    }
    // The counter is written before the review it numbers; the max guards against a store
    // edited by hand.
    let stored: u64 = host.kv_get(LAST_REVIEW_KEY)?.unwrap_or(0);
    let highest = reviews.keys().next_back().map_or(0, |id| id.0);
    Ok(Loaded {
        last_review: stored.max(highest),
        reviews,
        log,
    })
}

/// Records the last review number handed out.
pub fn save_last_review(host: &Host, last: u64) -> Result<(), PluginError> {
    host.kv_put(LAST_REVIEW_KEY, &last)
}

/// Writes one review.
pub fn save_review(host: &Host, review: &Review) -> Result<(), PluginError> {
    host.kv_put(&review_key(review.id), review)
}

/// Writes one log entry.
pub fn save_log_entry(host: &Host, entry: &LogEntry) -> Result<(), PluginError> {
    host.kv_put(&log_key(entry.seq), entry)
}

/// Removes a log entry that fell out of the bound.
pub fn drop_log_entry(host: &Host, seq: u64) -> Result<(), PluginError> {
    host.kv_delete(&log_key(seq)).map(drop)
}

/// Removes log entries a crash left beyond the bound (anything older than `oldest_kept`).
pub fn trim_log(host: &Host, stored: &[LogEntry], oldest_kept: u64) -> Result<(), PluginError> {
    for entry in stored.iter().filter(|e| e.seq < oldest_kept) {
        drop_log_entry(host, entry.seq)?;
    }
    Ok(())
}
