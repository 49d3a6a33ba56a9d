//! Finding and loading plugin libraries, with every `abi_stable` failure turned into a
//! sentence that names the plugin and what to do.

use super::manifest::{Manifest, PluginSpec};
use abi_stable::library::{LibraryError, RootModule, lib_header_from_path};
use abi_stable::std_types::RStr;
use hypernet_plugin_api::__private::PluginModRef;
use hypernet_plugin_api::{API_VERSION, PluginError, PluginInfo};
use std::path::{Path, PathBuf};

/// Why a plugin could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// No library file in any searched place.
    #[error(
        "plugin `{plugin}`: library {file} not found; looked in: {}. Set `path` in the manifest or add its folder to `plugin_dirs`",
        looked.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    NotFound {
        /// Plugin name.
        plugin: String,
        /// The file name searched for.
        file: String,
        /// Folders or files tried.
        looked: Vec<PathBuf>,
    },
    /// The file exists but is not a loadable shared library.
    #[error("plugin `{plugin}`: cannot open {}: {reason}", path.display())]
    Open {
        /// Plugin name.
        plugin: String,
        /// The file.
        path: PathBuf,
        /// The loader's message.
        reason: String,
    },
    /// A shared library without the Hypernet root module.
    #[error(
        "plugin `{plugin}`: {} is not a Hypernet plugin (it exports no plugin root module; was it built with `hypernet_plugin_api::export_plugin!()`?)",
        path.display()
    )]
    NotAPlugin {
        /// Plugin name.
        plugin: String,
        /// The file.
        path: PathBuf,
    },
    /// Built against an incompatible `hypernet-plugin-api`.
    #[error(
        "plugin `{plugin}` ({}) was built against hypernet-plugin-api {plugin_api}, but this host provides hypernet-plugin-api {host_api}; rebuild the plugin against {host_api}",
        path.display()
    )]
    IncompatibleApi {
        /// Plugin name.
        plugin: String,
        /// The file.
        path: PathBuf,
        /// Version the plugin was built against.
        plugin_api: String,
        /// Version the host provides.
        host_api: String,
    },
    /// Same version, different type layout (built with a modified API crate).
    #[error(
        "plugin `{plugin}` ({}) was built against a hypernet-plugin-api {host_api} whose types differ from this host's (a modified copy?); rebuild it against the host's plugin-api. The first difference: {details}",
        path.display()
    )]
    AbiMismatch {
        /// Plugin name.
        plugin: String,
        /// The file.
        path: PathBuf,
        /// Version the host provides.
        host_api: String,
        /// The layout checker's report, shortened.
        details: String,
    },
    /// The library's own initialisation failed or panicked.
    #[error("plugin `{plugin}` ({}): library initialisation failed: {reason}", path.display())]
    Init {
        /// Plugin name.
        plugin: String,
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// A loaded library (never unloaded: libraries are leaked on purpose).
#[derive(Clone)]
pub struct Library {
    /// Where it was loaded from.
    pub path: PathBuf,
    /// Its root module.
    pub module: PluginModRef,
    /// What it says about itself.
    pub info: PluginInfo,
}

impl std::fmt::Debug for Library {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Library")
            .field("path", &self.path)
            .field("info", &self.info)
            .finish()
    }
}

impl Library {
    /// Asks the library to validate `config` (JSON) for one of its services.
    pub fn check_config(&self, service: &str, config: &str) -> Result<(), PluginError> {
        (self.module.check_config())(RStr::from_str(service), RStr::from_str(config))
            .into_result()
            .map_err(PluginError::from)
    }
}

/// Places searched for a plugin's library, in order.
pub fn candidates(spec: &PluginSpec, manifest: &Manifest) -> Vec<PathBuf> {
    if let Some(path) = &spec.path {
        let path = if path.is_absolute() {
            path.clone()
        } else {
            manifest.base_dir.join(path)
        };
        return vec![path];
    }
    let file = spec.library_file_name();
    let mut dirs: Vec<PathBuf> = manifest.plugin_dirs.clone();
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        dirs.push(exe_dir);
    }
    dirs.into_iter().map(|d| d.join(&file)).collect()
}

/// Finds the library file of `spec`.
pub fn locate(spec: &PluginSpec, manifest: &Manifest) -> Result<PathBuf, LoadError> {
    let tried = candidates(spec, manifest);
    tried
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| LoadError::NotFound {
            plugin: spec.name.clone(),
            file: spec
                .path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| spec.library_file_name()),
            looked: tried,
        })
}

