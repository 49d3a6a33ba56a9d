//! Stopping model calls whose task no longer wants them: a cancelled task's request is
//! dropped at once (its connection closed, its provider slot freed) instead of running to
//! the end only to be ignored.

use hypernet_model::tasks::TaskId;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::oneshot;

/// The calls in flight that can be stopped, by task.
#[derive(Debug, Default)]
pub struct Aborts(Mutex<HashMap<TaskId, oneshot::Sender<()>>>);

impl Aborts {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<TaskId, oneshot::Sender<()>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers the call about to run for `task`; the receiver fires when it is stopped.
    pub fn register(&self, task: TaskId) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        self.map().insert(task, tx);
        rx
    }

    /// The call for `task` has ended.
    pub fn finished(&self, task: TaskId) {
        self.map().remove(&task);
    }

    /// Stops the call for `task`, if one is running.
    pub fn abort(&self, task: TaskId) {
        if let Some(tx) = self.map().remove(&task) {
            let _ = tx.send(());
        }
    }

    /// Stops every call.
    pub fn abort_all(&self) {
        for (_, tx) in self.map().drain() {
            let _ = tx.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_aborted_call_is_told_and_a_finished_one_is_forgotten() {
        let aborts = Aborts::default();
        let stopped = aborts.register(TaskId(1));
        let done = aborts.register(TaskId(2));
        aborts.finished(TaskId(2));
        aborts.abort(TaskId(2));
        assert!(done.await.is_err(), "a finished call is not stopped");
        aborts.abort(TaskId(1));
        assert_eq!(stopped.await, Ok(()));
        let late = aborts.register(TaskId(3));
        aborts.abort_all();
        assert_eq!(late.await, Ok(()));
    }
}
