//! The keyring: the host's signing keys, kept in one directory (`<data-dir>/keys/`).
//!
//! Each key is 32 random bytes with an id `hk-` + 16 lowercase hex characters. Its secret
//! lives alone in `<id>.key` (hex, mode 0600, refused on load when anyone but its owner
//! may read it); what is known about every key — id, owner entity, creation time, status,
//! predecessor, endorsement — is in `keyring.json`, rewritten atomically (a temporary file,
//! then a rename) on every change.
//!
//! Statuses: `active` (signs; one per owner), `rotated` (replaced, still verifies what it
//! signed), `revoked` (what it signed no longer verifies). Rotating makes a new active key
//! whose record carries an endorsement — an HMAC by its predecessor over
//! `id|created_ms|owner` — so the keys of one owner form a chain that
//! [`Keyring::verify_chain`] walks from the first key.
//!
//! Secrets never leave this module but as MACs: no `Debug`, `Display` or serialization of a
//! key shows more than its id.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use subtle::ConstantTimeEq;

/// The file listing every key's metadata.
pub const KEYRING_FILE: &str = "keyring.json";

/// Bytes of a key's secret.
const SECRET_BYTES: usize = 32;

/// Version of the `keyring.json` layout.
const FORMAT_VERSION: u32 = 1;

/// A keyring failure, naming the file, key or owner at fault.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A key file may be read by others than its owner.
    #[error(
        "key file {path} has mode {mode:04o}, but only its owner may read it (run `chmod 600 {path}`)"
    )]
    LooseMode {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A key file does not hold a secret.
    #[error("key file {path}: {reason}")]
    BadSecret {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// `keyring.json` does not decode or contradicts itself.
    #[error("{path}: {reason}")]
    BadKeyring {
        /// The keyring file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Not a key id.
    #[error("`{0}` is not a key id (`hk-` and 16 lowercase hex characters)")]
    BadId(String),
    /// No key has this id.
    #[error("no key {0} in the keyring")]
    NotFound(KeyId),
    /// The key is revoked already.
    #[error("key {0} is revoked already")]
    AlreadyRevoked(KeyId),
    /// The active key cannot be revoked: nothing would sign after it.
    #[error("key {0} is the active key of `{1}`: rotate first, then revoke it")]
    RevokeActive(KeyId, String),
    /// The owner has no active key to rotate or sign with.
    #[error("`{0}` has no active key")]
    NoActiveKey(String),
    /// The owner has an active key already; rotate it instead.
    #[error("`{0}` has an active key already ({1}); rotate it instead")]
    HasActiveKey(String, KeyId),
    /// The system's random source failed.
    #[error("reading random bytes for a key: {0}")]
    Random(String),
}

/// A key id: `hk-` followed by 16 lowercase hex characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KeyId(String);

impl KeyId {
    fn random() -> Result<KeyId, KeyError> {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(KeyId(format!("hk-{}", hex::encode(bytes))))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for KeyId {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<KeyId, KeyError> {
        let valid = s.strip_prefix("hk-").is_some_and(|hex| {
            hex.len() == 16 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        });
        if valid {
            Ok(KeyId(s.to_owned()))
        } else {
            Err(KeyError::BadId(s.to_owned()))
        }
    }
}

impl TryFrom<String> for KeyId {
    type Error = KeyError;

    fn try_from(s: String) -> Result<KeyId, KeyError> {
        s.parse()
    }
}

impl From<KeyId> for String {
    fn from(id: KeyId) -> String {
        id.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a key stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeyStatus {
    /// Signs new records (one per owner).
    Active,
    /// Replaced by a newer key; what it signed still verifies.
    Rotated,
    /// Withdrawn; what it signed no longer verifies.
    Revoked,
}

/// What the keyring knows about one key: everything but its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyRecord {
    /// The key's id.
    #[schema(value_type = String, example = "hk-0123456789abcdef")]
    pub id: KeyId,
    /// The entity the key speaks for (`host` for the host's own keys).
    pub owner: String,
    /// When it was made, in ms since the epoch.
    pub created_ms: u64,
    /// Active, rotated or revoked.
    pub status: KeyStatus,
    /// The key it replaced, if any.
    #[schema(value_type = Option<String>)]
    pub predecessor: Option<KeyId>,
    /// The predecessor's HMAC (hex) over `id|created_ms|owner`.
    pub endorsement: Option<String>,
    /// When it was rotated out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_ms: Option<u64>,
    /// When it was revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_ms: Option<u64>,
}

impl KeyRecord {
    /// The text the predecessor's endorsement covers.
    fn endorsed_text(&self) -> String {
        format!("{}|{}|{}", self.id, self.created_ms, self.owner)
    }
}

/// A key's secret bytes; deliberately without `Debug`.
struct Secret([u8; SECRET_BYTES]);

/// One key: its record and its secret. `Debug` shows only the id.
pub struct Key {
    record: KeyRecord,
    secret: Secret,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.record.id)
            .finish_non_exhaustive()
    }
}

impl Key {
    /// The key's id.
    pub fn id(&self) -> &KeyId {
        &self.record.id
    }

    /// Everything known about it but the secret.
    pub fn record(&self) -> &KeyRecord {
        &self.record
    }

    /// HMAC-SHA256 of `message` with this key's secret, as lowercase hex.
    pub fn mac_hex(&self, message: &str) -> String {
        hex::encode(self.mac(message.as_bytes()))
    }

    /// Whether `mac_hex` is this key's HMAC of `message` (compared in constant time).
    pub fn verify_mac_hex(&self, message: &str, mac_hex: &str) -> bool {
        match hex::decode(mac_hex) {
            Ok(given) => self.mac(message.as_bytes()).ct_eq(given.as_slice()).into(),
            Err(_) => false,
        }
    }

    fn mac(&self, message: &[u8]) -> [u8; 32] {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.secret.0).expect("HMAC takes keys of any length");
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    #[cfg(test)]
    pub(crate) fn for_test(record: KeyRecord, secret: [u8; SECRET_BYTES]) -> Key {
        Key {
            record,
            secret: Secret(secret),
        }
    }
}

/// The first link of a key chain that does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BrokenLink {
    /// The key whose link is broken.
    #[schema(value_type = String)]
    pub key: KeyId,
    /// Why.
    pub reason: String,
}

/// `keyring.json`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyringFile {
    version: u32,
    keys: Vec<KeyRecord>,
}

/// The keys of one directory, in the order they were made.
pub struct Keyring {
    dir: PathBuf,
    keys: Vec<Key>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&KeyId> = self.keys.iter().map(Key::id).collect();
        f.debug_struct("Keyring")
            .field("dir", &self.dir)
            .field("keys", &ids)
            .finish()
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_owned(),
        source,
    }
}

