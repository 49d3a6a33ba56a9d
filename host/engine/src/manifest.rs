//! `plugins.toml`: which plugins load, from where, with which capabilities and config.
//!
//! ```toml
//! plugin_dirs = ["/opt/hypernet/plugins"]   # searched after `path`, before the binary's dir
//!
//! [[plugin]]
//! name = "example"                  # the library is libhypernet_plugin_example.so
//! enabled = true                    # default true
//! path = "lib/libacme.so"           # optional; relative to this file
//! capabilities = ["kv", "events"]   # what its host handle may do
//! requires = ["provider-sim"]       # loaded first; may be queried
//! [plugin.config]                   # handed to the plugin as JSON
//! milestone_every = 10
//! ```

use hypernet_plugin_api::Capability;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The manifest the binary falls back to when no `plugins.toml` is given or found.
pub const EMBEDDED: &str = include_str!("../../../plugins.toml");

/// A manifest problem, with the file it is in.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// TOML syntax or shape; the message carries line and column.
    #[error("{origin}: {message}")]
    Parse {
        /// File name or `embedded plugins.toml`.
        origin: String,
        /// The parser's message.
        message: String,
    },
    /// A semantic problem (duplicate, missing or cyclic requires, bad name).
    #[error("{origin}: {message}")]
    Invalid {
        /// File name or `embedded plugins.toml`.
        origin: String,
        /// What is wrong.
        message: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    #[serde(default)]
    plugin_dirs: Vec<PathBuf>,
    #[serde(default, rename = "plugin")]
    plugins: Vec<PluginSpec>,
}

/// One `[[plugin]]` entry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginSpec {
    /// Unique name; also names the library (`libhypernet_plugin_<name>.so`, `-` as `_`).
    pub name: String,
    /// Whether the host loads it at start-up.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Explicit library path (relative to the manifest's folder).
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// Granted capabilities.
    #[serde(default)]
    pub capabilities: BTreeSet<Capability>,
    /// Plugins loaded before this one, which it may query.
    #[serde(default)]
    pub requires: Vec<String>,
    /// Free-form configuration handed to the plugin.
    #[serde(default)]
    pub config: toml::Table,
}

fn default_true() -> bool {
    true
}

impl PluginSpec {
    /// The library file name the host looks for when `path` is not set.
    pub fn library_file_name(&self) -> String {
        format!(
            "{}hypernet_plugin_{}{}",
            std::env::consts::DLL_PREFIX,
            self.name.replace('-', "_"),
            std::env::consts::DLL_SUFFIX
        )
    }

    /// The config table as JSON, the form plugins receive.
    pub fn config_json(&self) -> String {
        serde_json::to_string(&self.config).unwrap_or_else(|_| "{}".to_owned())
    }
}

/// Checks a plugin name: lower-case ASCII letters, digits and `-`, not empty, and not
/// `host` (the source of the host's own events). The error names the value.
///
/// ```
/// use hypernet_engine::manifest::check_name;
/// assert!(check_name("provider-sim").is_ok());
/// assert_eq!(
///     check_name("Hello").unwrap_err(),
///     "plugin name `Hello` must be lower-case letters, digits and `-`"
/// );
/// ```
pub fn check_name(name: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    if name.is_empty() || !name.chars().all(allowed) {
        return Err(format!(
            "plugin name `{name}` must be lower-case letters, digits and `-`"
        ));
    }
    if name == crate::registry::HOST_SOURCE {
        return Err(
            "plugin name `host` is reserved: it is the source of the host's own events".to_owned(),
        );
    }
    Ok(())
}

/// A parsed, validated manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// Where it came from (a path, or `embedded plugins.toml`).
    pub origin: String,
    /// The folder relative paths are resolved against.
    pub base_dir: PathBuf,
    /// Extra folders to search for libraries.
    pub plugin_dirs: Vec<PathBuf>,
    /// Entries in load order: every plugin after the plugins it requires, otherwise in file
    /// order.
    pub plugins: Vec<PluginSpec>,
}

impl Manifest {
    /// Reads and validates a manifest file.
    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
            path: path.to_owned(),
            source,
        })?;
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Manifest::parse(&text, &path.display().to_string(), &base)
    }

    /// The manifest built into the binary.
    pub fn embedded() -> Manifest {
        Manifest::parse(EMBEDDED, "embedded plugins.toml", Path::new("."))
            .expect("the embedded plugins.toml is valid (checked by a test)")
    }

    /// Parses manifest text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str, base_dir: &Path) -> Result<Manifest, ManifestError> {
        let raw: RawManifest = toml::from_str(text).map_err(|e| ManifestError::Parse {
            origin: origin.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        let invalid = |message: String| ManifestError::Invalid {
            origin: origin.to_owned(),
            message,
        };
        let mut seen = BTreeSet::new();
        for spec in &raw.plugins {
            check_name(&spec.name).map_err(invalid)?;
            if !seen.insert(spec.name.as_str()) {
                return Err(invalid(format!("plugin `{}` is listed twice", spec.name)));
            }
        }
        for spec in &raw.plugins {
            for req in &spec.requires {
                if !seen.contains(req.as_str()) {
                    return Err(invalid(format!(
                        "plugin `{}` requires `{req}`, which is not in the manifest",
                        spec.name
                    )));
                }
                if req == &spec.name {
                    return Err(invalid(format!("plugin `{}` requires itself", spec.name)));
                }
            }
        }
        let plugins = load_order(raw.plugins).map_err(invalid)?;
        let base_dir = base_dir.to_path_buf();
        let plugin_dirs = raw
            .plugin_dirs
            .into_iter()
            .map(|d| if d.is_absolute() { d } else { base_dir.join(d) })
            .collect();
        Ok(Manifest {
            origin: origin.to_owned(),
            base_dir,
            plugin_dirs,
            plugins,
        })
    }

    /// The entry named `name`.
    pub fn get(&self, name: &str) -> Option<&PluginSpec> {
        self.plugins.iter().find(|p| p.name == name)
    }
}

