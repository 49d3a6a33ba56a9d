//! The host's one redb file: every durable byte of the swarm lives here.
//!
//! This crate is the machinery only — opening the file, transactions, JSON records — and
//! knows no domain: each domain declares its own tables and their encoding in its own
//! `persist.rs` (tasks, budget, ladder, approvals, audit in `hypernet-swarm`), and hands
//! [`Store::open`] the functions that create them. [`kv`], each plugin's key-value
//! namespace, is the one table of its own.
//!
//! The host owns the file (redb takes an exclusive lock), so plugins reach it only through
//! the host handle's capabilities.

pub mod kv;

use redb::{Database, Durability, ReadableDatabase};
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::Arc;

thread_local! {
    /// Whether this thread's writes are deferred (see [`deferred`]).
    static DEFERRED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with this thread's writes deferred: each is committed (later reads see it) but
/// made durable only by the next durable commit of the file, whatever thread makes it.
/// redb keeps commits in order, so a crash loses at most a suffix of deferred writes —
/// never one without those before it. Plugin event handlers run this way: the durable
/// record that they handled an event (their cursor) is committed after their writes, so a
/// crash that loses the writes also loses the cursor and the event is delivered again.
pub fn deferred<T>(f: impl FnOnce() -> T) -> T {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            DEFERRED.with(|d| d.set(self.0));
        }
    }
    let _restore = Restore(DEFERRED.with(|d| d.replace(true)));
    f()
}

/// redb's page cache.
const CACHE_BYTES: usize = 32 << 20;

/// A store failure, naming the file.
#[derive(Debug, thiserror::Error)]
#[error("store {path}: {source}")]
pub struct StoreError {
    path: PathBuf,
    #[source]
    source: redb::Error,
}

/// Writes `value` as the JSON record `key` of a table, inside a batch transaction.
pub fn write_record<T: serde::Serialize>(
    txn: &redb::WriteTransaction,
    table: redb::TableDefinition<&str, &[u8]>,
    key: &str,
    value: &T,
) -> Result<(), redb::Error> {
    let mut table = txn.open_table(table)?;
    let bytes = serde_json::to_vec(value).expect("records always serialize");
    table.insert(key, bytes.as_slice())?;
    Ok(())
}

/// Creates a domain's tables inside the transaction that opens the file, so that reads
/// find them on a fresh file. Opening a table that exists changes nothing.
pub type CreateTables = fn(&redb::WriteTransaction) -> Result<(), redb::Error>;

impl StoreError {
    /// Whether the file is open in another process (another host holds its lock).
    pub fn is_in_use(&self) -> bool {
        matches!(self.source, redb::Error::DatabaseAlreadyOpen)
    }
}

/// Result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// Shared handle to the database.
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
    path: Arc<PathBuf>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (or creates) the database file, the plugin key-value table and every table
    /// that `tables` create.
    pub fn open(path: &Path, tables: &[CreateTables]) -> StoreResult<Store> {
        let wrap = |source: redb::Error| StoreError {
            path: path.to_owned(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| wrap(redb::Error::Io(e)))?;
        }
        // A bounded page cache keeps memory flat however many tasks are stored; the hot data
        // (unfinished tasks) lives in the scheduler's memory anyway.
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(path)
            .map_err(|e| wrap(e.into()))?;
        let store = Store {
            db: Arc::new(db),
            path: Arc::new(path.to_owned()),
        };
        store.write(|txn| {
            txn.open_table(kv::TABLE)?;
            for create in tables {
                create(txn)?;
            }
            Ok(())
        })?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, source: impl Into<redb::Error>) -> StoreError {
        StoreError {
            path: (*self.path).clone(),
            source: source.into(),
        }
    }

    /// Runs `f` in one write transaction, durable when it returns (unless this thread's
    /// writes are [`deferred`]).
    pub fn write<T>(
        &self,
        f: impl FnOnce(&redb::WriteTransaction) -> Result<T, redb::Error>,
    ) -> StoreResult<T> {
        let mut txn = self.db.begin_write().map_err(|e| self.err(e))?;
        if DEFERRED.with(Cell::get) {
            txn.set_durability(Durability::None)
                .map_err(|e| self.err(e))?;
        }
        let out = f(&txn).map_err(|e| self.err(e))?;
        txn.commit().map_err(|e| self.err(e))?;
        Ok(out)
    }

    /// Reads the JSON record `key` of a single-record table (`what` names it in errors).
    pub fn read_record<T: serde::de::DeserializeOwned>(
        &self,
        table: redb::TableDefinition<&str, &[u8]>,
        key: &str,
        what: &str,
    ) -> StoreResult<Option<T>> {
        self.read(|txn| {
            let table = txn.open_table(table)?;
            table
                .get(key)?
                .map(|v| {
                    serde_json::from_slice(v.value()).map_err(|e| {
                        redb::Error::Corrupted(format!(
                            "{what} record `{key}` does not decode: {e}"
                        ))
                    })
                })
                .transpose()
        })
    }

    /// Runs `f` in a read transaction (a consistent snapshot).
    pub fn read<T>(
        &self,
        f: impl FnOnce(&redb::ReadTransaction) -> Result<T, redb::Error>,
    ) -> StoreResult<T> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        f(&txn).map_err(|e| self.err(e))
    }
}