impl Keyring {
    /// Opens the keyring in `dir`: empty when the directory or its `keyring.json` does not
    /// exist yet (nothing is written until a key is made).
    pub fn open(dir: &Path) -> Result<Keyring, KeyError> {
        let path = dir.join(KEYRING_FILE);
        let records = match std::fs::read(&path) {
            Ok(bytes) => {
                let bad = |reason: String| KeyError::BadKeyring {
                    path: path.clone(),
                    reason,
                };
                let file: KeyringFile =
                    serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
                if file.version != FORMAT_VERSION {
                    return Err(bad(format!(
                        "version {} is not the known version {FORMAT_VERSION}",
                        file.version
                    )));
                }
                check_consistent(&file.keys).map_err(bad)?;
                file.keys
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io(&path)(e)),
        };
        let keys = records
            .into_iter()
            .map(|record| {
                let secret = read_secret(&dir.join(format!("{}.key", record.id)))?;
                Ok(Key { record, secret })
            })
            .collect::<Result<_, KeyError>>()?;
        Ok(Keyring {
            dir: dir.to_owned(),
            keys,
        })
    }

    /// Opens the keyring in `dir` and makes the first key of `owner` when it has no active
    /// one.
    pub fn open_or_init(dir: &Path, owner: &str) -> Result<Keyring, KeyError> {
        let mut keyring = Keyring::open(dir)?;
        keyring.ensure_active(owner)?;
        Ok(keyring)
    }

