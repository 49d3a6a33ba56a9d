//! `hypernet doctor`: checks, before a run, what a run needs — the configuration, the
//! manifest and every plugin in it, a model provider, the API keys the plugins read, the
//! servers they talk to, the data directory's disk and the API's port — and says what to
//! fix. Nothing is started and nothing is written.

use super::run::{resolve_config, resolve_manifest};
use anyhow::{Result, bail};
use hypernet_engine::Manifest;
use hypernet_engine::check::check as check_plugins;
use hypernet_plugin_api::ServiceKind;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;
use std::time::Duration;

/// Free space below which the data directory is reported.
const MIN_FREE_BYTES: u64 = 100 * 1024 * 1024;

/// How long a server may take to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// One thing checked: what, and what to fix when it is not right.
#[derive(Debug)]
struct Finding {
    area: &'static str,
    fix: Option<String>,
    detail: String,
}

impl Finding {
    fn ok(area: &'static str, detail: impl Into<String>) -> Finding {
        Finding {
            area,
            fix: None,
            detail: detail.into(),
        }
    }

    fn fix(area: &'static str, fix: impl Into<String>) -> Finding {
        Finding {
            area,
            fix: Some(fix.into()),
            detail: String::new(),
        }
    }
}

/// What to check.
pub struct Options<'a> {
    /// The data directory.
    pub data_dir: &'a Path,
    /// `--manifest`, if given.
    pub manifest: Option<&'a Path>,
    /// `--config`, if given.
    pub config: Option<&'a Path>,
    /// The API's address.
    pub listen: SocketAddr,
}

/// Runs every check, prints one line each, and fails when anything needs fixing.
pub fn run(o: Options<'_>) -> Result<()> {
    let mut findings = vec![match resolve_config(o.config) {
        Ok(_) => Finding::ok(
            "config",
            o.config.map_or_else(
                || "hypernet.toml, or the built-in defaults".to_owned(),
                |p| p.display().to_string(),
            ),
        ),
        Err(e) => Finding::fix("config", format!("{e:#}")),
    }];
    match resolve_manifest(o.manifest) {
        Ok(manifest) => findings.extend(manifest_findings(&manifest)),
        Err(e) => findings.push(Finding::fix("manifest", format!("{e:#}"))),
    }
    findings.push(disk(o.data_dir));
    findings.push(port(o.listen));
    for f in &findings {
        match &f.fix {
            None => outln!("ok    {:<9} {}", f.area, f.detail)?,
            Some(fix) => outln!("FIX   {:<9} {fix}", f.area)?,
        }
    }
    let fixes = findings.iter().filter(|f| f.fix.is_some()).count();
    if fixes > 0 {
        bail!("{fixes} thing(s) to fix before `hypernet run`");
    }
    Ok(())
}

/// The plugins, a model provider among them, their keys and their servers.
fn manifest_findings(manifest: &Manifest) -> Vec<Finding> {
    let items = check_plugins(manifest);
    let mut out = Vec::new();
    let mut providers = 0;
    for item in items.iter().filter(|i| i.enabled) {
        match &item.problem {
            Some(problem) => out.push(Finding::fix("plugin", problem.clone())),
            None => {
                out.push(Finding::ok("plugin", format!("{} loads", item.name)));
                if item
                    .services
                    .iter()
                    .any(|s| s.kind == ServiceKind::Provider)
                {
                    providers += 1;
                }
            }
        }
    }
    if providers == 0 {
        out.push(Finding::fix(
            "provider",
            format!(
                "{}: no model provider is enabled, so every task would fail; add one \
                 (provider-sim answers without a model or a key)",
                manifest.origin
            ),
        ));
    }
    for spec in manifest.plugins.iter().filter(|p| p.enabled) {
        // Secrets come from the variables the `*_env` settings name.
        for (key, value) in &spec.config {
            let (Some(what), Some(var)) = (key.strip_suffix("_env"), value.as_str()) else {
                continue;
            };
            let what = if what == "api_key" { "API key" } else { what };
            out.push(match std::env::var(var) {
                Ok(v) if !v.trim().is_empty() => {
                    Finding::ok("key", format!("{} reads {var}: set", spec.name))
                }
                _ => Finding::fix(
                    "key",
                    format!(
                        "{} reads its {what} from {var}, which is not set: export {var}=…",
                        spec.name
                    ),
                ),
            });
        }
        let setting = |key: &str| spec.config.get(key).and_then(|v| v.as_str());
        for key in ["base_url", "url"] {
            if let Some(url) = setting(key) {
                out.push(reachable(&spec.name, key, url));
            }
        }
        // A mail server: `host` and `port`.
        if let Some(host) = setting("host") {
            let port = spec
                .config
                .get("port")
                .and_then(|v| v.as_integer())
                .unwrap_or(587);
            out.push(reachable(
                &spec.name,
                "host",
                &format!("smtp://{host}:{port}"),
            ));
        }
    }
    out
}

/// Whether the server of `url` accepts a connection.
fn reachable(plugin: &str, key: &str, url: &str) -> Finding {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return Finding::fix("server", format!("{plugin}: `{key}` {url:?} is not a URL"));
    };
    let host = parsed.host_str().unwrap_or_default();
    let port = parsed.port_or_known_default().unwrap_or(80);
    let connected = (host, port)
        .to_socket_addrs()
        .map_err(|e| e.to_string())
        .and_then(|mut addrs| addrs.next().ok_or_else(|| "no address".to_owned()))
        .and_then(|addr| {
            std::net::TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT).map_err(|e| e.to_string())
        });
    match connected {
        Ok(_) => Finding::ok("server", format!("{plugin} reaches {host}:{port}")),
        Err(e) => Finding::fix(
            "server",
            format!("{plugin} cannot reach {url} ({e}): start the server or correct `{key}`"),
        ),
    }
}

/// The data directory's file system has room.
fn disk(data_dir: &Path) -> Finding {
    // The directory may not exist yet: its nearest existing ancestor holds it.
    let existing = data_dir
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or(Path::new("."));
    match free_bytes(existing) {
        Some(free) if free < MIN_FREE_BYTES => Finding::fix(
            "disk",
            format!(
                "{}: {} MiB free; the store needs room to grow (at least {} MiB)",
                data_dir.display(),
                free / (1024 * 1024),
                MIN_FREE_BYTES / (1024 * 1024)
            ),
        ),
        Some(free) => Finding::ok(
            "disk",
            format!("{}: {} MiB free", data_dir.display(), free / (1024 * 1024)),
        ),
        None => Finding::fix(
            "disk",
            format!("{}: cannot read the free space", data_dir.display()),
        ),
    }
}

fn free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c_path` is a valid NUL-terminated string and `stat` a writable struct.
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) };
    (rc == 0).then(|| stat.f_bavail as u64 * stat.f_frsize as u64)
}

/// The API's address is free.
fn port(listen: SocketAddr) -> Finding {
    match std::net::TcpListener::bind(listen) {
        Ok(_) => Finding::ok("port", format!("{listen} is free")),
        Err(e) => Finding::fix(
            "port",
            format!(
                "{listen}: {e} — another host may be running (`hypernet status`); stop it or \
                 pass --listen with another address"
            ),
        ),
    }
}
