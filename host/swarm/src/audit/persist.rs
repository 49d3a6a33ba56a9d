//! The audit log's tables: entries by seq (JSON records) and the chain head, written in the
//! same transaction as each entry. Only [`crate::audit`] writes them, one append at a time.

use crate::audit::{AuditEntry, ChainHead};
use hypernet_store::{Store, StoreResult};
use redb::{ReadableTable, ReadableTableMetadata, TableDefinition};

/// Entries by seq.
pub(crate) const TABLE: TableDefinition<u64, &[u8]> = TableDefinition::new("audit");
/// The chain head, one record.
pub(crate) const HEAD: TableDefinition<&str, &[u8]> = TableDefinition::new("audit_head");

/// Creates this domain's tables when the store opens (a [`hypernet_store::CreateTables`]).
pub fn create_tables(txn: &redb::WriteTransaction) -> Result<(), redb::Error> {
    txn.open_table(TABLE)?;
    txn.open_table(HEAD)?;
    Ok(())
}

const HEAD_KEY: &str = "head";

fn encode(entry: &AuditEntry) -> Vec<u8> {
    serde_json::to_vec(entry).expect("records always serialize")
}

fn decode(bytes: &[u8]) -> Result<AuditEntry, String> {
    serde_json::from_slice(bytes).map_err(|e| e.to_string())
}

fn corrupted(seq: u64, reason: String) -> redb::Error {
    redb::Error::Corrupted(format!("audit entry {seq} does not decode: {reason}"))
}

/// Writes `entry` and makes it the head, inside a write transaction.
fn insert(txn: &redb::WriteTransaction, entry: &AuditEntry) -> Result<(), redb::Error> {
    txn.open_table(TABLE)?
        .insert(entry.seq, encode(entry).as_slice())?;
    hypernet_store::write_record(txn, HEAD, HEAD_KEY, &entry.head())
}

/// The audit log's tables, on the store.
pub trait AuditTables {
    /// The recorded chain head, if anything was ever appended.
    fn audit_head(&self) -> StoreResult<Option<ChainHead>>;
    /// Appends `entry` and moves the head to it, durably.
    fn audit_append(&self, entry: &AuditEntry) -> StoreResult<()>;
    /// Entries stored.
    fn audit_len(&self) -> StoreResult<u64>;
    /// Entries newest first, skipping `offset` and keeping at most `limit`, with the count of
    /// all.
    fn audit_page(&self, offset: usize, limit: usize) -> StoreResult<(Vec<AuditEntry>, u64)>;
    /// Calls `f` with every stored seq and its entry (or why it does not decode), oldest
    /// first; answers the head recorded in the same snapshot.
    fn audit_scan(
        &self,
        f: impl FnMut(u64, Result<AuditEntry, String>),
    ) -> StoreResult<Option<ChainHead>>;
    /// The `index`-th entry, oldest first (0 is the oldest).
    fn audit_nth(&self, index: u64) -> StoreResult<Option<AuditEntry>>;
    /// In one transaction, removes every entry up to seq `through` and appends `checkpoint`
    /// as the new head; returns how many entries were removed.
    fn audit_prune(&self, through: u64, checkpoint: &AuditEntry) -> StoreResult<u64>;
}

impl AuditTables for Store {
    fn audit_head(&self) -> StoreResult<Option<ChainHead>> {
        self.read_record(HEAD, HEAD_KEY, "audit head")
    }

    fn audit_append(&self, entry: &AuditEntry) -> StoreResult<()> {
        self.write(|txn| insert(txn, entry))
    }

    fn audit_len(&self) -> StoreResult<u64> {
        self.read(|txn| Ok(txn.open_table(TABLE)?.len()?))
    }

    fn audit_page(&self, offset: usize, limit: usize) -> StoreResult<(Vec<AuditEntry>, u64)> {
        self.read(|txn| {
            let table = txn.open_table(TABLE)?;
            let mut items = Vec::new();
            for row in table.iter()?.rev().skip(offset).take(limit) {
                let (seq, bytes) = row?;
                items.push(decode(bytes.value()).map_err(|e| corrupted(seq.value(), e))?);
            }
            Ok((items, table.len()?))
        })
    }

    fn audit_scan(
        &self,
        mut f: impl FnMut(u64, Result<AuditEntry, String>),
    ) -> StoreResult<Option<ChainHead>> {
        self.read(|txn| {
            for row in txn.open_table(TABLE)?.iter()? {
                let (seq, bytes) = row?;
                f(seq.value(), decode(bytes.value()));
            }
            let head = txn.open_table(HEAD)?;
            let Some(bytes) = head.get(HEAD_KEY)? else {
                return Ok(None);
            };
            serde_json::from_slice(bytes.value())
                .map(Some)
                .map_err(|e| redb::Error::Corrupted(format!("the audit head does not decode: {e}")))
        })
    }

    fn audit_nth(&self, index: u64) -> StoreResult<Option<AuditEntry>> {
        self.read(|txn| {
            let table = txn.open_table(TABLE)?;
            let Some(row) = table.iter()?.nth(index as usize) else {
                return Ok(None);
            };
            let (seq, bytes) = row?;
            Ok(Some(
                decode(bytes.value()).map_err(|e| corrupted(seq.value(), e))?,
            ))
        })
    }

    fn audit_prune(&self, through: u64, checkpoint: &AuditEntry) -> StoreResult<u64> {
        self.write(|txn| {
            let removed = {
                let mut table = txn.open_table(TABLE)?;
                let before = table.len()?;
                table.retain_in(..=through, |_, _| false)?;
                before - table.len()?
            };
            insert(txn, checkpoint)?;
            Ok(removed)
        })
    }
}
