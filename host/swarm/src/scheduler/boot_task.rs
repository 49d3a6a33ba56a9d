//! The boot sequences of new instances, started once the scheduler thread runs: a task on
//! the runtime that sends its charges, progress and results to the thread as
//! [`Command::Boot`] (see [`crate::identity::startup`]).

use super::Command;
use super::call::ProviderMap;
use hypernet_engine::Registry;
use std::sync::mpsc;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// What the boot sequences need, taken from the scheduler as it starts.
pub(super) struct BootTask {
    pub(super) config: crate::identity::IdentityConfig,
    pub(super) identities: crate::identity::Identities,
    pub(super) workers: Vec<(crate::workers::WorkerConfig, String)>,
    pub(super) registry: Arc<Registry>,
    pub(super) providers: Arc<ProviderMap>,
    pub(super) http: hypernet_llm::HttpExecutor,
    pub(super) timeout: Duration,
    pub(super) shared: Arc<RwLock<Arc<crate::identity::Identities>>>,
    pub(super) tx: mpsc::Sender<Command>,
}

impl BootTask {
    pub(super) fn spawn(self) {
        if self.workers.is_empty() {
            return;
        }
        let tx = self.tx;
        let ledger: crate::identity::startup::Ledger = Arc::new(move |request| {
            // A stopped scheduler drops the request (and with it a reservation's reply).
            let _ = tx.send(Command::Boot(request));
        });
        tokio::spawn(async move {
            let caller = crate::identity::boot::Caller {
                registry: &self.registry,
                providers: &self.providers,
                http: &self.http,
                timeout: self.timeout,
            };
            crate::identity::startup::boot_all(
                &self.config,
                self.identities,
                self.workers,
                &caller,
                &ledger,
                &self.shared,
            )
            .await;
        });
    }
}
