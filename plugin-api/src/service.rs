//! Service registration: each plugin crate declares its services next to their code with
//! [`register_subsystem!`](crate::register_subsystem) /
//! [`register_provider!`](crate::register_provider); `inventory` collects them inside the
//! plugin library and the root module lists them.

use crate::provider::{CompletionRequest, HttpResponse, Provider, SseEvent};
use crate::{Event, Host, PluginError, Subsystem};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::Value;

/// The kinds of service a plugin can provide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ServiceKind {
    /// Receives events, answers queries: [`Subsystem`].
    Subsystem,
    /// An LLM provider: [`Provider`].
    Provider,
}

impl ServiceKind {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceKind::Subsystem => "subsystem",
            ServiceKind::Provider => "provider",
        }
    }
}

/// One service as a library describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceInfo {
    /// Service name, unique within the plugin.
    pub name: String,
    /// What it is.
    pub kind: ServiceKind,
}

/// What a plugin library says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginInfo {
    /// The crate name of the plugin (`hypernet-plugin-example`).
    pub crate_name: String,
    /// The plugin crate's version.
    pub version: String,
    /// The `hypernet-plugin-api` version it was built against.
    pub api_version: String,
    /// Its services.
    pub services: Vec<ServiceInfo>,
}

/// A started service behind the ABI, type-erased.
#[doc(hidden)]
pub trait DynService: Send {
    fn on_event(&mut self, event: &str) -> Result<(), PluginError>;
    fn call(&mut self, op: &str, payload: &str) -> Result<String, PluginError>;
    fn stop(&mut self);
}

/// Starts a service from its config JSON and host handle.
#[doc(hidden)]
pub type StartFn = fn(&str, Host) -> Result<Box<dyn DynService>, PluginError>;

/// A registration collected by `inventory`.
#[doc(hidden)]
pub struct ServiceDecl {
    pub name: &'static str,
    pub kind: ServiceKind,
    pub check: fn(&str) -> Result<(), PluginError>,
    pub start: StartFn,
}

inventory::collect!(ServiceDecl);

impl ServiceDecl {
    #[doc(hidden)]
    pub const fn subsystem<T: Subsystem>(name: &'static str) -> Self {
        ServiceDecl {
            name,
            kind: ServiceKind::Subsystem,
            check: check_subsystem::<T>,
            start: start_subsystem::<T>,
        }
    }

    #[doc(hidden)]
    pub const fn provider<T: Provider>(name: &'static str) -> Self {
        ServiceDecl {
            name,
            kind: ServiceKind::Provider,
            check: check_provider::<T>,
            start: start_provider::<T>,
        }
    }
}

/// Every service registered in this library.
pub(crate) fn declared() -> impl Iterator<Item = &'static ServiceDecl> {
    inventory::iter::<ServiceDecl>.into_iter()
}

/// Reads a `[config]` table (JSON) into the service's typed config, then runs its
/// `validate`; every message starts with "config rejected".
fn parse_config<C: DeserializeOwned>(
    config: &str,
    validate: fn(&C) -> Result<(), PluginError>,
) -> Result<C, PluginError> {
    let source = if config.trim().is_empty() {
        "{}"
    } else {
        config
    };
    let parsed: C = serde_json::from_str(source)
        .map_err(|e| PluginError::invalid(format!("config rejected: {e}")))?;
    validate(&parsed).map_err(|e| PluginError::new(e.code(), format!("config rejected: {e}")))?;
    Ok(parsed)
}

fn check_subsystem<T: Subsystem>(config: &str) -> Result<(), PluginError> {
    parse_config::<T::Config>(config, T::validate).map(drop)
}

fn check_provider<T: Provider>(config: &str) -> Result<(), PluginError> {
    parse_config::<T::Config>(config, T::validate).map(drop)
}

fn start_subsystem<T: Subsystem>(
    config: &str,
    host: Host,
) -> Result<Box<dyn DynService>, PluginError> {
    let config = parse_config::<T::Config>(config, T::validate)?;
    Ok(Box::new(SubsystemService(T::start(config, host)?)))
}

fn start_provider<T: Provider>(
    config: &str,
    host: Host,
) -> Result<Box<dyn DynService>, PluginError> {
    let config = parse_config::<T::Config>(config, T::validate)?;
    Ok(Box::new(ProviderService(T::start(config, host)?)))
}

struct SubsystemService<T>(T);

impl<T: Subsystem> DynService for SubsystemService<T> {
    fn on_event(&mut self, event: &str) -> Result<(), PluginError> {
        let event: Event = serde_json::from_str(event)?;
        self.0.on_event(&event)
    }

    fn call(&mut self, op: &str, payload: &str) -> Result<String, PluginError> {
        let args = if payload.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(payload)?
        };
        Ok(self.0.query(op, args)?.to_string())
    }

    fn stop(&mut self) {
        self.0.stop()
    }
}

struct ProviderService<T>(T);

/// Arguments of the `parse_response` provider operation.
#[doc(hidden)]
#[derive(Serialize, Deserialize)]
pub struct ParseResponseArgs {
    pub request: CompletionRequest,
    pub response: HttpResponse,
}

/// The provider operations, as named on the wire.
#[doc(hidden)]
pub mod provider_ops {
    pub const DESCRIBE: &str = "describe";
    pub const PREPARE: &str = "prepare";
    pub const PARSE_RESPONSE: &str = "parse_response";
    pub const PARSE_STREAM_EVENT: &str = "parse_stream_event";
    pub const CLASSIFY_ERROR: &str = "classify_error";
    pub const LIST_MODELS: &str = "list_models";
    pub const PARSE_MODELS: &str = "parse_models";
}

fn arg<T: DeserializeOwned>(op: &str, payload: &str) -> Result<T, PluginError> {
    serde_json::from_str(payload)
        .map_err(|e| PluginError::invalid(format!("arguments of `{op}`: {e}")))
}

fn json<T: Serialize>(value: &T) -> Result<String, PluginError> {
    serde_json::to_string(value).map_err(|e| PluginError::failed(e.to_string()))
}

impl<T: Provider> DynService for ProviderService<T> {
    fn on_event(&mut self, _event: &str) -> Result<(), PluginError> {
        Ok(())
    }

    fn call(&mut self, op: &str, payload: &str) -> Result<String, PluginError> {
        use provider_ops::*;
        match op {
            DESCRIBE => json(&self.0.describe()),
            PREPARE => json(&self.0.prepare(&arg::<CompletionRequest>(op, payload)?)),
            PARSE_RESPONSE => {
                let args: ParseResponseArgs = arg(op, payload)?;
                json(&self.0.parse_response(&args.request, &args.response))
            }
            PARSE_STREAM_EVENT => json(&self.0.parse_stream_event(&arg::<SseEvent>(op, payload)?)),
            CLASSIFY_ERROR => json(&self.0.classify_error(&arg::<HttpResponse>(op, payload)?)),
            LIST_MODELS => json(&self.0.list_models()),
            PARSE_MODELS => json(&self.0.parse_models(&arg::<HttpResponse>(op, payload)?)),
            other => Err(PluginError::not_found(format!(
                "unknown provider operation `{other}`"
            ))),
        }
    }

    fn stop(&mut self) {}
}
