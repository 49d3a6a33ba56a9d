//! `hypernet run`: take the data directory's lock (the store) and the API's port, start the
//! plugins and the scheduler, serve the API until Ctrl-C/SIGTERM, then stop everything in
//! order. Nothing calls a model before both are held, and the boot sequence runs in the
//! background once the API answers.

use crate::compose::{Host, Inputs, compose};
use crate::datadir::{DataDir, HostInfo};
use anyhow::{Context, Result};
use hypernet_api::AppState;
use hypernet_engine::{Manifest, RegistryOptions};
use hypernet_swarm::config::HostConfig;
use serde_json::json;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Options of `hypernet run`.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Explicit manifest; else `./plugins.toml` when present; else the embedded one.
    pub manifest: Option<PathBuf>,
    /// Data directory.
    pub data_dir: PathBuf,
    /// API listen address.
    pub listen: SocketAddr,
    /// Host config; else `./hypernet.toml` when present; else the defaults.
    pub config: Option<PathBuf>,
}

/// Picks the host config: the one named, `hypernet.toml` in the working directory, or the
/// defaults.
pub fn resolve_config(explicit: Option<&Path>) -> Result<HostConfig> {
    match explicit {
        Some(path) => Ok(HostConfig::load(path)?),
        None if Path::new("hypernet.toml").is_file() => {
            Ok(HostConfig::load(Path::new("hypernet.toml"))?)
        }
        None => Ok(HostConfig::default()),
    }
}

/// How long in-flight calls may take to finish at shutdown before they are re-queued.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Picks the manifest: the one named, `plugins.toml` in the working directory, or the
/// built-in default.
pub fn resolve_manifest(explicit: Option<&Path>) -> Result<Manifest> {
    match explicit {
        Some(path) => Ok(Manifest::load(path)?),
        None => {
            let local = Path::new("plugins.toml");
            if local.is_file() {
                Ok(Manifest::load(local)?)
            } else {
                Ok(Manifest::embedded())
            }
        }
    }
}

