//! The audit log: an append-only, hash-chained record of what was done in the host — tool
//! calls and refusals, approvals, plugin host commands, budget and key changes — kept in
//! the host's redb file ([`crate::audit::persist`]).
//!
//! Each [`AuditEntry`] has a `seq` from 1, the `hash` of its own contents (which include
//! the previous entry's hash, so changing or removing one entry breaks the links after it)
//! and the `signature` of the host's active key. Secrets in an entry's detail are
//! [redacted](fn@crate::security::redact) before it is sealed. [`Audit::verify`] rechecks every
//! link and signature: entries signed by a rotated key still verify, those of a revoked key
//! do not. [`Audit::prune`] removes the oldest entries and appends a checkpoint recording
//! the last removed seq and hash, from which the rest of the chain still verifies.
//!
//! - [`entry`]: one entry, its kinds, hash and signature.
//! - [`verify`]: the check of the whole log.

pub mod entry;
pub mod persist;
pub mod tools;
pub mod verify;

#[cfg(test)]
mod tests;

pub use entry::{AuditEntry, AuditKind, ChainHead, CheckpointDetail, GENESIS_HASH};
pub use verify::{BadEntry, VerifyReport};

use crate::persist::AuditTables;
use crate::security::{HOST_ENTITY, KeyError, KeyId, KeyRecord, Keyring, redact};
use entry::Draft;
use hypernet_store::{Store, StoreError};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use verify::ChainCheck;

/// An audit failure.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// Reading or writing the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A keyring operation failed.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// There is no key to sign with.
    #[error("the keyring {0} has no active host key to sign audit entries with")]
    NoActiveKey(PathBuf),
}

/// What [`Audit::prune`] did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Pruned {
    /// Entries removed.
    pub removed: u64,
    /// The last removed seq.
    pub pruned_through: u64,
    /// The checkpoint entry recording it.
    pub checkpoint_seq: u64,
}

/// The audit log of one store, signed with the host keys of one keyring. Cheap to clone.
#[derive(Clone)]
pub struct Audit {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    keyring: RwLock<Keyring>,
    /// The newest entry; held while an entry is sealed and written, so appends never fork.
    head: Mutex<ChainHead>,
}

impl std::fmt::Debug for Audit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Audit")
            .field("store", &self.inner.store)
            .finish_non_exhaustive()
    }
}

impl Audit {
    /// The log of `store`, signed with `keyring`'s active host key.
    pub fn new(store: Store, keyring: Keyring) -> Result<Audit, AuditError> {
        let head = store.audit_head()?.unwrap_or_else(ChainHead::genesis);
        Ok(Audit {
            inner: Arc::new(Inner {
                store,
                keyring: RwLock::new(keyring),
                head: Mutex::new(head),
            }),
        })
    }

    /// Opens the keyring in `keys_dir` — making the first host key when it has none, which
    /// is recorded as a `key_change` — and the log of `store`.
    pub fn open(store: Store, keys_dir: &Path) -> Result<Audit, AuditError> {
        let mut keyring = Keyring::open(keys_dir)?;
        let made = keyring.ensure_active(HOST_ENTITY)?;
        let audit = Audit::new(store, keyring)?;
        if let Some(id) = made {
            audit.append(
                AuditKind::KeyChange,
                HOST_ENTITY,
                json!({ "action": "generate", "id": id, "owner": HOST_ENTITY }),
            )?;
        }
        Ok(audit)
    }

    /// Appends an entry (its detail redacted first), durably; returns its seq.
    pub fn append(&self, kind: AuditKind, actor: &str, detail: Value) -> Result<u64, AuditError> {
        let mut detail = detail;
        redact(&mut detail);
        let draft = Draft {
            at_ms: hypernet_model::clock::now_ms(),
            kind,
            actor: actor.to_owned(),
            detail,
        };
        let mut head = self.inner.head.lock().expect("audit head lock");
        let entry = self.seal(draft, &head)?;
        self.inner.store.audit_append(&entry)?;
        *head = entry.head();
        tracing::debug!(seq = entry.seq, kind = kind.as_str(), actor, "audited");
        Ok(entry.seq)
    }

    /// Appends, logging instead of returning a failure: for records of actions that have
    /// already taken effect.
    pub fn record(&self, kind: AuditKind, actor: &str, detail: Value) {
        if let Err(e) = self.append(kind, actor, detail) {
            tracing::error!(error = %e, kind = kind.as_str(), actor, "could not write an audit entry");
        }
    }

    fn seal(&self, draft: Draft, head: &ChainHead) -> Result<AuditEntry, AuditError> {
        let keyring = self.inner.keyring.read().expect("keyring lock");
        let key = keyring
            .active(HOST_ENTITY)
            .ok_or_else(|| AuditError::NoActiveKey(keyring.dir().to_owned()))?;
        Ok(AuditEntry::seal(draft, head, key))
    }

