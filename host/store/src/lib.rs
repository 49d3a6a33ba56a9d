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

/// redb's page cache (read cache and write buffer together). Small, so that memory stays
/// flat however large the file grows: pages not cached are read from the kernel's page
/// cache, and the hot data (unfinished tasks) lives in the scheduler's memory anyway. At
/// 32 MiB the resident set grew with the file until the cache was full, with no durable
/// throughput gained over 4 MiB; at 4 MiB it still grew by as much between a thousand tasks
/// and a hundred thousand (docs/benchmarks.md, "Where the memory goes").
const CACHE_BYTES: usize = 1 << 20;

/// A store failure, naming the file. Its message includes redb's, which is therefore not
/// also given as its source (an error chain would print it twice).
#[derive(Debug, thiserror::Error)]
#[error("store {path}: {error}")]
pub struct StoreError {
    path: PathBuf,
    error: redb::Error,
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
        matches!(self.error, redb::Error::DatabaseAlreadyOpen)
    }
}

/// The error for a database file that cannot be read, with what to do about it.
fn damaged(why: &str) -> redb::Error {
    redb::Error::Corrupted(format!(
        "{why}, not a readable redb database; move it away to start with a new one, or \
         restore it from a backup"
    ))
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
    /// Opens the database file, the plugin key-value table and every table that `tables`
    /// create. Only a missing file is created: an empty or damaged one is refused (redb
    /// would silently start an empty database in a zero-byte file).
    pub fn open(path: &Path, tables: &[CreateTables]) -> StoreResult<Store> {
        let wrap = |error: redb::Error| StoreError {
            path: path.to_owned(),
            error,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| wrap(redb::Error::Io(e)))?;
        }
        let exists = match std::fs::metadata(path) {
            Ok(meta) if meta.len() == 0 => {
                return Err(wrap(damaged("the file is empty (0 bytes)")));
            }
            Ok(_) => true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(wrap(redb::Error::Io(e))),
        };
        // A bounded page cache keeps memory flat however many tasks are stored; the hot data
        // (unfinished tasks) lives in the scheduler's memory anyway.
        let builder = {
            let mut builder = Database::builder();
            builder.set_cache_size(CACHE_BYTES);
            builder
        };
        let db = if exists {
            builder.open(path).map_err(|e| match redb::Error::from(e) {
                in_use @ redb::Error::DatabaseAlreadyOpen => wrap(in_use),
                other => wrap(damaged(&other.to_string())),
            })?
        } else {
            builder.create(path).map_err(|e| wrap(e.into()))?
        };
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
            error: source.into(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn open_err(path: &Path) -> String {
        Store::open(path, &[]).expect_err("refused").to_string()
    }

    #[test]
    fn a_missing_file_starts_fresh_and_opens_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data/hypernet.redb");
        drop(Store::open(&path, &[]).unwrap());
        assert!(std::fs::metadata(&path).unwrap().len() > 0);
        Store::open(&path, &[]).unwrap();
    }

    #[test]
    fn an_empty_or_damaged_file_is_refused_naming_it_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hypernet.redb");
        std::fs::write(&path, b"").unwrap();
        let message = open_err(&path);
        assert!(
            message.starts_with(&format!("store {}: ", path.display())),
            "{message}"
        );
        assert!(message.contains("the file is empty (0 bytes)"), "{message}");
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0, "left as it was");

        std::fs::write(&path, vec![7u8; 8192]).unwrap();
        let message = open_err(&path);
        assert!(
            message.contains("not a readable redb database"),
            "{message}"
        );
        assert_eq!(message.matches("DB corrupted").count(), 1, "{message}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            vec![7u8; 8192],
            "left as it was"
        );
    }
}
