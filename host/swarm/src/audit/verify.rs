//! Checking the whole log: every entry decodes, sits at its seq without gaps, links to the
//! hash of the entry before, has the hash its contents give, and carries a valid signature
//! of a key that is not revoked; the log starts at seq 1 from [`GENESIS_HASH`] or right
//! after what a checkpoint records as pruned; and its newest entry is the recorded head.
//! The keyring's own chain of endorsements is checked too.

use super::entry::{AuditEntry, AuditKind, ChainHead, CheckpointDetail, GENESIS_HASH};
use crate::security::Keyring;
use crate::security::keys::BrokenLink;
use crate::security::sign::verify_hash;
use serde::{Deserialize, Serialize};

/// The first entry found wrong, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BadEntry {
    /// Its seq (for entries gone missing, the first missing one).
    pub seq: u64,
    /// What is wrong.
    pub reason: String,
}

/// What [`super::Audit::verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VerifyReport {
    /// True when nothing is wrong.
    pub ok: bool,
    /// Entries read.
    pub entries_checked: u64,
    /// The lowest seq found wrong.
    pub first_bad: Option<BadEntry>,
    /// The first broken link of the keyring's chain of endorsements.
    pub broken_key: Option<BrokenLink>,
}

/// A check of the log fed its entries oldest first.
pub(crate) struct ChainCheck<'a> {
    keyring: &'a Keyring,
    checked: u64,
    /// The first entry's seq and `prev_hash`.
    first: Option<(u64, String)>,
    /// The previous entry's seq and hash (unknown when it did not decode).
    prev: Option<(u64, Option<String>)>,
    /// What the checkpoints seen say was pruned: (last pruned seq, its hash).
    pruned: Vec<(u64, String)>,
    first_bad: Option<BadEntry>,
}

impl<'a> ChainCheck<'a> {
    pub(crate) fn new(keyring: &'a Keyring) -> Self {
        ChainCheck {
            keyring,
            checked: 0,
            first: None,
            prev: None,
            pruned: Vec::new(),
            first_bad: None,
        }
    }

    /// Keeps the lowest seq found wrong.
    fn bad(&mut self, seq: u64, reason: String) {
        if self.first_bad.as_ref().is_none_or(|b| seq < b.seq) {
            self.first_bad = Some(BadEntry { seq, reason });
        }
    }

    /// Checks the record stored at `seq` (or why it does not decode).
    pub(crate) fn push(&mut self, seq: u64, entry: Result<AuditEntry, String>) {
        self.checked += 1;
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                self.bad(seq, format!("the record does not decode: {e}"));
                self.link(seq, None);
                return;
            }
        };
        if entry.seq != seq {
            self.bad(seq, format!("the record says it is seq {}", entry.seq));
        }
        self.link(seq, Some(&entry.prev_hash));
        let hash = entry.content_hash();
        if hash != entry.hash {
            self.bad(seq, "the hash does not match the entry's contents".into());
        } else {
            let verdict = verify_hash(self.keyring, Some(&entry.signature()), &hash);
            if !verdict.is_valid() {
                self.bad(seq, verdict.to_string());
            }
        }
        if entry.kind == AuditKind::Checkpoint {
            match serde_json::from_value::<CheckpointDetail>(entry.detail.clone()) {
                Ok(c) => self.pruned.push((c.pruned_through, c.pruned_hash)),
                Err(e) => self.bad(seq, format!("the checkpoint's detail does not decode: {e}")),
            }
        }
        self.prev = Some((seq, Some(entry.hash)));
    }

    /// Checks that the entry at `seq` follows the previous one.
    fn link(&mut self, seq: u64, prev_hash: Option<&String>) {
        match self.prev.take() {
            None => self.first = Some((seq, prev_hash.cloned().unwrap_or_default())),
            Some((before, _)) if seq != before + 1 => {
                let missing = if seq == before + 2 {
                    format!("seq {} is missing", before + 1)
                } else {
                    format!("seq {}–{} are missing", before + 1, seq - 1)
                };
                self.bad(
                    before + 1,
                    format!("{missing}: seq {seq} follows seq {before}"),
                );
            }
            Some((before, Some(hash))) => {
                if prev_hash.is_some_and(|p| *p != hash) {
                    self.bad(
                        seq,
                        format!("prev_hash does not match the hash of seq {before}"),
                    );
                }
            }
            Some((_, None)) => {}
        }
        self.prev = Some((seq, None));
    }

    /// Checks where the log starts and ends, and the keyring's chain.
    pub(crate) fn finish(mut self, head: Option<ChainHead>) -> VerifyReport {
        match self.first.clone() {
            Some((1, prev_hash)) if prev_hash != GENESIS_HASH => {
                self.bad(1, "seq 1 does not start from the genesis hash".into());
            }
            Some((first, prev_hash))
                if first > 1
                    && !self
                        .pruned
                        .iter()
                        .any(|(n, h)| *n == first - 1 && *h == prev_hash) =>
            {
                self.bad(
                    first,
                    format!(
                        "the log starts at seq {first}, but no checkpoint records seq 1–{} as pruned with this entry's prev_hash",
                        first - 1
                    ),
                );
            }
            _ => {}
        }
        let last = self.prev.clone();
        match (head, last) {
            (Some(head), Some((last, hash))) => {
                if head.seq > last {
                    self.bad(
                        last + 1,
                        format!(
                            "seq {}–{} are missing at the end (the head records seq {})",
                            last + 1,
                            head.seq,
                            head.seq
                        ),
                    );
                } else if head.seq < last {
                    self.bad(
                        head.seq + 1,
                        format!("written after the recorded head, seq {}", head.seq),
                    );
                } else if hash.is_some_and(|h| h != head.hash) {
                    self.bad(last, "its hash is not the one the head records".into());
                }
            }
            (Some(head), None) if head.seq > 0 => self.bad(
                head.seq,
                format!("the log is empty, but its head records seq {}", head.seq),
            ),
            (None, Some((last, _))) => {
                self.bad(last, "the log has entries but no recorded head".into());
            }
            _ => {}
        }
        let broken_key = self.keyring.verify_chain().err();
        VerifyReport {
            ok: self.first_bad.is_none() && broken_key.is_none(),
            entries_checked: self.checked,
            first_bad: self.first_bad,
            broken_key,
        }
    }
}
