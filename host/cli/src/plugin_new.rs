//! `hypernet plugin new`: writes a plugin crate that builds and loads as written — its
//! `Cargo.toml`, a commented `src/lib.rs` of the kind asked for with tests on `TestHost`,
//! its manifest entry (`plugins.toml`) and a `README.md`.
//!
//! The files are the templates of `templates/plugin/` (built into the binary) with their
//! `{{...}}` placeholders filled in. The crate depends on hypernet-plugin-api at
//! `--api-path`, from the git repository of `--api-git` at this host's release tag, or, by
//! default, at the checkout this binary was built from — when that is still on this machine
//! with this host's plugin-api version; otherwise it asks for one of the two.

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use hypernet_plugin_api::API_VERSION;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// The package name of the plugin API crate.
const API_PACKAGE: &str = "hypernet-plugin-api";

/// The tag of this host's release in the Hypernet repository.
const RELEASE_TAG: &str = concat!("v", env!("CARGO_PKG_VERSION"));

/// The plugin-api folder of the checkout this binary was built from.
const BUILT_FROM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../plugin-api");

/// What kind of plugin to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PluginKind {
    /// Reacts to host events and answers named queries.
    Subsystem,
    /// An LLM provider.
    Provider,
    /// A channel to people.
    Channel,
}

/// `hypernet plugin new ...`
#[derive(Debug, Args)]
pub struct NewPluginArgs {
    /// The plugin's name: its name in plugins.toml and its crate's (lower-case letters,
    /// digits and `-`, starting with a letter).
    pub name: String,
    /// What kind of plugin.
    #[arg(long, value_enum, default_value_t = PluginKind::Subsystem)]
    pub kind: PluginKind,
    /// The folder to write it in, which must be new or empty [default: ./NAME].
    #[arg(long, value_name = "PATH")]
    pub dir: Option<PathBuf>,
    /// Depend on the hypernet-plugin-api in this folder (the `plugin-api` folder of a
    /// Hypernet checkout) [default: the checkout this binary was built from].
    #[arg(long, value_name = "PATH", conflicts_with = "api_git")]
    pub api_path: Option<PathBuf>,
    /// Depend on hypernet-plugin-api from this git repository (Hypernet's), at the tag of
    /// this host's release (`v` and `hypernet --version`).
    #[arg(long, value_name = "URL")]
    pub api_git: Option<String>,
}

/// Where the new crate takes hypernet-plugin-api from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ApiSource {
    /// A folder holding the crate, absolute, with the version it holds.
    Path { dir: String, version: String },
    /// A git repository, at the tag of this host's release.
    Git { url: String },
}

impl ApiSource {
    /// The dependency line of `Cargo.toml`.
    fn dependency(&self) -> String {
        match self {
            ApiSource::Path { dir, .. } => {
                format!("{API_PACKAGE} = {{ path = {} }}", toml_string(dir))
            }
            ApiSource::Git { url } => format!(
                "{API_PACKAGE} = {{ git = {}, tag = \"{RELEASE_TAG}\" }}",
                toml_string(url)
            ),
        }
    }

    /// How the output names it.
    fn describe(&self) -> String {
        match self {
            ApiSource::Path { dir, version } => format!("{API_PACKAGE} {version} at {dir}"),
            ApiSource::Git { url } => format!("{API_PACKAGE} from {url}, tag {RELEASE_TAG}"),
        }
    }
}

/// A TOML basic string holding `text`, quoted and escaped.
fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// The templates of one kind.
struct Templates {
    lib_rs: &'static str,
    manifest: &'static str,
    usage: &'static str,
}

const CARGO_TOML: &str = include_str!("../templates/plugin/Cargo.toml.in");
const README: &str = include_str!("../templates/plugin/README.md");

