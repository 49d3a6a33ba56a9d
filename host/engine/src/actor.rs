//! One thread per running service: calls into a plugin are serialized on it, so plugins keep
//! `&mut self` state without locks and a slow plugin delays only its own queue. A
//! subscribing service's thread also reads the event log from its cursor
//! ([`crate::delivery`]), between calls, a batch at a time.

use crate::delivery::Feed;
use crate::journal::Journal;
use abi_stable::std_types::RStr;
use hypernet_plugin_api::abi::ServiceBox;
use hypernet_plugin_api::{ErrorCode, PluginError};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// How long a thread polls a channel before parking. Waking a parked thread costs tens of
/// microseconds on a virtual machine; a short poll keeps a blocking query round trip (and
/// back-to-back queries) in the microsecond range. Only blocking calls poll: events are
/// fire-and-forget and async callers pay a runtime wake-up anyway, so polling after them
/// would only take CPU from the threads doing the work.
const SPIN: Duration = Duration::from_micros(50);

/// Polls `rx` for up to [`SPIN`]; `None` when nothing arrived (or the sender is gone).
fn spin_recv<T>(rx: &mpsc::Receiver<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        for _ in 0..64 {
            match rx.try_recv() {
                Ok(v) => return Some(v),
                Err(mpsc::TryRecvError::Disconnected) => return None,
                Err(mpsc::TryRecvError::Empty) => std::hint::spin_loop(),
            }
        }
        if start.elapsed() >= SPIN {
            return None;
        }
    }
}

type CallResult = Result<String, PluginError>;

enum Reply {
    Async(oneshot::Sender<CallResult>),
    Blocking(mpsc::SyncSender<CallResult>),
}

/// How many events a service handles before it looks at its calls again.
const EVENT_BATCH: usize = 256;

enum Msg {
    /// New events are logged (see [`Feed::wake`]).
    Deliver,
    Call {
        op: String,
        payload: String,
        reply: Reply,
    },
    Stop,
}

/// Sends work to a service's thread. Cheap to clone.
#[derive(Clone)]
pub struct ActorHandle {
    label: Arc<str>,
    tx: mpsc::Sender<Msg>,
}

impl std::fmt::Debug for ActorHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActorHandle")
            .field("label", &self.label)
            .finish()
    }
}

/// Called (on the actor thread) when the service panics, with the panic message.
pub type OnPanic = Box<dyn Fn(String) + Send>;

/// What a subscribing service reads: its feed and the log.
pub type Subscription = (Arc<Feed>, Arc<Journal>);

/// Starts the thread that owns `service` (reading the log when it `subscription`).
pub fn spawn(
    label: String,
    mut service: ServiceBox,
    subscription: Option<Subscription>,
    on_panic: OnPanic,
) -> std::io::Result<ActorHandle> {
    let (tx, rx) = mpsc::channel::<Msg>();
    let name = format!("plugin {label}");
    let label: Arc<str> = label.into();
    let thread_label = label.clone();
    std::thread::Builder::new().name(name).spawn(move || {
        let fail = |err: &PluginError| {
            if err.code() == ErrorCode::Panicked {
                on_panic(err.message().to_owned());
                true
            } else {
                false
            }
        };
        let mut after_call = false;
        loop {
            let next = if after_call { spin_recv(&rx) } else { None };
            let next = match next.map(Ok).unwrap_or_else(|| rx.try_recv()) {
                Ok(msg) => Some(msg),
                Err(mpsc::TryRecvError::Disconnected) => return,
                Err(mpsc::TryRecvError::Empty) => None,
            };
            let msg = match next {
                Some(msg) => msg,
                None => {
                    // Nothing queued: events first, then wait.
                    if let Some((feed, journal)) = &subscription
                        && journal.head() > feed.acked()
                    {
                        match deliver(&mut service, feed, journal, &thread_label) {
                            Delivered::Batch => continue,
                            Delivered::Panicked(message) => {
                                on_panic(message);
                                return;
                            }
                        }
                    }
                    match rx.recv() {
                        Ok(msg) => msg,
                        Err(_) => return,
                    }
                }
            };
            after_call = matches!(
                msg,
                Msg::Call {
                    reply: Reply::Blocking(_),
                    ..
                }
            );
            match msg {
                // The loop reads the log when nothing else is queued.
                Msg::Deliver => {
                    if let Some((feed, _)) = &subscription {
                        feed.woken();
                    }
                }
                Msg::Call { op, payload, reply } => {
                    let result = service
                        .call(RStr::from_str(&op), RStr::from_str(&payload))
                        .into_result()
                        .map(|s| s.into_string())
                        .map_err(PluginError::from);
                    // A panic marks the plugin failed before the caller hears of it, so
                    // whatever the caller does next sees the failed state.
                    let panicked = matches!(&result, Err(e) if fail(e));
                    match reply {
                        Reply::Async(tx) => drop(tx.send(result)),
                        Reply::Blocking(tx) => drop(tx.send(result)),
                    }
                    if panicked {
                        return;
                    }
                }
                Msg::Stop => {
                    service.stop();
                    return;
                }
            }
        }
    })?;
    Ok(ActorHandle { label, tx })
}

