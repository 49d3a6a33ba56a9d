//! Per-provider concurrency limits: one semaphore per provider address, created on first
//! use. A permit is an owned guard, so a dropped (cancelled) call gives its slot back.

use super::HttpConfig;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The semaphores, by provider address.
#[derive(Debug)]
pub struct Limits {
    default: usize,
    per_provider: HashMap<String, usize>,
    semaphores: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl Limits {
    /// Limits as configured.
    pub fn new(config: &HttpConfig) -> Limits {
        Limits {
            default: config.max_concurrent.max(1),
            per_provider: config
                .max_concurrent_for
                .iter()
                .map(|(k, v)| (k.clone(), (*v).max(1)))
                .collect(),
            semaphores: Mutex::new(HashMap::new()),
        }
    }

    /// The limit that applies to `provider`.
    pub fn limit(&self, provider: &str) -> usize {
        self.per_provider
            .get(provider)
            .copied()
            .unwrap_or(self.default)
    }

    fn semaphore(&self, provider: &str) -> Arc<Semaphore> {
        let mut map = self.semaphores.lock().expect("limits lock");
        map.entry(provider.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(self.limit(provider))))
            .clone()
    }

    /// Waits for a free slot of `provider`; the slot is held until the permit is dropped.
    pub async fn acquire(&self, provider: &str) -> OwnedSemaphorePermit {
        self.semaphore(provider)
            .acquire_owned()
            .await
            .expect("provider semaphores are never closed")
    }

    /// Free slots of `provider` right now.
    pub fn available(&self, provider: &str) -> usize {
        self.semaphore(provider).available_permits()
    }
}
