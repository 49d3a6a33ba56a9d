//! The approval queue's requests, one record each, keyed by number: a request is durable
//! before the task that asked waits on it, and every decision is written before it is acted
//! on.

use crate::approvals::{Approval, ApprovalId, ApprovalStatus};
use hypernet_store::{Store, StoreResult};
use redb::{ReadableTable, TableDefinition};

pub(crate) const TABLE: TableDefinition<u64, &[u8]> = TableDefinition::new("approvals");

/// Creates this domain's tables when the store opens (a [`hypernet_store::CreateTables`]).
pub fn create_tables(txn: &redb::WriteTransaction) -> Result<(), redb::Error> {
    txn.open_table(TABLE)?;
    Ok(())
}

fn decode(bytes: &[u8]) -> Result<Approval, redb::Error> {
    serde_json::from_slice(bytes)
        .map_err(|e| redb::Error::Corrupted(format!("approval record does not decode: {e}")))
}

fn encode(approval: &Approval) -> Vec<u8> {
    serde_json::to_vec(approval).expect("records always serialize")
}

/// A page of requests.
#[derive(Debug, Clone, Default)]
pub struct ApprovalPage {
    /// The requests, newest first.
    pub items: Vec<Approval>,
    /// Requests matching the filter.
    pub total: u64,
}

/// The approval queue's table, on the store.
pub trait ApprovalTables {
    /// Stores a new request under the next id (`make` builds it for that id).
    fn file_approval(&self, make: impl FnOnce(ApprovalId) -> Approval) -> StoreResult<Approval>;
    /// Writes a changed request.
    fn put_approval(&self, approval: &Approval) -> StoreResult<()>;
    /// One request.
    fn approval(&self, id: ApprovalId) -> StoreResult<Option<Approval>>;
    /// Requests with `status` (any when `None`), newest first, skipping `offset`, at most
    /// `limit`.
    fn approvals(
        &self,
        status: Option<ApprovalStatus>,
        offset: usize,
        limit: usize,
    ) -> StoreResult<ApprovalPage>;
}

impl ApprovalTables for Store {
    fn file_approval(&self, make: impl FnOnce(ApprovalId) -> Approval) -> StoreResult<Approval> {
        self.write(|txn| {
            let mut table = txn.open_table(TABLE)?;
            let next = table.last()?.map(|(k, _)| k.value() + 1).unwrap_or(1);
            let approval = make(ApprovalId(next));
            table.insert(next, encode(&approval).as_slice())?;
            Ok(approval)
        })
    }

    fn put_approval(&self, approval: &Approval) -> StoreResult<()> {
        self.write(|txn| {
            let mut table = txn.open_table(TABLE)?;
            table.insert(approval.id.0, encode(approval).as_slice())?;
            Ok(())
        })
    }

    fn approval(&self, id: ApprovalId) -> StoreResult<Option<Approval>> {
        self.read(|txn| {
            let table = txn.open_table(TABLE)?;
            table.get(id.0)?.map(|v| decode(v.value())).transpose()
        })
    }

    fn approvals(
        &self,
        status: Option<ApprovalStatus>,
        offset: usize,
        limit: usize,
    ) -> StoreResult<ApprovalPage> {
        self.read(|txn| {
            let table = txn.open_table(TABLE)?;
            let mut page = ApprovalPage::default();
            for entry in table.iter()?.rev() {
                let approval = decode(entry?.1.value())?;
                if status.is_some_and(|s| s != approval.status) {
                    continue;
                }
                let index = page.total as usize;
                if index >= offset && index - offset < limit {
                    page.items.push(approval);
                }
                page.total += 1;
            }
            Ok(page)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hypernet_model::tasks::TaskId;
    use serde_json::json;

    fn new(id: ApprovalId) -> Approval {
        Approval {
            id,
            task: TaskId(1),
            worker: "Trace".into(),
            tool: "shell".into(),
            args: json!({}),
            reason: "r".into(),
            status: ApprovalStatus::Pending,
            created_ms: 0,
            expires_ms: 10,
            decided_ms: None,
            decided_by: None,
            note: None,
            execution: None,
        }
    }

    #[test]
    fn requests_are_numbered_in_order_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.redb");
        {
            let store = crate::persist::open_store(&path).unwrap();
            assert_eq!(store.file_approval(new).unwrap().id, ApprovalId(1));
            let mut second = store.file_approval(new).unwrap();
            assert_eq!(second.id.to_string(), "AQ-0002");
            second
                .decide(ApprovalStatus::Rejected, "p", None, 1)
                .unwrap();
            store.put_approval(&second).unwrap();
        }
        let store = crate::persist::open_store(&path).unwrap();
        assert_eq!(store.file_approval(new).unwrap().id, ApprovalId(3));
        let pending = store
            .approvals(Some(ApprovalStatus::Pending), 0, 10)
            .unwrap();
        let ids: Vec<String> = pending.items.iter().map(|a| a.id.to_string()).collect();
        assert_eq!(ids, ["AQ-0003", "AQ-0001"], "newest first");
        let all = store.approvals(None, 1, 1).unwrap();
        assert_eq!((all.total, all.items[0].id), (3, ApprovalId(2)));
        assert_eq!(
            store.approval(ApprovalId(2)).unwrap().unwrap().status,
            ApprovalStatus::Rejected
        );
        assert_eq!(store.approval(ApprovalId(9)).unwrap(), None);
    }
}
