//! Forwards the plugin's `tracing` records to the host log.
//!
//! A plugin library has its own copy of `tracing`'s global dispatcher, so without this its
//! `info!` calls would go nowhere. The layer sends each record to the host handle of the
//! service that is running on the current thread (set around every call), or to the most
//! recently started one for threads the plugin spawned itself.

use crate::Host;
use crate::host::LogLevel;
use std::cell::RefCell;
use std::fmt::Write as _;
use std::sync::{Mutex, Once};
use tracing::field::{Field, Visit};
use tracing::{Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

thread_local! {
    static CURRENT: RefCell<Option<Host>> = const { RefCell::new(None) };
}

static FALLBACK: Mutex<Option<Host>> = Mutex::new(None);
static INSTALL: Once = Once::new();

/// Installs the forwarding subscriber once per library and remembers `host` as fallback.
pub(crate) fn install(host: &Host) {
    *FALLBACK.lock().unwrap_or_else(|e| e.into_inner()) = Some(host.clone());
    INSTALL.call_once(|| {
        let subscriber = tracing_subscriber::registry().with(Forward);
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
}

/// Runs `f` with `host` as the log destination of this thread.
pub(crate) fn with_host<T>(host: &Host, f: impl FnOnce() -> T) -> T {
    let previous = CURRENT.with(|c| c.replace(Some(host.clone())));
    let out = f();
    CURRENT.with(|c| *c.borrow_mut() = previous);
    out
}

struct Forward;

impl<S: Subscriber> Layer<S> for Forward {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let level = match *meta.level() {
            Level::ERROR => LogLevel::Error,
            Level::WARN => LogLevel::Warn,
            Level::INFO => LogLevel::Info,
            Level::DEBUG => LogLevel::Debug,
            Level::TRACE => LogLevel::Trace,
        };
        let mut text = MessageText::default();
        event.record(&mut text);
        let send = |host: &Host| host.log(level, meta.target(), &text.0);
        let sent = CURRENT.with(|c| c.borrow().as_ref().map(send).is_some());
        if !sent && let Some(host) = FALLBACK.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            send(host);
        }
    }
}

/// `message` first, then `key=value` for the other fields.
#[derive(Default)]
struct MessageText(String);

impl Visit for MessageText {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let rest = std::mem::take(&mut self.0);
            let _ = write!(self.0, "{value:?}");
            if !rest.is_empty() {
                self.0.push(' ');
                self.0.push_str(&rest);
            }
        } else {
            if !self.0.is_empty() {
                self.0.push(' ');
            }
            let _ = write!(self.0, "{}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.record_debug(field, &format_args!("{value}"));
        } else {
            if !self.0.is_empty() {
                self.0.push(' ');
            }
            let _ = write!(self.0, "{}={value}", field.name());
        }
    }
}