    /// Makes a first key for `owner` unless it has an active one; returns the new key's id.
    pub fn ensure_active(&mut self, owner: &str) -> Result<Option<KeyId>, KeyError> {
        if self.active(owner).is_some() {
            return Ok(None);
        }
        Ok(Some(self.generate(owner)?.id().clone()))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every key's record, oldest first.
    pub fn list(&self) -> Vec<KeyRecord> {
        self.keys.iter().map(|k| k.record.clone()).collect()
    }

    /// The key `id`, whatever its status.
    pub fn get(&self, id: &KeyId) -> Option<&Key> {
        self.keys.iter().find(|k| &k.record.id == id)
    }

    /// The active key of `owner`.
    pub fn active(&self, owner: &str) -> Option<&Key> {
        self.keys
            .iter()
            .find(|k| k.record.owner == owner && k.record.status == KeyStatus::Active)
    }

    /// Makes the first, unendorsed key of `owner`, refused when it has an active key.
    pub fn generate(&mut self, owner: &str) -> Result<&Key, KeyError> {
        if let Some(active) = self.active(owner) {
            return Err(KeyError::HasActiveKey(
                owner.to_owned(),
                active.id().clone(),
            ));
        }
        let before = self.list();
        let key = self.make_key(owner, None)?;
        self.keys.push(key);
        self.save_or_revert(before)?;
        Ok(self.keys.last().expect("just pushed"))
    }

    /// Replaces the active key of `owner` with a new one endorsed by it; the old key becomes
    /// `rotated` and still verifies. Returns the new key.
    pub fn rotate(&mut self, owner: &str) -> Result<&Key, KeyError> {
        let old = self
            .keys
            .iter()
            .position(|k| k.record.owner == owner && k.record.status == KeyStatus::Active)
            .ok_or_else(|| KeyError::NoActiveKey(owner.to_owned()))?;
        let before = self.list();
        let mut key = self.make_key(owner, Some(self.keys[old].id().clone()))?;
        key.record.endorsement = Some(self.keys[old].mac_hex(&key.record.endorsed_text()));
        let now = key.record.created_ms;
        let retired = &mut self.keys[old].record;
        retired.status = KeyStatus::Rotated;
        retired.rotated_ms = Some(now);
        self.keys.push(key);
        self.save_or_revert(before)?;
        Ok(self.keys.last().expect("just pushed"))
    }

    /// Revokes a key that is not active: what it signed no longer verifies.
    pub fn revoke(&mut self, id: &KeyId) -> Result<&KeyRecord, KeyError> {
        let index = self
            .keys
            .iter()
            .position(|k| &k.record.id == id)
            .ok_or_else(|| KeyError::NotFound(id.clone()))?;
        let record = &self.keys[index].record;
        match record.status {
            KeyStatus::Revoked => return Err(KeyError::AlreadyRevoked(id.clone())),
            KeyStatus::Active => {
                return Err(KeyError::RevokeActive(id.clone(), record.owner.clone()));
            }
            KeyStatus::Rotated => {}
        }
        let before = self.list();
        let record = &mut self.keys[index].record;
        record.status = KeyStatus::Revoked;
        record.revoked_ms = Some(hypernet_model::clock::now_ms());
        self.save_or_revert(before)?;
        Ok(&self.keys[index].record)
    }

    /// Walks every owner's keys from the first: each first key has no predecessor, each
    /// later one names the key made before it for the same owner and carries that key's
    /// valid endorsement, and only the newest may be active. Answers how many keys were
    /// checked, or the first broken link.
    pub fn verify_chain(&self) -> Result<usize, BrokenLink> {
        let mut newest: HashMap<&str, &Key> = HashMap::new();
        for key in &self.keys {
            let record = &key.record;
            let broken = |reason: String| BrokenLink {
                key: record.id.clone(),
                reason,
            };
            let owner = record.owner.as_str();
            match (&record.predecessor, newest.get(owner)) {
                (None, None) => {}
                (None, Some(before)) => {
                    return Err(broken(format!(
                        "names no predecessor, but {} came before it for `{owner}`",
                        before.id()
                    )));
                }
                (Some(named), None) => {
                    return Err(broken(format!(
                        "names predecessor {named}, which is no earlier key of `{owner}`"
                    )));
                }
                (Some(named), Some(before)) if named != before.id() => {
                    return Err(broken(format!(
                        "names predecessor {named}, but the key before it for `{owner}` is {}",
                        before.id()
                    )));
                }
                (Some(_), Some(before)) => {
                    let Some(endorsement) = &record.endorsement else {
                        return Err(broken(format!("carries no endorsement by {}", before.id())));
                    };
                    if !before.verify_mac_hex(&record.endorsed_text(), endorsement) {
                        return Err(broken(format!(
                            "its endorsement does not verify with {}",
                            before.id()
                        )));
                    }
                    if before.record.status == KeyStatus::Active {
                        return Err(BrokenLink {
                            key: before.id().clone(),
                            reason: format!("is still active though {} replaced it", record.id),
                        });
                    }
                }
            }
            newest.insert(owner, key);
        }
        Ok(self.keys.len())
    }

    fn make_key(&self, owner: &str, predecessor: Option<KeyId>) -> Result<Key, KeyError> {
        let mut secret = [0u8; SECRET_BYTES];
        getrandom::fill(&mut secret).map_err(|e| KeyError::Random(e.to_string()))?;
        let id = loop {
            let id = KeyId::random()?;
            if self.get(&id).is_none() {
                break id;
            }
        };
        create_private_dir(&self.dir)?;
        write_secret(&self.dir.join(format!("{id}.key")), &secret)?;
        tracing::info!(key = %id, owner, "key made");
        Ok(Key {
            record: KeyRecord {
                id,
                owner: owner.to_owned(),
                created_ms: hypernet_model::clock::now_ms(),
                status: KeyStatus::Active,
                predecessor,
                endorsement: None,
                rotated_ms: None,
                revoked_ms: None,
            },
            secret: Secret(secret),
        })
    }

    /// Writes `keyring.json`; on failure puts the records back as they were (`before`; keys
    /// made since are dropped, their files left behind unused).
    fn save_or_revert(&mut self, before: Vec<KeyRecord>) -> Result<(), KeyError> {
        let result = self.save();
        if result.is_err() {
            self.keys.truncate(before.len());
            for (key, record) in self.keys.iter_mut().zip(before) {
                key.record = record;
            }
        }
        result
    }

    fn save(&self) -> Result<(), KeyError> {
        create_private_dir(&self.dir)?;
        let file = KeyringFile {
            version: FORMAT_VERSION,
            keys: self.list(),
        };
        let bytes = serde_json::to_vec_pretty(&file).expect("key records serialize");
        let path = self.dir.join(KEYRING_FILE);
        let temp = self.dir.join(format!("{KEYRING_FILE}.tmp"));
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temp)
            .map_err(io(&temp))?;
        out.write_all(&bytes)
            .and_then(|()| out.sync_all())
            .map_err(io(&temp))?;
        std::fs::rename(&temp, &path).map_err(io(&path))?;
        // The rename is durable once the directory is.
        std::fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io(&self.dir))
    }
}

