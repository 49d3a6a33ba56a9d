//! The bus's table in the redb file: one record per message, keyed by its number. A
//! message and the events announcing it are written in one transaction (see
//! [`super::service`]).

use super::{MessageStatus, WorkerMessage, WorkerMessageId};
use hypernet_store::{Store, StoreResult};
use redb::{ReadableTable, TableDefinition};

pub(crate) const TABLE: TableDefinition<u64, &[u8]> = TableDefinition::new("worker_messages");

/// Creates this domain's tables when the store opens (a [`hypernet_store::CreateTables`]).
pub fn create_tables(txn: &redb::WriteTransaction) -> Result<(), redb::Error> {
    txn.open_table(TABLE)?;
    Ok(())
}

fn decode(bytes: &[u8]) -> Result<WorkerMessage, redb::Error> {
    serde_json::from_slice(bytes)
        .map_err(|e| redb::Error::Corrupted(format!("worker message record does not decode: {e}")))
}

fn encode(message: &WorkerMessage) -> Vec<u8> {
    serde_json::to_vec(message).expect("records always serialize")
}

/// Writes `message`, within a write.
pub(crate) fn put(
    txn: &redb::WriteTransaction,
    message: &WorkerMessage,
) -> Result<(), redb::Error> {
    let mut table = txn.open_table(TABLE)?;
    table.insert(message.id.0, encode(message).as_slice())?;
    Ok(())
}

/// Which messages a listing shows.
#[derive(Debug, Clone, Default)]
pub struct BusFilter {
    /// Written by, to or delivered to this worker (any case).
    pub worker: Option<String>,
    /// In this thread.
    pub thread: Option<WorkerMessageId>,
    /// With this status.
    pub status: Option<MessageStatus>,
}

impl BusFilter {
    fn keeps(&self, m: &WorkerMessage) -> bool {
        self.worker.as_deref().is_none_or(|w| m.involves(w))
            && self.thread.is_none_or(|t| m.thread == t)
            && self.status.is_none_or(|s| m.status == s)
    }
}

/// A page of messages.
#[derive(Debug, Clone, Default)]
pub struct BusPage {
    /// The messages, newest first.
    pub items: Vec<WorkerMessage>,
    /// Messages matching the filter.
    pub total: u64,
}

/// The bus's table, on the store.
pub trait BusTables {
    /// The number the next message gets (writers are serialized by the bus).
    fn next_worker_message(&self) -> StoreResult<u64>;
    /// One message.
    fn worker_message(&self, id: WorkerMessageId) -> StoreResult<Option<WorkerMessage>>;
    /// Messages `filter` keeps, newest first, skipping `offset`, at most `limit`.
    fn worker_messages(
        &self,
        filter: &BusFilter,
        offset: usize,
        limit: usize,
    ) -> StoreResult<BusPage>;
    /// Every message with `status`, oldest first.
    fn worker_messages_in(&self, status: MessageStatus) -> StoreResult<Vec<WorkerMessage>>;
}

impl BusTables for Store {
    fn next_worker_message(&self) -> StoreResult<u64> {
        self.read(|txn| {
            let table = txn.open_table(TABLE)?;
            Ok(table.last()?.map(|(k, _)| k.value() + 1).unwrap_or(1))
        })
    }

    fn worker_message(&self, id: WorkerMessageId) -> StoreResult<Option<WorkerMessage>> {
        self.read(|txn| {
            let table = txn.open_table(TABLE)?;
            table.get(id.0)?.map(|v| decode(v.value())).transpose()
        })
    }

    fn worker_messages(
        &self,
        filter: &BusFilter,
        offset: usize,
        limit: usize,
    ) -> StoreResult<BusPage> {
        self.read(|txn| {
            let table = txn.open_table(TABLE)?;
            let mut page = BusPage::default();
            for entry in table.iter()?.rev() {
                let message = decode(entry?.1.value())?;
                if !filter.keeps(&message) {
                    continue;
                }
                let index = page.total as usize;
                if index >= offset && index - offset < limit {
                    page.items.push(message);
                }
                page.total += 1;
            }
            Ok(page)
        })
    }

    fn worker_messages_in(&self, status: MessageStatus) -> StoreResult<Vec<WorkerMessage>> {
        self.read(|txn| {
            let table = txn.open_table(TABLE)?;
            let mut out = Vec::new();
            for entry in table.iter()? {
                let message = decode(entry?.1.value())?;
                if message.status == status {
                    out.push(message);
                }
            }
            Ok(out)
        })
    }
}
