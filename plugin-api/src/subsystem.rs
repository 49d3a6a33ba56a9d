//! Subsystems: plugins that react to host events and answer named queries.

use crate::describe::Description;
use crate::{Event, Host, PluginError};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A subsystem (reputation, governance, ...). Implement it, then register it with
/// [`register_subsystem!`](crate::register_subsystem).
///
/// The host runs each subsystem as an actor: calls arrive one at a time on the plugin's own
/// thread, so `&mut self` state needs no locks, and a slow subsystem never stalls the host.
///
/// ```
/// use hypernet_plugin_api::{Event, Host, PluginError, Subsystem};
/// use serde_json::{json, Value};
///
/// #[derive(serde::Deserialize)]
/// struct Config { #[serde(default)] greeting: Option<String> }
///
/// struct Hello { greeting: String, seen: u64 }
///
/// impl Subsystem for Hello {
///     type Config = Config;
///     fn start(config: Config, _host: Host) -> Result<Self, PluginError> {
///         Ok(Hello { greeting: config.greeting.unwrap_or_else(|| "hello".into()), seen: 0 })
///     }
///     fn on_event(&mut self, _event: &Event) -> Result<(), PluginError> {
///         self.seen += 1;
///         Ok(())
///     }
///     fn query(&mut self, name: &str, _args: Value) -> Result<Value, PluginError> {
///         match name {
///             "greet" => Ok(json!({ "greeting": self.greeting, "events_seen": self.seen })),
///             other => Err(PluginError::unknown_query(other)),
///         }
///     }
/// }
/// hypernet_plugin_api::register_subsystem!(Hello, "hello");
/// ```
pub trait Subsystem: Sized + Send + 'static {
    /// The plugin's `[config]` table, typed. Use `#[serde(deny_unknown_fields)]` so a typo
    /// is reported by name.
    type Config: DeserializeOwned;

    /// Builds the subsystem. Keep `host` to use storage, events and the rest later.
    fn start(config: Self::Config, host: Host) -> Result<Self, PluginError>;

    /// Checks a config beyond what deserializing it checks (ranges, consistency). Called by
    /// `hypernet plugins check` and before `start`.
    fn validate(_config: &Self::Config) -> Result<(), PluginError> {
        Ok(())
    }

    /// Reacts to one host event. Events published by this plugin itself are not delivered
    /// back to it.
    fn on_event(&mut self, _event: &Event) -> Result<(), PluginError> {
        Ok(())
    }

    /// Answers a named query with JSON in and out. Refuse a name you do not answer with
    /// [`PluginError::unknown_query`]; the refusal then names the queries [`describe`]
    /// declares.
    ///
    /// [`describe`]: Subsystem::describe
    fn query(&mut self, name: &str, args: Value) -> Result<Value, PluginError>;

    /// What it offers: its queries with their arguments and answers, and the events it
    /// publishes, for `hypernet plugins describe` and the API. Declares nothing by default.
    fn describe(&self) -> Description {
        Description::default()
    }

    /// Called once when the host disables the plugin or shuts down.
    fn stop(&mut self) {}
}
