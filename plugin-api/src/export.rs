//! The library side of the ABI: the root module's functions and the [`ServiceFfi`]
//! implementation, with every entry point behind `catch_unwind` (a panic that reached an
//! `extern "C"` boundary would end the host process).

use crate::abi::{
    FfiError, HostArc, PluginMod, PluginModRef, ServiceBox, ServiceFfi, ServiceFfi_TO,
};
use crate::service::{self, DynService, PluginInfo, ServiceInfo};
use crate::{ErrorCode, Host, PluginError, logging};
use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RResult, RStr, RString};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Builds the root module; called by [`export_plugin!`](crate::export_plugin).
pub fn root_module(describe: extern "C" fn() -> RString) -> PluginModRef {
    PluginMod {
        describe,
        check_config,
        start,
    }
    .leak_into_prefix()
}

/// The JSON returned by the root module's `describe`.
pub fn describe(crate_name: &str, version: &str) -> RString {
    let info = PluginInfo {
        crate_name: crate_name.to_owned(),
        version: version.to_owned(),
        api_version: crate::API_VERSION.to_owned(),
        services: {
            // `inventory` gives no order (it follows link order), so sort by name.
            let mut services: Vec<ServiceInfo> = service::declared()
                .map(|d| ServiceInfo {
                    name: d.name.to_owned(),
                    kind: d.kind,
                })
                .collect();
            services.sort_by(|a, b| a.name.cmp(&b.name));
            services
        },
    };
    serde_json::to_string(&info).unwrap_or_default().into()
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic payload".to_owned())
}

/// Runs `f`, turning a panic into a `Panicked` error.
pub(crate) fn guarded<T>(
    what: &str,
    f: impl FnOnce() -> Result<T, PluginError>,
) -> Result<T, PluginError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        Err(PluginError::new(
            ErrorCode::Panicked,
            format!("panicked in {what}: {}", panic_message(&*payload)),
        ))
    })
}

fn find(service: &str) -> Result<&'static service::ServiceDecl, PluginError> {
    service::declared()
        .find(|d| d.name == service)
        .ok_or_else(|| PluginError::not_found(format!("this library has no service `{service}`")))
}

extern "C" fn check_config(service: RStr<'_>, config: RStr<'_>) -> RResult<(), FfiError> {
    guarded("check_config", || {
        (find(service.as_str())?.check)(config.as_str())
    })
    .map_err(FfiError::from)
    .into()
}

extern "C" fn start(
    service: RStr<'_>,
    config: RStr<'_>,
    host: HostArc,
) -> RResult<ServiceBox, FfiError> {
    let host = Host::from_ffi(host);
    logging::install(&host);
    let result = logging::with_host(&host, || {
        guarded("start", || {
            let decl = find(service.as_str())?;
            (decl.start)(config.as_str(), host.clone())
        })
    });
    result
        .map(|inner| {
            ServiceFfi_TO::from_value(
                Guarded {
                    inner,
                    host,
                    poisoned: None,
                },
                TD_Opaque,
            )
        })
        .map_err(FfiError::from)
        .into()
}

/// A started service: refuses every call after it has panicked once.
struct Guarded {
    inner: Box<dyn DynService>,
    host: Host,
    poisoned: Option<String>,
}

impl Guarded {
    fn run<T>(
        &mut self,
        what: &str,
        f: impl FnOnce(&mut dyn DynService) -> Result<T, PluginError>,
    ) -> Result<T, PluginError> {
        if let Some(reason) = &self.poisoned {
            return Err(PluginError::new(
                ErrorCode::Unavailable,
                format!("service failed earlier ({reason})"),
            ));
        }
        let inner = &mut *self.inner;
        let result = logging::with_host(&self.host, || guarded(what, || f(inner)));
        if let Err(e) = &result
            && e.code() == ErrorCode::Panicked
        {
            self.poisoned = Some(e.message().to_owned());
        }
        result
    }
}

impl ServiceFfi for Guarded {
    fn on_event(&mut self, event: RStr<'_>) -> RResult<(), FfiError> {
        self.run("on_event", |s| s.on_event(event.as_str()))
            .map_err(FfiError::from)
            .into()
    }

    fn call(&mut self, op: RStr<'_>, payload: RStr<'_>) -> RResult<RString, FfiError> {
        self.run(op.as_str(), |s| s.call(op.as_str(), payload.as_str()))
            .map(RString::from)
            .map_err(FfiError::from)
            .into()
    }

    fn stop(&mut self) {
        let _ = self.run("stop", |s| {
            s.stop();
            Ok(())
        });
    }
}