impl PluginKind {
    fn name(self) -> &'static str {
        match self {
            PluginKind::Subsystem => "subsystem",
            PluginKind::Provider => "provider",
            PluginKind::Channel => "channel",
        }
    }

    fn templates(self) -> Templates {
        match self {
            PluginKind::Subsystem => Templates {
                lib_rs: include_str!("../templates/plugin/subsystem/lib.rs"),
                manifest: include_str!("../templates/plugin/subsystem/plugins.toml"),
                usage: include_str!("../templates/plugin/subsystem/usage.md"),
            },
            PluginKind::Provider => Templates {
                lib_rs: include_str!("../templates/plugin/provider/lib.rs"),
                manifest: include_str!("../templates/plugin/provider/plugins.toml"),
                usage: include_str!("../templates/plugin/provider/usage.md"),
            },
            PluginKind::Channel => Templates {
                lib_rs: include_str!("../templates/plugin/channel/lib.rs"),
                manifest: include_str!("../templates/plugin/channel/plugins.toml"),
                usage: include_str!("../templates/plugin/channel/usage.md"),
            },
        }
    }
}

/// Checks a plugin name: the manifest's rule, and a first letter, since it names the crate
/// too (a package name cannot start with a digit or `-`).
fn check_name(name: &str) -> Result<()> {
    hypernet_engine::manifest::check_name(name).map_err(anyhow::Error::msg)?;
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        bail!("plugin name `{name}` must start with a lower-case letter: it also names the crate");
    }
    Ok(())
}

/// Refuses a folder that exists and is not an empty folder.
fn check_dir(dir: &Path) -> Result<()> {
    match fs::read_dir(dir) {
        Ok(mut entries) => match entries.next() {
            None => Ok(()),
            Some(_) => bail!(
                "{} exists and is not empty: give another --dir, or remove it",
                dir.display()
            ),
        },
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(()),
        Err(_) if dir.exists() => bail!("{} exists and is not a folder", dir.display()),
        Err(err) => Err(err).with_context(|| format!("reading {}", dir.display())),
    }
}

/// The hypernet-plugin-api crate in `dir`: its absolute folder and its version; an error
/// naming the file when `dir` holds no such crate.
fn plugin_api_at(dir: &Path) -> Result<ApiSource> {
    let manifest = dir.join("Cargo.toml");
    let text = fs::read_to_string(&manifest).with_context(|| {
        format!(
            "reading {} (the folder must be the plugin-api folder of a Hypernet checkout)",
            manifest.display()
        )
    })?;
    let parsed: toml::Table =
        toml::from_str(&text).with_context(|| format!("reading {}", manifest.display()))?;
    let package = parsed.get("package").and_then(toml::Value::as_table);
    let field = |key: &str| {
        package
            .and_then(|p| p.get(key))
            .and_then(toml::Value::as_str)
    };
    if field("name") != Some(API_PACKAGE) {
        bail!(
            "{} is not the {API_PACKAGE} crate (give the plugin-api folder of a Hypernet checkout)",
            manifest.display()
        );
    }
    let version = field("version").unwrap_or("?").to_owned();
    let absolute = dir
        .canonicalize()
        .with_context(|| format!("reading {}", dir.display()))?;
    let Some(dir) = absolute.to_str() else {
        bail!(
            "{} is not valid UTF-8, which Cargo.toml cannot name",
            absolute.display()
        );
    };
    Ok(ApiSource::Path {
        dir: dir.to_owned(),
        version,
    })
}

/// The API source the arguments ask for, or the default.
fn api_source(path: Option<&Path>, git: Option<&str>) -> Result<ApiSource> {
    if let Some(url) = git {
        if url.trim().is_empty() {
            bail!("--api-git needs the URL of the Hypernet repository");
        }
        return Ok(ApiSource::Git {
            url: url.trim().to_owned(),
        });
    }
    if let Some(path) = path {
        return plugin_api_at(path);
    }
    match plugin_api_at(Path::new(BUILT_FROM)) {
        Ok(ApiSource::Path { dir, version }) if version == API_VERSION => {
            Ok(ApiSource::Path { dir, version })
        }
        _ => bail!(
            "this hypernet was not built from a Hypernet checkout on this machine with \
             {API_PACKAGE} {API_VERSION}, so say where the new crate gets it: \
             --api-path PATH (the plugin-api folder of a checkout) or --api-git URL (the \
             Hypernet repository, at tag {RELEASE_TAG})"
        ),
    }
}