/// Orders plugins so each comes after what it requires (depth-first, file order kept where
/// free); a cycle is an error naming its members in order.
fn load_order(specs: Vec<PluginSpec>) -> Result<Vec<PluginSpec>, String> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Visiting,
        Done,
    }
    let index: BTreeMap<&str, usize> = specs
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    let mut marks: Vec<Option<Mark>> = vec![None; specs.len()];
    let mut order = Vec::with_capacity(specs.len());

    fn visit(
        i: usize,
        specs: &[PluginSpec],
        index: &BTreeMap<&str, usize>,
        marks: &mut [Option<Mark>],
        order: &mut Vec<usize>,
        path: &mut Vec<usize>,
    ) -> Result<(), String> {
        match marks[i] {
            Some(Mark::Done) => return Ok(()),
            Some(Mark::Visiting) => {
                let start = path.iter().position(|&p| p == i).unwrap_or(0);
                let mut names: Vec<&str> = path[start..]
                    .iter()
                    .map(|&p| specs[p].name.as_str())
                    .collect();
                names.push(&specs[i].name);
                return Err(format!("cyclic requires: {}", names.join(" -> ")));
            }
            None => {}
        }
        marks[i] = Some(Mark::Visiting);
        path.push(i);
        for req in &specs[i].requires {
            visit(index[req.as_str()], specs, index, marks, order, path)?;
        }
        path.pop();
        marks[i] = Some(Mark::Done);
        order.push(i);
        Ok(())
    }

    for i in 0..specs.len() {
        visit(i, &specs, &index, &mut marks, &mut order, &mut Vec::new())?;
    }
    let mut slots: Vec<Option<PluginSpec>> = specs.into_iter().map(Some).collect();
    Ok(order.into_iter().filter_map(|i| slots[i].take()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest, ManifestError> {
        Manifest::parse(text, "plugins.toml", Path::new("/base"))
    }

    fn names(m: &Manifest) -> Vec<&str> {
        m.plugins.iter().map(|p| p.name.as_str()).collect()
    }

    #[test]
    fn embedded_manifest_is_valid() {
        assert!(!Manifest::embedded().plugins.is_empty());
    }

    #[test]
    fn requires_come_first_and_file_order_is_kept() {
        let m = parse(
            r#"
            [[plugin]]
            name = "governance"
            requires = ["reputation"]
            [[plugin]]
            name = "herald"
            [[plugin]]
            name = "reputation"
            "#,
        )
        .unwrap();
        assert_eq!(names(&m), ["reputation", "governance", "herald"]);
    }

    #[test]
    fn defaults_and_paths() {
        let m = parse("plugin_dirs = [\"libs\", \"/abs\"]\n[[plugin]]\nname = \"provider-sim\"\n")
            .unwrap();
        let p = &m.plugins[0];
        assert!(p.enabled && p.capabilities.is_empty() && p.config.is_empty());
        assert_eq!(p.library_file_name(), "libhypernet_plugin_provider_sim.so");
        assert_eq!(
            m.plugin_dirs,
            [PathBuf::from("/base/libs"), PathBuf::from("/abs")]
        );
        assert_eq!(p.config_json(), "{}");
    }

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let err = parse("[[plugin]]\nname = \"a\"\nenabled = yes\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("plugins.toml: "), "{err}");
        assert!(err.contains("line 3, column 11"), "{err}");
    }

    #[test]
    fn unknown_fields_and_capabilities_are_named() {
        let err = parse("[[plugin]]\nname = \"a\"\nenable = true\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `enable`"), "{err}");
        let err = parse("[[plugin]]\nname = \"a\"\ncapabilities = [\"kv\", \"root\"]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("root") && err.contains("line 3"), "{err}");
    }

    #[test]
    fn semantic_errors() {
        let missing = parse("[[plugin]]\nname = \"a\"\nrequires = [\"ghost\"]\n").unwrap_err();
        assert_eq!(
            missing.to_string(),
            "plugins.toml: plugin `a` requires `ghost`, which is not in the manifest"
        );
        let cycle = parse(
            "[[plugin]]\nname = \"a\"\nrequires = [\"b\"]\n[[plugin]]\nname = \"b\"\nrequires = [\"c\"]\n[[plugin]]\nname = \"c\"\nrequires = [\"a\"]\n",
        )
        .unwrap_err();
        assert_eq!(
            cycle.to_string(),
            "plugins.toml: cyclic requires: a -> b -> c -> a"
        );
        let reserved = parse("[[plugin]]\nname = \"host\"\n").unwrap_err();
        assert!(
            reserved.to_string().contains("`host` is reserved"),
            "{reserved}"
        );
        let twice = parse("[[plugin]]\nname = \"a\"\n[[plugin]]\nname = \"a\"\n").unwrap_err();
        assert!(twice.to_string().contains("listed twice"));
        let bad = parse("[[plugin]]\nname = \"A b\"\n").unwrap_err();
        assert!(bad.to_string().contains("`A b`"));
    }
}