/// Refuses records with a repeated id or two active keys of one owner.
fn check_consistent(records: &[KeyRecord]) -> Result<(), String> {
    let mut ids = std::collections::HashSet::new();
    let mut active: HashMap<&str, &KeyId> = HashMap::new();
    for record in records {
        if !ids.insert(&record.id) {
            return Err(format!("key {} is listed twice", record.id));
        }
        if record.status == KeyStatus::Active
            && let Some(other) = active.insert(&record.owner, &record.id)
        {
            return Err(format!(
                "`{}` has two active keys, {other} and {}",
                record.owner, record.id
            ));
        }
    }
    Ok(())
}

fn create_private_dir(dir: &Path) -> Result<(), KeyError> {
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io(dir))
}

fn write_secret(path: &Path, secret: &[u8; SECRET_BYTES]) -> Result<(), KeyError> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))?;
    file.write_all(format!("{}\n", hex::encode(secret)).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io(path))
}

fn read_secret(path: &Path) -> Result<Secret, KeyError> {
    let meta = std::fs::metadata(path).map_err(io(path))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::LooseMode {
            path: path.to_owned(),
            mode,
        });
    }
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let bad = |reason: &str| KeyError::BadSecret {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    let bytes = hex::decode(text.trim()).map_err(|_| bad("not hex"))?;
    let secret: [u8; SECRET_BYTES] = bytes
        .try_into()
        .map_err(|_| bad("not 32 bytes (64 hex characters)"))?;
    Ok(Secret(secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> (tempfile::TempDir, Keyring) {
        let dir = tempfile::tempdir().unwrap();
        let ring = Keyring::open_or_init(&dir.path().join("keys"), "host").unwrap();
        (dir, ring)
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn the_first_key_is_made_once_with_a_private_file() {
        let (dir, ring) = ring();
        let keys = dir.path().join("keys");
        let key = ring.active("host").unwrap();
        let id = key.id().as_str();
        assert!(id.starts_with("hk-") && id.len() == 19, "{id}");
        assert!(id.parse::<KeyId>().is_ok());
        assert_eq!(mode(&keys.join(format!("{id}.key"))), 0o600);
        assert_eq!(mode(&keys), 0o700);
        let secret = std::fs::read_to_string(keys.join(format!("{id}.key"))).unwrap();
        assert_eq!(secret.trim().len(), 64);
        let again = Keyring::open_or_init(&keys, "host").unwrap();
        assert_eq!(again.list(), ring.list());
        assert_eq!(again.list().len(), 1);
        let key = again.active("host").unwrap();
        assert_eq!(key.mac_hex("x"), ring.active("host").unwrap().mac_hex("x"));
    }

    #[test]
    fn debug_shows_only_ids() {
        let (_dir, ring) = ring();
        let key = ring.active("host").unwrap();
        let secret = std::fs::read_to_string(ring.dir().join(format!("{}.key", key.id())))
            .unwrap()
            .trim()
            .to_owned();
        for shown in [format!("{key:?}"), format!("{ring:?}")] {
            assert!(shown.contains(key.id().as_str()), "{shown}");
            assert!(!shown.contains(&secret), "{shown}");
        }
        let listed = serde_json::to_string(&ring.list()).unwrap();
        assert!(!listed.contains(&secret));
    }

    #[test]
    fn ids_are_checked() {
        for bad in ["hk-0123", "hk-0123456789ABCDEF", "xx-0123456789abcdef", ""] {
            assert!(bad.parse::<KeyId>().is_err(), "{bad}");
        }
        let err = serde_json::from_str::<KeyId>("\"hk-zz\"").unwrap_err();
        assert!(err.to_string().contains("hk-zz"), "{err}");
    }

    #[test]
    fn loose_modes_are_refused_naming_the_file() {
        let (_dir, ring) = ring();
        let file = ring
            .dir()
            .join(format!("{}.key", ring.active("host").unwrap().id()));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Keyring::open(ring.dir()).unwrap_err();
        assert!(
            matches!(err, KeyError::LooseMode { mode: 0o644, .. }),
            "{err}"
        );
        assert!(
            err.to_string().contains(&file.display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn broken_files_are_named() {
        let (_dir, ring) = ring();
        let id = ring.active("host").unwrap().id().clone();
        let file = ring.dir().join(format!("{id}.key"));
        std::fs::write(&file, "abcd\n").unwrap();
        let err = Keyring::open(ring.dir()).unwrap_err();
        assert!(err.to_string().contains("32 bytes"), "{err}");
        std::fs::remove_file(&file).unwrap();
        let err = Keyring::open(ring.dir()).unwrap_err();
        assert!(err.to_string().contains(id.as_str()), "{err}");
        std::fs::write(
            ring.dir().join(KEYRING_FILE),
            "{\"version\":1,\"keys\":[],\"x\":1}",
        )
        .unwrap();
        let err = Keyring::open(ring.dir()).unwrap_err();
        assert!(err.to_string().contains(KEYRING_FILE), "{err}");
    }

    #[test]
    fn rotation_endorses_the_new_key_and_keeps_the_old_one() {
        let (_dir, mut ring) = ring();
        let first = ring.active("host").unwrap().id().clone();
        let second = ring.rotate("host").unwrap().id().clone();
        assert_ne!(first, second);
        let third = ring.rotate("host").unwrap().record().clone();
        assert_eq!(ring.active("host").unwrap().id(), &third.id);
        assert_eq!(
            ring.get(&first).unwrap().record().status,
            KeyStatus::Rotated
        );
        assert_eq!(third.predecessor.as_ref(), Some(&second));
        assert!(third.endorsement.is_some());
        assert_eq!(ring.verify_chain(), Ok(3));
        let reopened = Keyring::open(ring.dir()).unwrap();
        assert_eq!(reopened.list(), ring.list());
        assert_eq!(reopened.verify_chain(), Ok(3));
    }

    #[test]
    fn revoking_refuses_the_active_key_and_twice() {
        let (_dir, mut ring) = ring();
        let first = ring.active("host").unwrap().id().clone();
        assert!(matches!(
            ring.revoke(&first),
            Err(KeyError::RevokeActive(..))
        ));
        ring.rotate("host").unwrap();
        assert_eq!(ring.revoke(&first).unwrap().status, KeyStatus::Revoked);
        assert!(matches!(
            ring.revoke(&first),
            Err(KeyError::AlreadyRevoked(_))
        ));
        let unknown: KeyId = "hk-0000000000000000".parse().unwrap();
        assert!(matches!(ring.revoke(&unknown), Err(KeyError::NotFound(_))));
        let reopened = Keyring::open(ring.dir()).unwrap();
        assert_eq!(
            reopened.get(&first).unwrap().record().status,
            KeyStatus::Revoked
        );
    }

    #[test]
    fn generating_beside_an_active_key_is_refused() {
        let (_dir, mut ring) = ring();
        assert!(matches!(
            ring.generate("host"),
            Err(KeyError::HasActiveKey(..))
        ));
        ring.generate("reputation").unwrap();
        assert_eq!(ring.list().len(), 2);
        assert_eq!(ring.verify_chain(), Ok(2));
    }

    /// Rewrites `keyring.json` as `ring` has it, with `change` applied to the records.
    fn edit(ring: &Keyring, change: impl FnOnce(&mut Vec<KeyRecord>)) -> Keyring {
        let path = ring.dir().join(KEYRING_FILE);
        let mut file = KeyringFile {
            version: FORMAT_VERSION,
            keys: ring.list(),
        };
        change(&mut file.keys);
        std::fs::write(&path, serde_json::to_vec(&file).unwrap()).unwrap();
        Keyring::open(ring.dir()).unwrap()
    }

    #[test]
    fn the_chain_names_the_first_broken_link() {
        let (_dir, mut ring) = ring();
        let ids: Vec<KeyId> = (0..3)
            .map(|_| ring.rotate("host").unwrap().id().clone())
            .collect();
        let forged = edit(&ring, |keys| keys[2].created_ms += 1);
        let err = forged.verify_chain().unwrap_err();
        assert_eq!(err.key, ids[1]);
        assert!(err.reason.contains("does not verify"), "{}", err.reason);

        let unendorsed = edit(&ring, |keys| keys[3].endorsement = None);
        assert_eq!(unendorsed.verify_chain().unwrap_err().key, ids[2]);

        let skipped = edit(&ring, |keys| {
            keys[3].predecessor = Some(keys[1].id.clone());
        });
        let err = skipped.verify_chain().unwrap_err();
        assert_eq!(err.key, ids[2]);
        assert!(err.reason.contains("the key before it"), "{}", err.reason);

        let second_root = edit(&ring, |keys| keys[1].predecessor = None);
        assert_eq!(second_root.verify_chain().unwrap_err().key, ids[0]);
    }
}
