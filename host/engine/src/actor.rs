//! One thread per running service: calls into a plugin are serialized on it, so plugins keep
//! `&mut self` state without locks and a slow plugin delays only its own queue.

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

enum Msg {
    Event(Arc<str>),
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

/// Starts the thread that owns `service`.
pub fn spawn(
    label: String,
    mut service: ServiceBox,
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
            let Some(msg) = next.or_else(|| rx.recv().ok()) else {
                return;
            };
            after_call = matches!(
                msg,
                Msg::Call {
                    reply: Reply::Blocking(_),
                    ..
                }
            );
            match msg {
                Msg::Event(event) => {
                    if let Err(err) = service.on_event(RStr::from_str(&event)).into_result() {
                        let err = PluginError::from(err);
                        if fail(&err) {
                            return;
                        }
                        tracing::warn!(service = %thread_label, error = %err, "event handler failed");
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

    /// Queues an event; false when the service has stopped.
    pub fn send_event(&self, event: Arc<str>) -> bool {
        self.tx.send(Msg::Event(event)).is_ok()
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
