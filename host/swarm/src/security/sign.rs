//! Signatures: HMAC-SHA256 with a key's secret over the UTF-8 text
//! `type|actor|payload_hash|timestamp`, where `payload_hash` is the
//! [`payload_hash`](fn@super::canonical::payload_hash) of the signed JSON — the construction of the
//! original swarm, so its signatures verify here.
//!
//! [`verify`] answers one [`Verification`], checked in this order: the signature is
//! missing; its key is not in the keyring; the key's owner is not the signature's actor;
//! the MAC (or payload hash) does not match; the key is revoked; else valid.
//!
//! **Entity mismatch.** A key speaks only for the entity it was issued to: a signature
//! whose `actor` differs from its key's `owner` is refused even when the MAC is right, so
//! one entity's key can never sign as another (a plugin's key as the host, say). Records
//! the host makes about other actors — a plugin's command, an API call — are therefore
//! signed with actor `host`, the acting entity named inside the signed payload.

use super::canonical::payload_hash;
use super::keys::{Key, KeyId, KeyStatus, Keyring};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// A signature over a JSON payload, with everything needed to check it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    /// The signing key.
    #[schema(value_type = String)]
    pub key_id: KeyId,
    /// The entity that signs (must own the key).
    pub actor: String,
    /// What kind of record is signed (`type` in the signed text).
    #[serde(rename = "type")]
    pub kind: String,
    /// When it was signed, as the signer wrote it (milliseconds since the epoch here).
    pub timestamp: String,
    /// Lowercase hex SHA-256 of the payload's canonical JSON.
    pub payload_hash: String,
    /// Lowercase hex HMAC-SHA256 of `type|actor|payload_hash|timestamp`.
    pub signature: String,
}

/// The text a signature's MAC covers.
pub fn signed_text(kind: &str, actor: &str, payload_hash: &str, timestamp: &str) -> String {
    format!("{kind}|{actor}|{payload_hash}|{timestamp}")
}

/// Signs `payload` with `key` as `actor`.
pub fn sign(key: &Key, kind: &str, actor: &str, payload: &Value, timestamp: &str) -> Signature {
    sign_hash(key, kind, actor, &payload_hash(payload), timestamp)
}

/// Signs a payload already hashed (lowercase hex SHA-256 of its canonical JSON).
pub fn sign_hash(
    key: &Key,
    kind: &str,
    actor: &str,
    payload_hash: &str,
    timestamp: &str,
) -> Signature {
    let mac = key.mac_hex(&signed_text(kind, actor, payload_hash, timestamp));
    Signature {
        key_id: key.id().clone(),
        actor: actor.to_owned(),
        kind: kind.to_owned(),
        timestamp: timestamp.to_owned(),
        payload_hash: payload_hash.to_owned(),
        signature: mac,
    }
}

/// What checking a signature found, in the order the checks are made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Verification {
    /// No signature, or an empty one.
    MissingSignature,
    /// No key of that id in the keyring.
    KeyNotFound {
        /// The id named.
        key: KeyId,
    },
    /// The key belongs to another entity than the signature's actor.
    EntityMismatch {
        /// The key.
        key: KeyId,
        /// Whose it is.
        owner: String,
        /// Who the signature claims signed.
        actor: String,
    },
    /// The MAC does not match the payload, or the payload hash does not.
    InvalidSignature {
        /// The key.
        key: KeyId,
    },
    /// The MAC matches, but the key is revoked.
    KeyRevoked {
        /// The key.
        key: KeyId,
    },
    /// The MAC matches a key in good standing (active or rotated).
    Valid {
        /// The key.
        key: KeyId,
    },
}

impl Verification {
    /// Whether the signature holds.
    pub fn is_valid(&self) -> bool {
        matches!(self, Verification::Valid { .. })
    }
}

impl fmt::Display for Verification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verification::MissingSignature => f.write_str("no signature"),
            Verification::KeyNotFound { key } => write!(f, "signed with {key}, not in the keyring"),
            Verification::EntityMismatch { key, owner, actor } => write!(
                f,
                "signed as `{actor}` with {key}, which belongs to `{owner}`"
            ),
            Verification::InvalidSignature { key } => {
                write!(f, "the signature does not verify with {key}")
            }
            Verification::KeyRevoked { key } => write!(f, "signed with revoked key {key}"),
            Verification::Valid { key } => write!(f, "valid, signed with {key}"),
        }
    }
}

/// Checks `signature` against `payload` with the keys of `keyring`.
pub fn verify(keyring: &Keyring, signature: Option<&Signature>, payload: &Value) -> Verification {
    verify_hash(keyring, signature, &payload_hash(payload))
}

