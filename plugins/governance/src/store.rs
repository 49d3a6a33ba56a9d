//! Persistence in the host's key-value store: one key per proposal (with its votes and
//! comments), the two id counters, and the limits changed by enacted proposals.

use crate::limits::Limits;
use crate::proposal::Proposal;
use hypernet_plugin_api::{Host, PluginError};
use std::collections::BTreeMap;

const PROPOSAL_PREFIX: &str = "proposal/";
const PROPOSAL_COUNTER: &str = "counter/proposal";
const COMMENT_COUNTER: &str = "counter/comment";
const LIMITS_KEY: &str = "limits";

/// Everything saved by an earlier run.
#[derive(Debug, Default)]
pub struct Saved {
    /// Proposals by id.
    pub proposals: BTreeMap<String, Proposal>,
    /// Last proposal number handed out.
    pub proposal_counter: u64,
    /// Last comment number handed out.
    pub comment_counter: u64,
    /// Limits set by enacted proposals.
    pub limits: Limits,
}

/// Reads everything back.
pub fn load(host: &Host) -> Result<Saved, PluginError> {
    let mut proposals = BTreeMap::new();
    for key in host.kv_list(PROPOSAL_PREFIX)? {
        if let Some(p) = host.kv_get::<Proposal>(&key)? {
            proposals.insert(p.id.clone(), p);
        }
    }
    Ok(Saved {
        proposals,
        proposal_counter: host.kv_get(PROPOSAL_COUNTER)?.unwrap_or(0),
        comment_counter: host.kv_get(COMMENT_COUNTER)?.unwrap_or(0),
        limits: host.kv_get(LIMITS_KEY)?.unwrap_or_default(),
    })
}

/// Writes one proposal.
pub fn save_proposal(host: &Host, p: &Proposal) -> Result<(), PluginError> {
    host.kv_put(&format!("{PROPOSAL_PREFIX}{}", p.id), p)
}

/// Writes the proposal counter.
pub fn save_proposal_counter(host: &Host, n: u64) -> Result<(), PluginError> {
    host.kv_put(PROPOSAL_COUNTER, &n)
}

/// Writes the comment counter.
pub fn save_comment_counter(host: &Host, n: u64) -> Result<(), PluginError> {
    host.kv_put(COMMENT_COUNTER, &n)
}

/// Writes the limits changed by governance.
pub fn save_limits(host: &Host, limits: &Limits) -> Result<(), PluginError> {
    host.kv_put(LIMITS_KEY, limits)
}