/// How a batch of deliveries ended.
enum Delivered {
    Batch,
    Panicked(String),
}

/// Hands the service up to [`EVENT_BATCH`] events after its cursor (not its own), each with
/// its writes deferred, advancing the cursor after each. An event whose handler fails is
/// logged and passed; one whose handler panics is passed too (so that it cannot fail the
/// plugin again when it is enabled anew).
fn deliver(service: &mut ServiceBox, feed: &Feed, journal: &Journal, label: &str) -> Delivered {
    // Every event up to the head is on file or in memory by now (the head moves after the
    // commit), so finding none up to it means there is none to find.
    let head = journal.head();
    let events = match journal.read_after(feed.acked(), EVENT_BATCH) {
        Ok(events) if events.is_empty() => {
            feed.ack(head);
            return Delivered::Batch;
        }
        Ok(events) => events,
        Err(e) => {
            tracing::error!(service = %label, error = %e, "cannot read the event log");
            std::thread::sleep(Duration::from_millis(100));
            return Delivered::Batch;
        }
    };
    for event in events {
        if *event.source != *feed.plugin() {
            let result = hypernet_store::deferred(|| {
                service.on_event(RStr::from_str(&event.json)).into_result()
            });
            if let Err(err) = result {
                let err = PluginError::from(err);
                if err.code() == ErrorCode::Panicked {
                    tracing::error!(service = %label, event = event.id, "the plugin panicked handling the event; it is passed");
                    feed.ack(event.id);
                    return Delivered::Panicked(err.message().to_owned());
                }
                tracing::warn!(service = %label, event = event.id, error = %err, "event handler failed");
            }
        }
        feed.ack(event.id);
    }
    Delivered::Batch
}

impl ActorHandle {
    fn gone(&self) -> PluginError {
        PluginError::new(
            ErrorCode::Unavailable,
            format!("`{}` is not running", self.label),
        )
    }

    fn timed_out(&self, op: &str, timeout: Duration) -> PluginError {
        PluginError::new(
            ErrorCode::Unavailable,
            format!("`{}` did not answer `{op}` within {timeout:?}", self.label),
        )
    }

    /// Tells a subscribing service that new events are logged; false when it has stopped.
    pub fn wake(&self) -> bool {
        self.tx.send(Msg::Deliver).is_ok()
    }

    /// Calls `op` and waits for the answer without blocking the runtime.
    pub async fn call(&self, op: &str, payload: String, timeout: Duration) -> CallResult {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Msg::Call {
                op: op.to_owned(),
                payload,
                reply: Reply::Async(tx),
            })
            .map_err(|_| self.gone())?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(self.gone()),
            Err(_) => Err(self.timed_out(op, timeout)),
        }
    }

    /// Calls `op` from a plain thread (another plugin's actor) and blocks for the answer.
    pub fn call_blocking(&self, op: &str, payload: String, timeout: Duration) -> CallResult {
        let (tx, rx) = mpsc::sync_channel(1);
        self.tx
            .send(Msg::Call {
                op: op.to_owned(),
                payload,
                reply: Reply::Blocking(tx),
            })
            .map_err(|_| self.gone())?;
        if let Some(result) = spin_recv(&rx) {
            return result;
        }
        match rx.recv_timeout(timeout) {
            Ok(result) => result,
            Err(mpsc::RecvTimeoutError::Timeout) => Err(self.timed_out(op, timeout)),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(self.gone()),
        }
    }

    /// Asks the service to stop after the work already queued.
    pub fn stop(&self) {
        let _ = self.tx.send(Msg::Stop);
    }
}
