//! Events published on the host bus and delivered to every subsystem.

use serde::{Deserialize, Serialize};

/// One event on the host bus.
///
/// `kind` is a dotted name (`task.created`, `plugin.enabled`, `host.started`, or a plugin's own
/// `example.counted`); `source` is `host` or the publishing plugin's name; `payload` is free-form
/// JSON whose shape is documented with each kind.
///
/// ```
/// use hypernet_plugin_api::Event;
/// let e = Event::new("task.created", "host", serde_json::json!({"id": "T-1"}));
/// assert_eq!(e.kind, "task.created");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Sequence number assigned by the host bus (0 until published).
    #[serde(default)]
    pub id: u64,
    /// Dotted kind name.
    pub kind: String,
    /// `host`, or the name of the plugin that published it.
    pub source: String,
    /// Milliseconds since the Unix epoch when it was published.
    #[serde(default)]
    pub at_ms: u64,
    /// Kind-specific data.
    #[serde(default)]
    pub payload: serde_json::Value,
}

impl Event {
    /// An event not yet published (id and time are set by the host).
    pub fn new(
        kind: impl Into<String>,
        source: impl Into<String>,
        payload: serde_json::Value,
    ) -> Self {
        Event {
            id: 0,
            kind: kind.into(),
            source: source.into(),
            at_ms: 0,
            payload,
        }
    }
}