/// Replaces each `{{key}}` of `template` with its value, in one pass: a value is written as
/// it is, never searched for placeholders itself. Unknown keys are left in place.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let known = after.find("}}").and_then(|end| {
            let key = &after[..end];
            let value = values.iter().find(|(k, _)| *k == key)?.1;
            Some((value, &after[end + 2..]))
        });
        match known {
            Some((value, tail)) => {
                out.push_str(value);
                rest = tail;
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The files of a new crate, by their path in it; `library` is where `cargo build
/// --release` writes the library.
fn render(
    name: &str,
    kind: PluginKind,
    api: &ApiSource,
    library: &str,
) -> Vec<(&'static str, String)> {
    let templates = kind.templates();
    let lib = name.replace('-', "_");
    let dependency = api.dependency();
    let library = toml_string(library);
    let values = [
        ("name", name),
        ("lib", lib.as_str()),
        ("kind", kind.name()),
        ("api_dependency", dependency.as_str()),
        ("release_tag", RELEASE_TAG),
        ("library", library.as_str()),
    ];
    let usage = fill(templates.usage, &values);
    let readme_values: Vec<(&str, &str)> = values
        .iter()
        .copied()
        .chain([("usage", usage.as_str())])
        .collect();
    vec![
        ("Cargo.toml", fill(CARGO_TOML, &values)),
        ("src/lib.rs", fill(templates.lib_rs, &values)),
        ("plugins.toml", fill(templates.manifest, &values)),
        ("README.md", fill(README, &readme_values)),
    ]
}

/// Writes the crate.
pub(crate) fn run(args: NewPluginArgs) -> Result<()> {
    check_name(&args.name)?;
    let api = api_source(args.api_path.as_deref(), args.api_git.as_deref())?;
    let dir = args.dir.unwrap_or_else(|| PathBuf::from(&args.name));
    check_dir(&dir)?;
    fs::create_dir_all(dir.join("src"))
        .with_context(|| format!("creating {}", dir.join("src").display()))?;
    let absolute = dir
        .canonicalize()
        .with_context(|| format!("reading {}", dir.display()))?;
    let library = absolute.join("target/release").join(format!(
        "{}hypernet_plugin_{}{}",
        std::env::consts::DLL_PREFIX,
        args.name.replace('-', "_"),
        std::env::consts::DLL_SUFFIX
    ));
    let files = render(&args.name, args.kind, &api, &library.to_string_lossy());
    for (path, text) in &files {
        let path = dir.join(path);
        fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    outln!(
        "Wrote the {} plugin `{}` in {}:",
        args.kind.name(),
        args.name,
        dir.display()
    )?;
    outln!("  Cargo.toml     {}", api.describe())?;
    outln!("  src/lib.rs     the plugin, commented, with its tests")?;
    outln!("  plugins.toml   its manifest entry")?;
    outln!("  README.md      building, testing, loading")?;
    outln!(
        "Next: cd {} && cargo test && cargo build --release",
        dir.display()
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hypernet_engine::manifest::Manifest;

    const KINDS: [PluginKind; 3] = [
        PluginKind::Subsystem,
        PluginKind::Provider,
        PluginKind::Channel,
    ];

    fn path_source() -> ApiSource {
        ApiSource::Path {
            dir: "/src/hypernet/plugin-api".into(),
            version: API_VERSION.into(),
        }
    }

    fn file<'a>(files: &'a [(&str, String)], name: &str) -> &'a str {
        let found = files.iter().find(|(path, _)| *path == name);
        &found.unwrap_or_else(|| panic!("no {name}")).1
    }

    #[test]
    fn every_placeholder_is_filled() {
        for kind in KINDS {
            let files = render(
                "my-plugin",
                kind,
                &path_source(),
                "/x/libhypernet_plugin_my_plugin.so",
            );
            let paths: Vec<&str> = files.iter().map(|(p, _)| *p).collect();
            assert_eq!(
                paths,
                ["Cargo.toml", "src/lib.rs", "plugins.toml", "README.md"]
            );
            for (path, text) in &files {
                assert!(!text.contains("{{"), "{kind:?} {path}:\n{text}");
                assert!(!text.contains("}}"), "{kind:?} {path}:\n{text}");
            }
        }
    }

    #[test]
    fn placeholders_are_filled_in_one_pass() {
        let values = [("name", "{{lib}}"), ("lib", "x")];
        assert_eq!(
            fill("a {{name}} b {{lib}} {{other}} {{", &values),
            "a {{lib}} b x {{other}} {{"
        );
    }

    #[test]
    fn cargo_toml_names_the_package_library_and_api() {
        let files = render(
            "my-plugin",
            PluginKind::Provider,
            &path_source(),
            "/x/lib.so",
        );
        let cargo: toml::Table = toml::from_str(file(&files, "Cargo.toml")).unwrap();
        assert_eq!(cargo["package"]["name"].as_str(), Some("my-plugin"));
        assert_eq!(
            cargo["lib"]["name"].as_str(),
            Some("hypernet_plugin_my_plugin")
        );
        assert_eq!(
            cargo["lib"]["crate-type"],
            toml::Value::Array(vec!["cdylib".into(), "rlib".into()])
        );
        assert_eq!(
            cargo["dependencies"][API_PACKAGE]["path"].as_str(),
            Some("/src/hypernet/plugin-api")
        );
        assert!(
            cargo["workspace"]
                .as_table()
                .is_some_and(toml::Table::is_empty)
        );

        let git = ApiSource::Git {
            url: "https://example.org/hypernet.git".into(),
        };
        let files = render("my-plugin", PluginKind::Channel, &git, "/x/lib.so");
        let cargo: toml::Table = toml::from_str(file(&files, "Cargo.toml")).unwrap();
        let api = &cargo["dependencies"][API_PACKAGE];
        assert_eq!(
            api["git"].as_str(),
            Some("https://example.org/hypernet.git")
        );
        assert_eq!(api["tag"].as_str(), Some(RELEASE_TAG));
        assert_eq!(RELEASE_TAG, format!("v{}", env!("CARGO_PKG_VERSION")));
    }

    #[test]
    fn paths_are_quoted_for_toml() {
        let odd = ApiSource::Path {
            dir: r#"C:\a "b"\plugin-api"#.into(),
            version: API_VERSION.into(),
        };
        let library = r#"/tmp/a "quoted" dir/target/release/libhypernet_plugin_x.so"#;
        let files = render("x", PluginKind::Subsystem, &odd, library);
        let cargo: toml::Table = toml::from_str(file(&files, "Cargo.toml")).unwrap();
        assert_eq!(
            cargo["dependencies"][API_PACKAGE]["path"].as_str(),
            Some(r#"C:\a "b"\plugin-api"#)
        );
        let manifest =
            Manifest::parse(file(&files, "plugins.toml"), "plugins.toml", Path::new("/")).unwrap();
        assert_eq!(
            manifest.plugins[0].path.as_deref(),
            Some(Path::new(library))
        );
    }

    #[test]
    fn the_manifest_entry_is_a_valid_manifest_naming_the_library() {
        for kind in KINDS {
            let library = "/work/relay/target/release/libhypernet_plugin_relay.so";
            let files = render("relay", kind, &path_source(), library);
            let manifest =
                Manifest::parse(file(&files, "plugins.toml"), "plugins.toml", Path::new("/"))
                    .unwrap_or_else(|e| panic!("{kind:?}: {e}"));
            let [entry] = manifest.plugins.as_slice() else {
                panic!("{kind:?}: one entry, got {:?}", manifest.plugins);
            };
            assert_eq!(entry.name, "relay");
            assert_eq!(entry.path.as_deref(), Some(Path::new(library)));
            assert_eq!(entry.library_file_name(), "libhypernet_plugin_relay.so");
            assert!(library.ends_with(&entry.library_file_name()));
            let lib_rs = file(&files, "src/lib.rs");
            assert!(
                lib_rs.contains("\"relay\");"),
                "{kind:?}: registered as `relay`"
            );
            assert!(lib_rs.contains("hypernet_plugin_api::export_plugin!();"));
            assert!(lib_rs.contains("#[cfg(test)]") && lib_rs.contains("TestHost::new(\"relay\")"));
        }
    }

    #[test]
    fn names_follow_the_manifest_rule_and_start_with_a_letter() {
        for good in ["hello", "my-plugin", "a2", "x-"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        let refused = |name: &str| check_name(name).unwrap_err().to_string();
        assert_eq!(
            refused("Hello"),
            "plugin name `Hello` must be lower-case letters, digits and `-`"
        );
        assert!(refused("my_plugin").contains("`my_plugin`"));
        assert!(refused("").contains("plugin name ``"));
        assert!(refused("host").contains("`host` is reserved"));
        assert_eq!(
            refused("2fa"),
            "plugin name `2fa` must start with a lower-case letter: it also names the crate"
        );
        assert!(refused("-x").contains("`-x`"));
    }

    #[test]
    fn only_a_new_or_empty_folder_is_written_to() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(check_dir(&tmp.path().join("new")).is_ok());
        assert!(check_dir(tmp.path()).is_ok(), "empty");
        fs::write(tmp.path().join("notes.txt"), "x").unwrap();
        let full = check_dir(tmp.path()).unwrap_err().to_string();
        assert!(full.contains(&tmp.path().display().to_string()) && full.contains("not empty"));
        let file = check_dir(&tmp.path().join("notes.txt"))
            .unwrap_err()
            .to_string();
        assert!(
            file.contains("notes.txt exists and is not a folder"),
            "{file}"
        );
    }

    #[test]
    fn the_api_source_is_checked() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = api_source(Some(tmp.path()), None).unwrap_err();
        assert!(format!("{missing:#}").contains("Cargo.toml"), "{missing:#}");
        fs::write(
            tmp.path().join("Cargo.toml"),
            "[package]\nname = \"other\"\nversion = \"1.0.0\"\n",
        )
        .unwrap();
        let other = api_source(Some(tmp.path()), None).unwrap_err().to_string();
        assert!(
            other.contains("is not the hypernet-plugin-api crate"),
            "{other}"
        );
        fs::write(
            tmp.path().join("Cargo.toml"),
            "[package]\nname = \"hypernet-plugin-api\"\nversion = \"0.9.1\"\n",
        )
        .unwrap();
        let ApiSource::Path { dir, version } = api_source(Some(tmp.path()), None).unwrap() else {
            panic!("a path source");
        };
        assert_eq!(Path::new(&dir), tmp.path().canonicalize().unwrap());
        assert_eq!(version, "0.9.1");
        assert!(api_source(None, Some(" ")).is_err());
        assert_eq!(
            api_source(None, Some("https://example.org/h.git")).unwrap(),
            ApiSource::Git {
                url: "https://example.org/h.git".into()
            }
        );
    }

    #[test]
    fn by_default_the_api_is_the_checkout_this_binary_was_built_from() {
        let ApiSource::Path { dir, version } = api_source(None, None).unwrap() else {
            panic!("a path source");
        };
        let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugin-api");
        assert_eq!(Path::new(&dir), checkout.canonicalize().unwrap());
        assert_eq!(version, API_VERSION);
    }
}
