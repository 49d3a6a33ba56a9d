//! # hypernet-plugin-api
//!
//! The one crate a Hypernet Swarm plugin depends on. A plugin is a `cdylib` that the host
//! loads at run time from `plugins.toml`. Its author implements ordinary traits —
//! [`Subsystem`] (reacts to events, answers named JSON queries) or
//! [`provider::Provider`] (an LLM provider, sans-IO) or [`channel::Channel`] (a channel to
//! people: Discord, Telegram, email, ...) — registers each with one macro line
//! next to its code, and exports the library with [`export_plugin!`]. No `unsafe`, no
//! `extern "C"`, no `abi_stable` types in author code.
//!
//! ```
//! use hypernet_plugin_api::{Host, PluginError, Subsystem};
//! use serde_json::{json, Value};
//!
//! struct Ping { host: Host }
//!
//! impl Subsystem for Ping {
//!     type Config = serde_json::Map<String, Value>;
//!     fn start(_config: Self::Config, host: Host) -> Result<Self, PluginError> {
//!         Ok(Ping { host })
//!     }
//!     fn query(&mut self, name: &str, _args: Value) -> Result<Value, PluginError> {
//!         match name {
//!             "ping" => Ok(json!({ "pong": self.host.now_ms()? })),
//!             other => Err(PluginError::unknown_query(other)),
//!         }
//!     }
//! }
//!
//! hypernet_plugin_api::register_subsystem!(Ping, "ping");
//! hypernet_plugin_api::export_plugin!();
//! ```
//!
//! A subsystem may also offer tools to the workers' models through two named queries
//! (see [`tool`]).
//!
//! The host gives each service a [`Host`] handle: durable key-value storage in the plugin's
//! namespace, publishing events, filing tasks, querying plugins named in `requires`, the
//! clock, and logging — each only if the manifest entry grants the [`Capability`].
//! `tracing` macros inside a plugin are forwarded to the host's log under the plugin's name.
//! Host commands (`budget.set`, ...) and provider operations are typed in [`protocol`], which
//! the host uses too.
//!
//! Compatibility: the ABI is checked when the library is loaded. A plugin built against a
//! different major version of this crate (or, before 1.0, a different minor version) is
//! refused with a message that names both versions. New host capabilities and payload
//! fields arrive without breaking built plugins.

#![warn(missing_docs)]

#[doc(hidden)]
pub mod abi;
pub mod address;
pub mod channel;
pub mod describe;
mod error;
mod event;
#[doc(hidden)]
pub mod export;
mod fields;
mod host;
mod logging;
pub mod protocol;
pub mod provider;
mod service;
mod subsystem;
pub mod testing;
pub mod tool;

pub use address::{Address, AddressError};
pub use error::{ErrorCode, PluginError};
pub use event::Event;
pub use fields::check_fields;
pub use host::{Capability, Host, LogLevel, NewTask, Priority};
pub use service::{PluginInfo, ServiceInfo, ServiceKind};
pub use subsystem::Subsystem;

/// The version of this crate, which is the plugin ABI version.
pub const API_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Items the macros expand to. Not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::abi::{PluginModRef, ROOT_MODULE_SYMBOL};
    pub use crate::export::{describe, root_module};
    pub use crate::service::{DynService, ServiceDecl};
    pub use abi_stable;
    pub use inventory;
}

/// Registers a [`Subsystem`] implementation under a service name.
///
/// Write it next to the type; a plugin crate may register several services.
///
/// ```ignore
/// hypernet_plugin_api::register_subsystem!(Counter, "counter");
/// ```
#[macro_export]
macro_rules! register_subsystem {
    ($ty:ty, $name:expr) => {
        $crate::__private::inventory::submit! {
            $crate::__private::ServiceDecl::subsystem::<$ty>($name)
        }
    };
}

/// Registers a [`provider::Provider`] implementation under a service name.
///
/// ```ignore
/// hypernet_plugin_api::register_provider!(SimProvider, "sim");
/// ```
#[macro_export]
macro_rules! register_provider {
    ($ty:ty, $name:expr) => {
        $crate::__private::inventory::submit! {
            $crate::__private::ServiceDecl::provider::<$ty>($name)
        }
    };
}

/// Registers a [`channel::Channel`] implementation under a service name.
///
/// ```ignore
/// hypernet_plugin_api::register_channel!(Telegram, "telegram");
/// ```
#[macro_export]
macro_rules! register_channel {
    ($ty:ty, $name:expr) => {
        $crate::__private::inventory::submit! {
            $crate::__private::ServiceDecl::channel::<$ty>($name)
        }
    };
}

/// Exports the crate as a Hypernet plugin library. Write it once, in `lib.rs`, in a crate
/// with `crate-type = ["cdylib"]`.
///
/// ```ignore
/// hypernet_plugin_api::export_plugin!();
/// ```
#[macro_export]
macro_rules! export_plugin {
    () => {
        const _: () = {
            use $crate::__private::abi_stable::library as __lib;

            extern "C" fn __hypernet_describe() -> $crate::__private::abi_stable::std_types::RString
            {
                $crate::__private::describe(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
            }

            fn __hypernet_root() -> $crate::__private::PluginModRef {
                $crate::__private::root_module(__hypernet_describe)
            }

            extern "C" fn __hypernet_loader() -> __lib::RootModuleResult {
                __lib::__call_root_module_loader(__hypernet_root)
            }

            // The symbol the host looks up; its name is `abi_stable`'s mangled root-module
            // name (kept in sync with `ROOT_MODULE_SYMBOL` by a test).
            #[unsafe(export_name = "_1as_0lib_1header_0root_bmodule_bloader")]
            static __HYPERNET_LIB_HEADER: __lib::LibHeader = unsafe {
                __lib::LibHeader::from_constructor::<$crate::__private::PluginModRef>(
                    __hypernet_loader,
                    __lib::CheckTypeLayout::Yes,
                )
            };
        };
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn root_module_symbol_matches_abi_stable() {
        assert_eq!(
            crate::abi::ROOT_MODULE_SYMBOL,
            abi_stable::library::ROOT_MODULE_LOADER_NAME
        );
    }
}
