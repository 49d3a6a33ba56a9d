//! Sub-millisecond sleeps for simulated calls. tokio's timer counts whole milliseconds and
//! rounds every deadline up, which would add up to a millisecond or two to each simulated
//! call; one thread holding a heap of deadlines wakes each sleeper within microseconds.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

struct Entry {
    at: Instant,
    seq: u64,
    wake: oneshot::Sender<()>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

#[derive(Default)]
struct Timer {
    heap: Mutex<(BinaryHeap<Reverse<Entry>>, u64)>,
    changed: Condvar,
}

fn timer() -> &'static Timer {
    static TIMER: OnceLock<&'static Timer> = OnceLock::new();
    TIMER.get_or_init(|| {
        let t: &'static Timer = Box::leak(Box::default());
        std::thread::Builder::new()
            .name("sim-timer".into())
            .spawn(move || run(t))
            .expect("start the simulation timer thread");
        t
    })
}

fn run(t: &'static Timer) {
    let mut guard = t.heap.lock().expect("timer lock");
    loop {
        let now = Instant::now();
        while guard.0.peek().is_some_and(|e| e.0.at <= now) {
            let Reverse(e) = guard.0.pop().expect("peeked");
            let _ = e.wake.send(());
        }
        guard = match guard.0.peek().map(|e| e.0.at) {
            Some(at) => {
                t.changed
                    .wait_timeout(guard, at - now)
                    .expect("timer lock")
                    .0
            }
            None => t.changed.wait(guard).expect("timer lock"),
        };
    }
}

/// Waits `d` with sub-millisecond precision.
pub async fn sleep(d: Duration) {
    let (wake, rx) = oneshot::channel();
    let t = timer();
    {
        let mut guard = t.heap.lock().expect("timer lock");
        let seq = guard.1;
        guard.1 += 1;
        let first = guard.0.peek().is_none_or(|e| Instant::now() + d < e.0.at);
        guard.0.push(Reverse(Entry {
            at: Instant::now() + d,
            seq,
            wake,
        }));
        if first {
            t.changed.notify_one();
        }
    }
    let _ = rx.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sleepers_wake_in_deadline_order_and_never_early() {
        let start = Instant::now();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        for ms in [30u64, 10, 20] {
            let tx = tx.clone();
            tokio::spawn(async move {
                sleep(Duration::from_millis(ms)).await;
                let _ = tx.send((ms, start.elapsed()));
            });
        }
        drop(tx);
        let mut woke = Vec::new();
        while let Some((ms, at)) = rx.recv().await {
            assert!(
                at >= Duration::from_millis(ms),
                "{ms} ms sleep woke at {at:?}"
            );
            woke.push(ms);
        }
        assert_eq!(woke, [10, 20, 30]);
    }
}
