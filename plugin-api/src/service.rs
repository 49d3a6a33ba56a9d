//! Service registration: each plugin crate declares its services next to their code with
//! [`register_subsystem!`](crate::register_subsystem) /
//! [`register_provider!`](crate::register_provider); `inventory` collects them inside the
//! plugin library and the root module lists them.

use crate::channel::Channel;
use crate::protocol::channel as channel_ops;
use crate::protocol::provider::{Op, Operation};
use crate::provider::Provider;
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
    /// A channel to people: [`Channel`](crate::channel::Channel).
    Channel,
}

impl ServiceKind {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceKind::Subsystem => "subsystem",
            ServiceKind::Provider => "provider",
            ServiceKind::Channel => "channel",
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

    #[doc(hidden)]
    pub const fn channel<T: Channel>(name: &'static str) -> Self {
        ServiceDecl {
            name,
            kind: ServiceKind::Channel,
            check: check_channel::<T>,
            start: start_channel::<T>,
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

fn check_channel<T: Channel>(config: &str) -> Result<(), PluginError> {
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

fn start_channel<T: Channel>(config: &str, host: Host) -> Result<Box<dyn DynService>, PluginError> {
    let config = parse_config::<T::Config>(config, T::validate)?;
    Ok(Box::new(ChannelService(T::start(config, host)?)))
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
        if op == crate::describe::QUERY {
            return json(&self.0.describe());
        }
        match self.0.query(op, args) {
            Ok(answer) => Ok(answer.to_string()),
            Err(e) => Err(crate::describe::name_known_queries(e, &self.0.describe())),
        }
    }

    fn stop(&mut self) {
        self.0.stop()
    }
}

struct ProviderService<T>(T);

/// Writes the answer of a provider operation.
fn answer<O: Operation>(answer: &O::Answer) -> Result<String, PluginError> {
    json(answer)
}

fn json<T: Serialize>(value: &T) -> Result<String, PluginError> {
    serde_json::to_string(value).map_err(|e| PluginError::failed(e.to_string()))
}

impl<T: Provider> DynService for ProviderService<T> {
    fn on_event(&mut self, _event: &str) -> Result<(), PluginError> {
        Ok(())
    }

    fn call(&mut self, op: &str, payload: &str) -> Result<String, PluginError> {
        use crate::protocol::provider as ops;
        let provider = &mut self.0;
        match op.parse::<Op>()? {
            Op::Describe => answer::<ops::Describe>(&provider.describe()),
            Op::Prepare => {
                let request = ops::Prepare::decode(payload)?;
                answer::<ops::Prepare>(&provider.prepare(&request))
            }
            Op::ParseResponse => {
                let args = ops::ParseResponse::decode(payload)?;
                answer::<ops::ParseResponse>(
                    &provider.parse_response(&args.request, &args.response),
                )
            }
            Op::ParseStreamEvent => {
                let event = ops::ParseStreamEvent::decode(payload)?;
                answer::<ops::ParseStreamEvent>(&provider.parse_stream_event(&event))
            }
            Op::ParseStreamEvents => {
                let events = ops::ParseStreamEvents::decode(payload)?;
                answer::<ops::ParseStreamEvents>(&provider.parse_stream_events(&events))
            }
            Op::ParseStreamText => {
                let text = ops::ParseStreamText::decode(payload)?;
                let events = crate::provider::sse::events(&text);
                answer::<ops::ParseStreamText>(&provider.parse_stream_events(&events))
            }
            Op::ClassifyError => {
                let response = ops::ClassifyError::decode(payload)?;
                answer::<ops::ClassifyError>(&provider.classify_error(&response))
            }
            Op::ListModels => answer::<ops::ListModels>(&provider.list_models()),
            Op::ParseModels => {
                let response = ops::ParseModels::decode(payload)?;
                answer::<ops::ParseModels>(&provider.parse_models(&response))
            }
            Op::BatchSupport => answer::<ops::BatchSupport>(&provider.batch_support()),
            Op::SubmitBatch => {
                let requests = ops::SubmitBatch::decode(payload)?;
                answer::<ops::SubmitBatch>(&provider.submit_batch(&requests))
            }
            Op::BatchSubmitted => {
                let args = ops::BatchSubmitted::decode(payload)?;
                answer::<ops::BatchSubmitted>(
                    &provider.batch_submitted(&args.state, &args.response),
                )
            }
            Op::PollBatch => {
                let id = ops::PollBatch::decode(payload)?;
                answer::<ops::PollBatch>(&provider.poll_batch(&id))
            }
            Op::ParseBatchStatus => {
                let response = ops::ParseBatchStatus::decode(payload)?;
                answer::<ops::ParseBatchStatus>(&provider.parse_batch_status(&response))
            }
            Op::ParseBatchResults => {
                let response = ops::ParseBatchResults::decode(payload)?;
                answer::<ops::ParseBatchResults>(&provider.parse_batch_results(&response))
            }
        }
    }

    fn stop(&mut self) {}
}

struct ChannelService<T>(T);

/// Reads the arguments of a channel operation.
fn channel_args<O: channel_ops::Operation>(payload: &str) -> Result<O::Args<'static>, PluginError> {
    let payload = if payload.trim().is_empty() {
        "null"
    } else {
        payload
    };
    serde_json::from_str(payload)
        .map_err(|e| PluginError::invalid(format!("arguments of `{}`: {e}", O::OP)))
}

impl<T: Channel> DynService for ChannelService<T> {
    fn on_event(&mut self, _event: &str) -> Result<(), PluginError> {
        Ok(())
    }

    fn call(&mut self, op: &str, payload: &str) -> Result<String, PluginError> {
        use channel_ops::Op as C;
        let channel = &mut self.0;
        match op.parse::<C>()? {
            C::Describe => json(&channel.describe()),
            C::Deliver => {
                let message = channel_args::<channel_ops::Deliver>(payload)?;
                json(&channel.deliver(&message))
            }
            C::ParseDelivery => {
                let a = channel_args::<channel_ops::ParseDelivery>(payload)?;
                json(&channel.parse_delivery(&a.message, a.part, &a.response))
            }
            C::HandleInbound => {
                let request = channel_args::<channel_ops::HandleInbound>(payload)?;
                json(&channel.inbound(&request))
            }
            C::Poll => {
                let a = channel_args::<channel_ops::Poll>(payload)?;
                json(&channel.poll(a.cursor.as_deref()))
            }
            C::ParsePoll => {
                let response = channel_args::<channel_ops::ParsePoll>(payload)?;
                json(&channel.parse_poll(&response))
            }
            C::Setup => json(&channel.setup()),
        }
    }

    fn stop(&mut self) {}
}
