//! The data directory: the redb file, the API token, the keyring (`keys/`), and
//! `host.json`, which tells the CLI where a running host listens.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Paths inside one data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

/// What a running host writes to `host.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostInfo {
    /// Base URL of its API, e.g. `http://127.0.0.1:7477`.
    pub url: String,
    /// Its process id.
    pub pid: u32,
}

impl DataDir {
    /// The directory at `root` (not created yet).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DataDir { root: root.into() }
    }

    /// Its path.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Creates it if missing.
    pub fn create(&self) -> Result<()> {
        std::fs::create_dir_all(&self.root)
            .with_context(|| format!("creating data directory {}", self.root.display()))
    }

    /// The database file.
    pub fn database(&self) -> PathBuf {
        self.root.join("hypernet.redb")
    }

    /// The keyring's directory.
    pub fn keys(&self) -> PathBuf {
        self.root.join("keys")
    }

    fn token_path(&self) -> PathBuf {
        self.root.join("api-token")
    }

    fn host_info_path(&self) -> PathBuf {
        self.root.join("host.json")
    }

    /// The API token, generated (32 random bytes, hex, file mode 0600) on first use.
    pub fn ensure_token(&self) -> Result<String> {
        let path = self.token_path();
        if let Ok(token) = std::fs::read_to_string(&path) {
            let token = token.trim().to_owned();
            if !token.is_empty() {
                return Ok(token);
            }
        }
        let mut bytes = [0u8; 32];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut bytes))
            .context("reading /dev/urandom for the API token")?;
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        write_private(&path, &token).with_context(|| format!("writing {}", path.display()))?;
        Ok(token)
    }

    /// The token of the host using this directory, for the CLI.
    pub fn read_token(&self) -> Result<String> {
        let path = self.token_path();
        Ok(std::fs::read_to_string(&path)
            .with_context(|| format!("reading the API token {}", path.display()))?
            .trim()
            .to_owned())
    }

    /// Records where the running host listens.
    pub fn write_host_info(&self, info: &HostInfo) -> Result<()> {
        let path = self.host_info_path();
        std::fs::write(&path, serde_json::to_vec_pretty(info)?)
            .with_context(|| format!("writing {}", path.display()))
    }

    /// Where the running host listens, if one has said so.
    pub fn read_host_info(&self) -> Option<HostInfo> {
        let bytes = std::fs::read(self.host_info_path()).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Forgets the running host (on shutdown).
    pub fn remove_host_info(&self) {
        let _ = std::fs::remove_file(self.host_info_path());
    }
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn token_is_private_and_stable() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        let token = data.ensure_token().unwrap();
        assert_eq!(token.len(), 64);
        assert_eq!(data.ensure_token().unwrap(), token);
        assert_eq!(data.read_token().unwrap(), token);
        let mode = std::fs::metadata(dir.path().join("api-token"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