/// Checks `signature` against a payload already hashed.
pub fn verify_hash(
    keyring: &Keyring,
    signature: Option<&Signature>,
    payload_hash: &str,
) -> Verification {
    let Some(sig) = signature.filter(|s| !s.signature.is_empty()) else {
        return Verification::MissingSignature;
    };
    let key_id = sig.key_id.clone();
    let Some(key) = keyring.get(&sig.key_id) else {
        return Verification::KeyNotFound { key: key_id };
    };
    if key.record().owner != sig.actor {
        return Verification::EntityMismatch {
            key: key_id,
            owner: key.record().owner.clone(),
            actor: sig.actor.clone(),
        };
    }
    let text = signed_text(&sig.kind, &sig.actor, &sig.payload_hash, &sig.timestamp);
    if sig.payload_hash != payload_hash || !key.verify_mac_hex(&text, &sig.signature) {
        return Verification::InvalidSignature { key: key_id };
    }
    if key.record().status == KeyStatus::Revoked {
        return Verification::KeyRevoked { key: key_id };
    }
    Verification::Valid { key: key_id }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::keys::KeyRecord;
    use serde_json::json;

    /// The fixed secret of the reference vector: the bytes 0, 1, ..., 31.
    fn fixed_key() -> Key {
        let record = KeyRecord {
            id: "hk-00112233aabbccdd".parse().unwrap(),
            owner: "host".into(),
            created_ms: 0,
            status: KeyStatus::Active,
            predecessor: None,
            endorsement: None,
            rotated_ms: None,
            revoked_ms: None,
        };
        Key::for_test(record, std::array::from_fn(|i| i as u8))
    }

    fn payload() -> Value {
        json!({
            "task": "T-1",
            "amount": 5,
            "tags": ["b", "a"],
            "nested": {"z": 1, "a": true, "m": null},
            "note": "say \"hi\"\n",
        })
    }

    /// Computed independently with Python's standard library:
    ///
    /// ```text
    /// python3 -c 'import hmac,hashlib,json
    /// secret=bytes(range(32))
    /// payload={"task":"T-1","amount":5,"tags":["b","a"],"nested":{"z":1,"a":True,"m":None},"note":"say \"hi\"\n"}
    /// ph=hashlib.sha256(json.dumps(payload,sort_keys=True,separators=(",",":")).encode()).hexdigest()
    /// print(ph)
    /// print(hmac.new(secret,("budget_change|host|%s|%s"%(ph,"1700000000000")).encode(),hashlib.sha256).hexdigest())'
    /// ```
    #[test]
    fn matches_the_python_construction() {
        let sig = sign(
            &fixed_key(),
            "budget_change",
            "host",
            &payload(),
            "1700000000000",
        );
        assert_eq!(
            sig.payload_hash,
            "7a9d90e00020daea5d34c630dbf3510635d51d7427b900c42fd1679839ad8f4d"
        );
        assert_eq!(
            sig.signature,
            "dcf18accb3fa315808275000fa8c5af52561c989486d35a962fb454b2dfe570e"
        );
    }

    fn ring() -> (tempfile::TempDir, Keyring) {
        let dir = tempfile::tempdir().unwrap();
        let ring = Keyring::open_or_init(dir.path(), "host").unwrap();
        (dir, ring)
    }

    #[test]
    fn outcomes_come_in_their_order() {
        let (_dir, mut ring) = ring();
        let key = ring.active("host").unwrap();
        let good = sign(key, "approval", "host", &payload(), "1");
        assert!(verify(&ring, Some(&good), &payload()).is_valid());
        assert_eq!(
            verify(&ring, None, &payload()),
            Verification::MissingSignature
        );
        let empty = Signature {
            signature: String::new(),
            ..good.clone()
        };
        assert_eq!(
            verify(&ring, Some(&empty), &payload()),
            Verification::MissingSignature
        );
        let unknown = Signature {
            key_id: "hk-ffffffffffffffff".parse().unwrap(),
            ..good.clone()
        };
        assert!(matches!(
            verify(&ring, Some(&unknown), &payload()),
            Verification::KeyNotFound { .. }
        ));
        let other_actor = sign(key, "approval", "reputation", &payload(), "1");
        let v = verify(&ring, Some(&other_actor), &payload());
        assert!(matches!(v, Verification::EntityMismatch { .. }), "{v}");
        assert!(v.to_string().contains("`reputation`"), "{v}");
        let tampered = json!({"task": "T-2"});
        assert!(matches!(
            verify(&ring, Some(&good), &tampered),
            Verification::InvalidSignature { .. }
        ));
        let flipped = |s: &mut Signature| {
            let first = if s.signature.starts_with('0') {
                "1"
            } else {
                "0"
            };
            s.signature.replace_range(0..1, first);
        };
        let changes: [fn(&mut Signature); 3] = [
            |s| s.timestamp = "2".into(),
            |s| s.kind = "tool_call".into(),
            |s| s.signature = "zz".into(),
        ];
        for change in changes.into_iter().chain([flipped as fn(&mut Signature)]) {
            let mut bad = good.clone();
            change(&mut bad);
            assert!(
                matches!(
                    verify(&ring, Some(&bad), &payload()),
                    Verification::InvalidSignature { .. }
                ),
                "{bad:?}"
            );
        }
        let first = ring.active("host").unwrap().id().clone();
        ring.rotate("host").unwrap();
        assert!(
            verify(&ring, Some(&good), &payload()).is_valid(),
            "rotated keys verify"
        );
        ring.revoke(&first).unwrap();
        assert_eq!(
            verify(&ring, Some(&good), &payload()),
            Verification::KeyRevoked { key: first }
        );
    }

    #[test]
    fn a_bad_mac_with_a_revoked_key_is_invalid_first() {
        let (_dir, mut ring) = ring();
        let mut sig = sign(ring.active("host").unwrap(), "t", "host", &payload(), "1");
        let first = sig.key_id.clone();
        ring.rotate("host").unwrap();
        ring.revoke(&first).unwrap();
        sig.timestamp = "2".into();
        assert!(matches!(
            verify(&ring, Some(&sig), &payload()),
            Verification::InvalidSignature { .. }
        ));
    }
}
