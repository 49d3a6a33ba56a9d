//! Reserved next calls. A busy worker may hold one more task, durably assigned to it, in a
//! slot shared with the worker's running call: when that call ends, the call's own task
//! takes the reservation and starts it at once, without a round trip through the scheduler
//! and the store. The scheduler records the start when it handles the finished call.
//!
//! Each slot is tagged with a *lane*: the identity of the call task allowed to take it. A
//! call whose task was cancelled under it keeps running on the old lane and can never take
//! a reservation meant for the worker's next lane.

use super::call::{CallSpec, PreparedCall};
use hypernet_model::tasks::TaskId;
use std::sync::Mutex;

/// A reserved call, ready to start.
#[derive(Debug, Clone)]
pub struct Reserved {
    /// The task.
    pub task: TaskId,
    /// Its attempt number.
    pub attempt: u32,
    /// What to send.
    pub spec: CallSpec,
    /// The provider's request, when it was prepared while the reservation waited.
    pub prepared: Option<PreparedCall>,
}

/// One slot per worker.
#[derive(Debug)]
pub struct Slots(Vec<Mutex<Option<(u64, Reserved)>>>);

impl Slots {
    /// Empty slots for `workers` workers.
    pub fn new(workers: usize) -> Slots {
        Slots((0..workers).map(|_| Mutex::new(None)).collect())
    }

    /// How many workers it has slots for.
    pub fn capacity(&self) -> usize {
        self.0.len()
    }

    fn slot(&self, worker: usize) -> std::sync::MutexGuard<'_, Option<(u64, Reserved)>> {
        self.0[worker].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Offers `reserved` to the call task on `lane` of `worker` (once it is durable).
    pub fn put(&self, worker: usize, lane: u64, reserved: Reserved) {
        *self.slot(worker) = Some((lane, reserved));
    }

    /// The call task on `lane` takes its next call, if one is reserved for it.
    pub fn take_for_lane(&self, worker: usize, lane: u64) -> Option<Reserved> {
        let mut slot = self.slot(worker);
        if slot.as_ref().is_some_and(|(l, _)| *l == lane) {
            slot.take().map(|(_, r)| r)
        } else {
            None
        }
    }

    /// Attaches the prepared request to the reservation of `task` on `lane`, if it is
    /// still waiting there.
    pub fn attach(&self, worker: usize, lane: u64, task: TaskId, prepared: PreparedCall) {
        if let Some((l, r)) = self.slot(worker).as_mut()
            && *l == lane
            && r.task == task
        {
            r.prepared = Some(prepared);
        }
    }

    /// The scheduler takes a reservation back; `None` means a call task has already
    /// started it.
    pub fn withdraw(&self, worker: usize) -> Option<Reserved> {
        self.slot(worker).take().map(|(_, r)| r)
    }
}
