//! Turns on the machine for the tests of one binary, which run on parallel threads.
//!
//! Most tests start a host or two and leave the machine mostly idle; a few load all of it
//! (a headless Chromium is a dozen processes, a cargo build of a plugin crate keeps every
//! core busy), and a test that counts milliseconds beside one of them can miss its mark.
//! So a heavy test takes [`alone`] before anything else: it waits until no other test holds
//! a turn and keeps them all waiting until it ends. Every [`Env`](crate::Env) holds a
//! shared turn, which any number of tests hold at once.
//!
//! Turns belong to a thread: the ones a thread takes while it holds one are counted within
//! it (a test may make several `Env`s, a heavy test makes its own), and a [`Turn`] cannot
//! move to another thread, so it is given back where it was taken. A thread that holds a
//! shared turn cannot then take [`alone`] (two tests doing so would wait for each other
//! forever); it panics instead.

use std::cell::Cell;
use std::marker::PhantomData;
use std::sync::{Condvar, Mutex, MutexGuard};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Shared,
    Alone,
}

/// Who holds the machine.
struct Machine {
    /// Tests holding a shared turn.
    shared: usize,
    /// A test holds it alone.
    alone: bool,
    /// Tests waiting to hold it alone; no new shared turn starts while one waits.
    waiting: usize,
}

static MACHINE: Mutex<Machine> = Mutex::new(Machine {
    shared: 0,
    alone: false,
    waiting: 0,
});
static CHANGED: Condvar = Condvar::new();

thread_local! {
    /// The turn this thread holds, if any, and how many of its guards are alive.
    static HELD: Cell<(Option<Kind>, usize)> = const { Cell::new((None, 0)) };
}

fn machine() -> MutexGuard<'static, Machine> {
    MACHINE.lock().unwrap_or_else(|e| e.into_inner())
}

/// A turn on the machine, given back when the last guard of its thread drops.
#[must_use = "the turn ends when this is dropped"]
pub struct Turn {
    /// Given back on the thread that took it.
    _here: PhantomData<MutexGuard<'static, ()>>,
}

impl std::fmt::Debug for Turn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Turn")
    }
}

impl Turn {
    fn counted() -> Turn {
        HELD.with(|held| {
            let (kind, count) = held.get();
            held.set((kind, count + 1));
        });
        Turn { _here: PhantomData }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let released = HELD.with(|held| {
            let (kind, count) = held.get();
            if count > 1 {
                held.set((kind, count - 1));
                None
            } else {
                held.set((None, 0));
                kind
            }
        });
        let Some(kind) = released else { return };
        let mut machine = machine();
        match kind {
            Kind::Shared => machine.shared -= 1,
            Kind::Alone => machine.alone = false,
        }
        drop(machine);
        CHANGED.notify_all();
    }
}

fn held() -> Option<Kind> {
    HELD.with(|held| held.get().0)
}

/// A shared turn: waits while a test holds (or waits for) the machine alone.
pub(crate) fn shared() -> Turn {
    if held().is_none() {
        let mut machine = machine();
        while machine.alone || machine.waiting > 0 {
            machine = CHANGED.wait(machine).unwrap_or_else(|e| e.into_inner());
        }
        machine.shared += 1;
        HELD.with(|held| held.set((Some(Kind::Shared), 0)));
    }
    Turn::counted()
}

/// The machine alone, for a heavy test: waits until no other test holds a turn, then keeps
/// every other test waiting until the last guard drops. Take it first thing in the test.
///
/// Panics when this thread holds a shared turn (an [`Env`](crate::Env) is alive).
pub fn alone() -> Turn {
    match held() {
        Some(Kind::Alone) => {}
        Some(Kind::Shared) => panic!(
            "a heavy test takes `turn::alone()` before it makes an `Env` (this thread holds a \
             shared turn, and waiting for the machine alone would wait for itself)"
        ),
        None => {
            let mut machine = machine();
            machine.waiting += 1;
            while machine.alone || machine.shared > 0 {
                machine = CHANGED.wait(machine).unwrap_or_else(|e| e.into_inner());
            }
            machine.waiting -= 1;
            machine.alone = true;
            HELD.with(|held| held.set((Some(Kind::Alone), 0)));
        }
    }
    Turn::counted()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::mpsc;
    use std::time::Duration;

    fn now() -> (usize, bool) {
        let machine = machine();
        (machine.shared, machine.alone)
    }

    // One test: the turns are process-wide, so their cases must not run side by side.
    #[test]
    fn turns_nest_within_a_thread_and_alone_excludes_every_other_thread() {
        // Turns a thread takes while it holds one are counted within it.
        let first = shared();
        let second = shared();
        assert_eq!(now(), (1, false));
        drop(first);
        assert_eq!(now(), (1, false));
        drop(second);
        assert_eq!(now(), (0, false));
        let heavy = alone();
        let env = shared();
        drop(heavy);
        assert_eq!(now(), (0, true), "held until the thread's last guard drops");
        drop(env);
        assert_eq!(now(), (0, false));

        // Alone waits for another thread's shared turn to end...
        let released = Arc::new(AtomicBool::new(false));
        let (ready, started) = mpsc::channel();
        let other = {
            let released = released.clone();
            std::thread::spawn(move || {
                let turn = shared();
                ready.send(()).unwrap();
                std::thread::sleep(Duration::from_millis(200));
                released.store(true, Ordering::SeqCst);
                drop(turn);
            })
        };
        started.recv().unwrap();
        let heavy = alone();
        assert!(
            released.load(Ordering::SeqCst),
            "alone began beside a shared turn"
        );
        other.join().unwrap();

        // ...and keeps new ones out until it ends.
        let entered = Arc::new(AtomicBool::new(false));
        let other = {
            let entered = entered.clone();
            std::thread::spawn(move || {
                let _turn = shared();
                entered.store(true, Ordering::SeqCst);
            })
        };
        std::thread::sleep(Duration::from_millis(200));
        assert!(
            !entered.load(Ordering::SeqCst),
            "a shared turn began beside alone"
        );
        drop(heavy);
        other.join().unwrap();
        assert!(entered.load(Ordering::SeqCst));
        assert_eq!(now(), (0, false));

        // A thread holding a shared turn cannot wait for the machine alone.
        let env = shared();
        let upgrade = std::panic::catch_unwind(alone);
        assert!(upgrade.is_err(), "alone under a shared turn must panic");
        drop(env);
        assert_eq!(now(), (0, false));
    }
}
