//! The binary interface between the host and a plugin library.
//!
//! Everything here is `#[repr(C)]` and checked by `abi_stable` when a library is loaded. It is
//! deliberately tiny and generic — describe, check config, start, deliver an event, answer a
//! named call — so that the interface grows in JSON payloads rather than in vtable entries (a
//! newer host refuses an older plugin whose vtables have fewer entries). Plugin authors never
//! touch this module: the safe API and [`export_plugin!`](crate::export_plugin) do.

// `sabi_trait` expands to impl blocks inside a generated const.
#![allow(non_local_definitions)]

use abi_stable::{
    StableAbi, declare_root_module_statics,
    library::RootModule,
    package_version_strings, sabi_trait,
    sabi_types::VersionStrings,
    std_types::{RArc, RBox, RResult, RStr, RString},
};

/// An error crossing the boundary: a numeric [`ErrorCode`](crate::ErrorCode) and a message.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct FfiError {
    /// One of the `ErrorCode` values, as a number so new codes never change the layout.
    pub code: u32,
    /// Human-readable text.
    pub message: RString,
}

/// A running service inside a plugin, as the host sees it. Calls are serialized by the host
/// (one actor per service), hence `&mut self`.
#[sabi_trait]
pub trait ServiceFfi: Send {
    /// Deliver one host event, JSON-encoded.
    fn on_event(&mut self, event: RStr<'_>) -> RResult<(), FfiError>;
    /// Answer a named call with a JSON payload; returns JSON.
    fn call(&mut self, op: RStr<'_>, payload: RStr<'_>) -> RResult<RString, FfiError>;
    /// Stop: the service will receive no further calls.
    #[sabi(last_prefix_field)]
    fn stop(&mut self);
}

/// The host's side: every capability is one named operation with a JSON payload, so new
/// capabilities never change this vtable.
#[sabi_trait]
pub trait HostFfi: Send + Sync + Clone {
    /// Perform a host operation (`kv.get`, `event.publish`, ...); returns JSON.
    fn call(&self, op: RStr<'_>, payload: RStr<'_>) -> RResult<RString, FfiError>;
    /// Forward one log record (level 1 = error ... 5 = trace).
    #[sabi(last_prefix_field)]
    fn log(&self, level: u8, target: RStr<'_>, message: RStr<'_>);
}

/// A started service, owned by the host.
pub type ServiceBox = ServiceFfi_TO<'static, RBox<()>>;
/// The host handle, shared by every clone of [`Host`](crate::Host).
pub type HostArc = HostFfi_TO<'static, RArc<()>>;

/// The root module every plugin library exports.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModRef)))]
#[sabi(missing_field(panic))]
pub struct PluginMod {
    /// JSON [`PluginInfo`](crate::PluginInfo): name, version and services of the library.
    pub describe: extern "C" fn() -> RString,
    /// Validate the plugin's `[config]` table (JSON) for one service without starting it.
    pub check_config: extern "C" fn(service: RStr<'_>, config: RStr<'_>) -> RResult<(), FfiError>,
    /// Start one service with its config and host handle.
    #[sabi(last_prefix_field)]
    pub start: extern "C" fn(
        service: RStr<'_>,
        config: RStr<'_>,
        host: HostArc,
    ) -> RResult<ServiceBox, FfiError>,
}

impl RootModule for PluginModRef {
    declare_root_module_statics! {PluginModRef}
    const BASE_NAME: &'static str = "hypernet_plugin";
    const NAME: &'static str = "hypernet_plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

/// The symbol name under which a library exports its root module.
///
/// `abi_stable`'s attribute macro hard-codes `::abi_stable` paths, which would force every
/// plugin crate to depend on `abi_stable` itself; [`export_plugin!`](crate::export_plugin)
/// writes the static by hand under this name instead (a unit test keeps it in sync).
pub const ROOT_MODULE_SYMBOL: &str = "_1as_0lib_1header_0root_bmodule_bloader";
