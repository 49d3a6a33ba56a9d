//! `hypernet plugins check`: validates a manifest and every plugin in it — library found,
//! ABI compatible, config accepted — without starting anything.

use super::loader;
use super::manifest::Manifest;
use hypernet_plugin_api::ServiceInfo;
use serde::Serialize;
use std::path::PathBuf;

/// The verdict on one plugin.
#[derive(Debug, Clone, Serialize)]
pub struct CheckItem {
    /// Manifest name.
    pub name: String,
    /// Whether the manifest enables it.
    pub enabled: bool,
    /// The library found.
    pub path: Option<PathBuf>,
    /// Plugin version.
    pub version: Option<String>,
    /// Its services.
    pub services: Vec<ServiceInfo>,
    /// What is wrong, if anything.
    pub problem: Option<String>,
}

impl CheckItem {
    /// A problem with an enabled plugin fails the check; a disabled one only warns.
    pub fn is_error(&self) -> bool {
        self.enabled && self.problem.is_some()
    }
}

/// Checks every plugin of the manifest, in load order.
pub fn check(manifest: &Manifest) -> Vec<CheckItem> {
    manifest
        .plugins
        .iter()
        .map(|spec| {
            let mut item = CheckItem {
                name: spec.name.clone(),
                enabled: spec.enabled,
                path: None,
                version: None,
                services: Vec::new(),
                problem: None,
            };
            let library = loader::locate(spec, manifest).and_then(|path| {
                item.path = Some(path.clone());
                loader::load(&spec.name, &path)
            });
            match library {
                Err(e) => item.problem = Some(e.to_string()),
                Ok(lib) => {
                    item.version = Some(lib.info.version.clone());
                    item.services = lib.info.services.clone();
                    let config = spec.config_json();
                    item.problem = lib.info.services.iter().find_map(|s| {
                        lib.check_config(&s.name, &config)
                            .err()
                            .map(|e| format!("plugin `{}`: {e}", spec.name))
                    });
                    if lib.info.services.is_empty() {
                        item.problem = Some(format!(
                            "plugin `{}`: the library registers no services",
                            spec.name
                        ));
                    }
                }
            }
            item
        })
        .collect()
}
