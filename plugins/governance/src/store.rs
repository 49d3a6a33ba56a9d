//! Persistence in the host's key-value store: one key per proposal (its state without votes
//! and comments), one key per vote and per comment (so casting a vote writes only that vote),
//! the two id counters, and the limits changed by enacted proposals.
//!
//! Keys: `proposal/GOV-0001`, `vote/GOV-0001/000001` (in casting order),
//! `comment/GOV-0001/C-00001`, `counter/proposal`, `counter/comment`, `limits`.

use crate::limits::Limits;
use crate::proposal::{Comment, Proposal, Vote};
use hypernet_plugin_api::{Host, PluginError};
use std::collections::BTreeMap;

const PROPOSAL_PREFIX: &str = "proposal/";
const VOTE_PREFIX: &str = "vote/";
const COMMENT_PREFIX: &str = "comment/";
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
        if let Some(mut p) = host.kv_get::<Proposal>(&key)? {
            p.votes = read_all(host, &format!("{VOTE_PREFIX}{}/", p.id))?;
            p.comments = read_all(host, &format!("{COMMENT_PREFIX}{}/", p.id))?;
            p.comments.sort_by_key(|c: &Comment| comment_number(&c.id));
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

fn read_all<T: serde::de::DeserializeOwned>(
    host: &Host,
    prefix: &str,
) -> Result<Vec<T>, PluginError> {
    let mut out = Vec::new();
    for key in host.kv_list(prefix)? {
        out.extend(host.kv_get::<T>(&key)?);
    }
    Ok(out)
}

/// `C-00042` → 42, so comments past `C-99999` still load in order.
fn comment_number(id: &str) -> u64 {
    id.trim_start_matches("C-").parse().unwrap_or(u64::MAX)
}

/// Writes a proposal's own state; its votes and comments are written one by one.
pub fn save_proposal(host: &Host, p: &mut Proposal) -> Result<(), PluginError> {
    let votes = std::mem::take(&mut p.votes);
    let comments = std::mem::take(&mut p.comments);
    let result = host.kv_put(&format!("{PROPOSAL_PREFIX}{}", p.id), &*p);
    p.votes = votes;
    p.comments = comments;
    result
}

/// Writes the `index`-th (0-based) vote of a proposal.
pub fn save_vote(
    host: &Host,
    proposal: &str,
    index: usize,
    vote: &Vote,
) -> Result<(), PluginError> {
    host.kv_put(&format!("{VOTE_PREFIX}{proposal}/{:06}", index + 1), vote)
}

/// Writes one comment of a proposal.
pub fn save_comment(host: &Host, proposal: &str, comment: &Comment) -> Result<(), PluginError> {
    host.kv_put(
        &format!("{COMMENT_PREFIX}{proposal}/{}", comment.id),
        comment,
    )
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
