//! The swarm's tables in the one redb file. Each domain declares its tables and their
//! encoding in its own `persist.rs`; this module lists them for [`open_store`] and gathers
//! the store extensions each domain defines, so a caller imports them from one place.
//!
//! | domain | tables | extension |
//! |---|---|---|
//! | [`crate::scheduler::persist`] | `tasks`, `task_origins`, `worker_stats`, `standing_cooldowns` | [`TaskTables`] |
//! | [`crate::budget::persist`] | `budget` | [`BudgetTable`] |
//! | [`crate::scheduler::ladder::persist`] | `ladder` | [`LadderTable`] |
//! | [`crate::approvals::persist`] | `approvals` | [`ApprovalTables`] |
//! | [`crate::audit::persist`] | `audit`, `audit_head` | [`AuditTables`] |
//! | [`crate::bus::persist`] | `worker_messages` | [`BusTables`] |
//! | [`crate::scheduler::batch_api::persist`] | `batch_api` | [`BatchApiTable`] |
//!
//! Plugin key-value namespaces (`plugin_kv`) belong to the store itself.

pub use crate::approvals::persist::ApprovalTables;
pub use crate::audit::persist::AuditTables;
pub use crate::budget::persist::BudgetTable;
pub use crate::bus::persist::BusTables;
pub use crate::scheduler::batch_api::persist::BatchApiTable;
pub use crate::scheduler::ladder::persist::LadderTable;
pub use crate::scheduler::persist::TaskTables;
use hypernet_store::{CreateTables, Store, StoreResult};
use std::path::Path;

/// Every table of the swarm's domains.
pub const TABLES: &[CreateTables] = &[
    crate::scheduler::persist::create_tables,
    crate::budget::persist::create_tables,
    crate::scheduler::ladder::persist::create_tables,
    crate::approvals::persist::create_tables,
    crate::audit::persist::create_tables,
    crate::bus::persist::create_tables,
    crate::scheduler::batch_api::persist::create_tables,
];

/// Opens (or creates) the host's database at `path` with every table of the swarm.
pub fn open_store(path: &Path) -> StoreResult<Store> {
    Store::open(path, TABLES)
}