/// Runs the host until a shutdown signal.
pub async fn run(options: RunOptions) -> Result<()> {
    let mut config = resolve_config(options.config.as_deref())?;
    let manifest = resolve_manifest(options.manifest.as_deref())?;
    let data = DataDir::new(&options.data_dir);
    data.create()?;
    config
        .identity
        .archive
        .get_or_insert_with(|| data.root().join("archive"));
    config
        .tools
        .workspace_root
        .get_or_insert_with(|| data.root().join("workspaces"));
    let store = hypernet_swarm::persist::open_store(&data.database()).map_err(|e| {
        if e.is_in_use() {
            anyhow::anyhow!(
                "data directory {} is in use by another running hypernet host",
                data.root().display()
            )
        } else {
            e.into()
        }
    })?;
    let audit =
        hypernet_swarm::audit::Audit::open(store.clone(), &data.keys()).with_context(|| {
            format!(
                "opening the audit log and the keyring {}",
                data.keys().display()
            )
        })?;
    // The port is taken, like the data directory's lock, before anything can start a model
    // call: a start that fails here has changed nothing.
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .with_context(|| format!("binding the API to {}", options.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(manifest = %manifest.origin, data = %data.root().display(), api = %addr, "starting host");
    let manifest_origin = manifest.origin.to_string();
    let Host {
        registry,
        scheduler,
        outbox,
        channels,
        federation,
    } = compose(Inputs {
        config: &config,
        manifest,
        store,
        audit: Some(audit.clone()),
        registry: RegistryOptions::default(),
        probe: None,
    })
    .await?;
    if registry.provider_addresses().is_empty() {
        tracing::warn!(
            manifest = %manifest_origin,
            "no model provider is loaded: every task will fail until one is; add one to the \
             manifest (provider-sim answers without a model or key: see PLUGINS.md) or enable \
             a disabled one"
        );
    }
    let token = data.ensure_token()?;
    data.write_host_info(&HostInfo {
        url: format!("http://{addr}"),
        pid: std::process::id(),
    })?;
    let loaded = registry.loaded_count();
    registry.announce(
        "host.started",
        json!({ "api": format!("http://{addr}"), "plugins_loaded": loaded }),
    );
    tracing::info!(api = %format!("http://{addr}"), plugins_loaded = loaded, "host ready; Ctrl-C to stop");

    let app = hypernet_api::router(
        AppState {
            registry: registry.clone(),
            token: Arc::from(token),
            scheduler: scheduler.clone(),
            outbox,
            channels,
            audit,
        },
        &config.api,
    );
    let served = axum::serve(hypernet_api::no_delay(listener), app)
        .with_graceful_shutdown(shutdown_signal())
        .await;
    tracing::info!("shutting down");
    registry.announce("host.stopping", json!({}));
    scheduler.shutdown(SHUTDOWN_GRACE).await;
    if let Some(federation) = federation {
        federation.stop();
    }
    registry.shutdown();
    data.remove_host_info();
    served.context("serving the API")
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

#[cfg(test)]
mod tests {
    //! The reference in `docs/configuration.md` holds one complete `hypernet.toml` and one
    //! complete `plugins.toml`; these tests read them with the parsers `hypernet run` uses,
    //! so the reference cannot drift from the code.

    use super::*;
    use std::collections::BTreeSet;

    const REFERENCE: &str = include_str!("../../../docs/configuration.md");

    /// The fenced block whose info string is `toml <name>` (there must be exactly one).
    fn block(name: &str) -> &'static str {
        let fence = format!("```toml {name}\n");
        assert_eq!(
            REFERENCE.matches(&fence).count(),
            1,
            "docs/configuration.md has one ```toml {name} block"
        );
        let start = REFERENCE.find(&fence).expect("counted above") + fence.len();
        let len = REFERENCE[start..]
            .find("\n```")
            .unwrap_or_else(|| panic!("the {name} block is closed"));
        &REFERENCE[start..=start + len]
    }

    /// Field names in a value's `Debug` form (`name: value`).
    fn field_names(debug: &str) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        for (at, _) in debug.match_indices(": ") {
            let before = &debug[..at];
            let word: String = before
                .chars()
                .rev()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            if !word.is_empty() && !word.starts_with(|c: char| c.is_ascii_digit()) {
                names.insert(word);
            }
        }
        names
    }

    #[test]
    fn the_reference_hypernet_toml_is_accepted_and_states_every_default() {
        let text = block("hypernet.toml");
        let parsed = HostConfig::parse(text, "docs/configuration.md").unwrap();
        let default = HostConfig::default();
        assert_eq!(
            format!("{parsed:?}"),
            format!("{default:?}"),
            "every value in the reference is the built-in default"
        );
        let missing: Vec<String> = field_names(&format!("{default:?}"))
            .into_iter()
            .filter(|name| !text.contains(name.as_str()))
            .collect();
        assert!(
            missing.is_empty(),
            "keys of hypernet.toml the reference does not mention: {missing:?}"
        );
    }

    #[test]
    fn the_reference_plugins_toml_is_the_built_in_manifest() {
        let base = Path::new(env!("CARGO_MANIFEST_DIR"));
        let reference =
            Manifest::parse(block("plugins.toml"), "docs/configuration.md", base).unwrap();
        let embedded = Manifest::embedded();
        let names = |m: &Manifest| -> Vec<(String, bool)> {
            m.plugins
                .iter()
                .map(|p| (p.name.clone(), p.enabled))
                .collect()
        };
        assert_eq!(names(&reference), names(&embedded));
        // The reference writes out every key of each plugin's config; the built-in manifest
        // sets some of them, to the same values.
        for (written, built_in) in reference.plugins.iter().zip(&embedded.plugins) {
            for (key, value) in &built_in.config {
                assert_eq!(
                    written.config.get(key),
                    Some(value),
                    "plugin `{}` key `{key}`",
                    built_in.name
                );
            }
        }
    }
}