    /// Entries newest first, skipping `offset`, at most `limit`, with the count of all.
    pub fn list(&self, offset: usize, limit: usize) -> Result<(Vec<AuditEntry>, u64), AuditError> {
        Ok(self.inner.store.audit_page(offset, limit)?)
    }

    /// Rechecks every entry's link, hash and signature, where the log starts and ends, and
    /// the keyring's chain of endorsements.
    pub fn verify(&self) -> Result<VerifyReport, AuditError> {
        let keyring = self.inner.keyring.read().expect("keyring lock");
        let mut check = ChainCheck::new(&keyring);
        let head = self
            .inner
            .store
            .audit_scan(|seq, entry| check.push(seq, entry))?;
        Ok(check.finish(head))
    }

    /// Removes the oldest entries, keeping the newest `keep_last`, and appends a checkpoint
    /// recording the last removed seq and hash, in one transaction. Nothing happens (`None`)
    /// when no more than `keep_last` are stored. The checkpoint records the hash stored in
    /// the last removed entry, so a tampered one still shows: it breaks the link to the
    /// first entry kept.
    pub fn prune(&self, keep_last: u64) -> Result<Option<Pruned>, AuditError> {
        let mut head = self.inner.head.lock().expect("audit head lock");
        let stored = self.inner.store.audit_len()?;
        if stored <= keep_last {
            return Ok(None);
        }
        let last = self
            .inner
            .store
            .audit_nth(stored - keep_last - 1)?
            .expect("the entry is within the count");
        let detail = CheckpointDetail {
            pruned_through: last.seq,
            pruned_hash: last.hash.clone(),
            pruned: stored - keep_last,
        };
        let draft = Draft {
            at_ms: hypernet_model::clock::now_ms(),
            kind: AuditKind::Checkpoint,
            actor: HOST_ENTITY.to_owned(),
            detail: serde_json::to_value(detail).expect("checkpoints serialize"),
        };
        let checkpoint = self.seal(draft, &head)?;
        let removed = self.inner.store.audit_prune(last.seq, &checkpoint)?;
        *head = checkpoint.head();
        tracing::info!(
            removed,
            through = last.seq,
            checkpoint = checkpoint.seq,
            "audit log pruned"
        );
        Ok(Some(Pruned {
            removed,
            pruned_through: last.seq,
            checkpoint_seq: checkpoint.seq,
        }))
    }

    /// Every key's record (never a secret), oldest first.
    pub fn keys(&self) -> Vec<KeyRecord> {
        self.inner.keyring.read().expect("keyring lock").list()
    }

    /// Runs `f` with the keyring, e.g. to sign or verify other records.
    pub fn with_keyring<T>(&self, f: impl FnOnce(&Keyring) -> T) -> T {
        f(&self.inner.keyring.read().expect("keyring lock"))
    }

    /// Replaces the active host key with a new one endorsed by it, recorded as a
    /// `key_change` by `actor`; returns the new key's record.
    pub fn rotate_key(&self, actor: &str) -> Result<KeyRecord, AuditError> {
        self.rotate_key_of(HOST_ENTITY, actor)
    }

    /// Replaces `owner`'s active key with a new one endorsed by it, recorded as a
    /// `key_change` by `actor`; returns the new key's record.
    pub fn rotate_key_of(&self, owner: &str, actor: &str) -> Result<KeyRecord, AuditError> {
        let (new, old) = {
            let mut keyring = self.inner.keyring.write().expect("keyring lock");
            let old = keyring.active(owner).map(|k| k.id().clone());
            (keyring.rotate(owner)?.record().clone(), old)
        };
        self.append(
            AuditKind::KeyChange,
            actor,
            json!({ "action": "rotate", "owner": owner, "id": new.id, "replaced": old }),
        )?;
        Ok(new)
    }

    /// Makes the first key of `owner` (an entity such as a worker's address), recorded as a
    /// `key_change` by `actor`; refused while `owner` has an active key (rotate it instead).
    pub fn generate_key(&self, owner: &str, actor: &str) -> Result<KeyRecord, AuditError> {
        let new = self
            .inner
            .keyring
            .write()
            .expect("keyring lock")
            .generate(owner)?
            .record()
            .clone();
        self.append(
            AuditKind::KeyChange,
            actor,
            json!({ "action": "generate", "owner": owner, "id": new.id }),
        )?;
        Ok(new)
    }

    /// Revokes a key that is no longer active, recorded as a `key_change` by `actor`;
    /// returns its record.
    pub fn revoke_key(&self, id: &KeyId, actor: &str) -> Result<KeyRecord, AuditError> {
        let record = self
            .inner
            .keyring
            .write()
            .expect("keyring lock")
            .revoke(id)?
            .clone();
        self.append(
            AuditKind::KeyChange,
            actor,
            json!({ "action": "revoke", "id": id }),
        )?;
        Ok(record)
    }
}