/// Loads the library at `path` for plugin `plugin`, checking its ABI.
pub fn load(plugin: &str, path: &Path) -> Result<Library, LoadError> {
    let header = lib_header_from_path(path).map_err(|e| map_error(plugin, path, e))?;
    let module = header.init_root_module::<PluginModRef>().map_err(|e| {
        // Built against another version: that is what to say, whatever check failed first
        // (a 0.x release may change the types' layout as well as the number).
        let plugin_api = header.version_strings().version.as_str().to_owned();
        let host_api = host_api_version();
        if plugin_api != host_api && !matches!(e, LibraryError::OpenError { .. }) {
            return LoadError::IncompatibleApi {
                plugin: plugin.to_owned(),
                path: path.to_owned(),
                plugin_api,
                host_api,
            };
        }
        map_error(plugin, path, e)
    })?;
    let info: PluginInfo =
        serde_json::from_str(&(module.describe())()).map_err(|e| LoadError::Init {
            plugin: plugin.to_owned(),
            path: path.to_owned(),
            reason: format!("its description does not parse: {e}"),
        })?;
    Ok(Library {
        path: path.to_owned(),
        module,
        info,
    })
}

fn map_error(plugin: &str, path: &Path, err: LibraryError) -> LoadError {
    let plugin = plugin.to_owned();
    let path = path.to_owned();
    match err {
        LibraryError::OpenError { err, .. } => LoadError::Open {
            plugin,
            path,
            reason: err.to_string(),
        },
        LibraryError::GetSymbolError { .. } => LoadError::NotAPlugin { plugin, path },
        LibraryError::IncompatibleVersionNumber { actual_version, .. } => {
            LoadError::IncompatibleApi {
                plugin,
                path,
                plugin_api: actual_version.to_string(),
                host_api: host_api_version(),
            }
        }
        LibraryError::AbiInstability(details) => LoadError::AbiMismatch {
            plugin,
            path,
            host_api: host_api_version(),
            details: first_difference(&details.to_string()),
        },
        other => LoadError::Init {
            plugin,
            path,
            reason: other.to_string().trim().replace('\n', " "),
        },
    }
}

/// The layout checker's report (hundreds of lines of type dumps) reduced to its first
/// difference: `incompatible type size (expected 16, found 24)`. The whole report is logged
/// at debug level.
fn first_difference(report: &str) -> String {
    tracing::debug!(report, "the plugin's types differ from the host's");
    let lines: Vec<&str> = report.lines().map(str::trim).collect();
    let after = |from: usize, label: &str| {
        let at = from + lines[from..].iter().position(|l| *l == label)?;
        lines[at + 1..].iter().find(|l| !l.is_empty()).copied()
    };
    let found = lines.iter().enumerate().find_map(|(i, l)| {
        let what = l.strip_prefix("Error:")?.trim();
        Some(match (after(i, "Expected:"), after(i, "Found:")) {
            (Some(expected), Some(found)) => format!("{what} (expected {expected}, found {found})"),
            _ => what.to_owned(),
        })
    });
    let text = found.unwrap_or_else(|| {
        lines
            .iter()
            .find(|l| !l.is_empty())
            .map_or("no details".to_owned(), |l| (*l).to_owned())
    });
    text.chars().take(300).collect()
}

fn host_api_version() -> String {
    let declared = PluginModRef::VERSION_STRINGS.version;
    debug_assert_eq!(declared, API_VERSION);
    declared.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layout_report_comes_down_to_its_first_difference() {
        // The shape of abi_stable's report: both types dumped, then each error.
        let report = "Compared <this>:\n    --- Type Layout ---\n    type:PluginMod\n    size:24\n\
            To <other>:\n    --- Type Layout ---\n    type:PluginMod\n\
            1 error(s)inside:\n    <other>\n\n    field:error\n\n\
            Layout of expected type:\n    size:16\n\nLayout of found type:\n    size:24\n\n\
            \nError:incompatible type size\nExpected:\n    16\nFound:\n    24\n\
            \nError:too many fields\nExpected:\n    2\nFound:\n    3\n";
        assert_eq!(
            first_difference(report),
            "incompatible type size (expected 16, found 24)"
        );
        assert_eq!(first_difference("\n  something else\n"), "something else");
        assert_eq!(first_difference(""), "no details");
    }
}
