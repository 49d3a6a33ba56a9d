//! The host key answers are signed with: Ed25519, derived from the host's active audit
//! key (so it rotates with it), or made at random for a host without a keyring (tests and
//! benchmarks). Its public half is published with the swarm's status; a peer's answer is
//! accepted only when its signature verifies under the key that peer publishes.

use crate::wire::Update;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

/// The key this swarm signs its answers with.
pub struct HostKey(SigningKey);

impl std::fmt::Debug for HostKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HostKey({})", self.public_hex())
    }
}

/// What the keyring's host key MACs to give the Ed25519 seed.
pub const SEED_LABEL: &str = "hypernet federation ed25519 seed v1";

impl HostKey {
    /// The key whose seed is the 32 bytes of `seed_hex` (64 hex characters).
    pub fn from_seed_hex(seed_hex: &str) -> Result<HostKey, String> {
        let bytes = hex::decode(seed_hex).map_err(|e| format!("the key seed is not hex: {e}"))?;
        let seed: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "the key seed is not 32 bytes".to_owned())?;
        Ok(HostKey(SigningKey::from_bytes(&seed)))
    }

    /// A new random key.
    pub fn random() -> HostKey {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).expect("the system's random source works");
        HostKey(SigningKey::from_bytes(&seed))
    }

    /// The public key, hex.
    pub fn public_hex(&self) -> String {
        hex::encode(self.0.verifying_key().as_bytes())
    }

    /// Signs `update`, setting its signature and signer.
    pub fn sign(&self, update: &mut Update) {
        let signature = self.0.sign(&update.signed_bytes());
        update.signature = Some(hex::encode(signature.to_bytes()));
        update.signer = Some(self.public_hex());
    }
}

/// Checks that `update` is signed, by `expected` (the key its sender publishes) when that
/// is known, and that the signature verifies.
pub fn verify(update: &Update, expected: Option<&str>) -> Result<(), String> {
    let (Some(signature), Some(signer)) = (&update.signature, &update.signer) else {
        return Err("the answer is not signed".into());
    };
    if let Some(expected) = expected
        && expected != signer
    {
        return Err(format!(
            "signed by key {signer}, but swarm {} publishes key {expected}",
            update.from
        ));
    }
    let key: [u8; 32] = hex::decode(signer)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or("the signer is not a 32-byte hex key")?;
    let key = VerifyingKey::from_bytes(&key).map_err(|e| format!("the signer key: {e}"))?;
    let signature: [u8; 64] = hex::decode(signature)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or("the signature is not 64 hex bytes")?;
    key.verify(&update.signed_bytes(), &Signature::from_bytes(&signature))
        .map_err(|_| "the signature does not verify".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hypernet_model::tasks::{TaskId, TaskResult, TaskStatus};

    fn update() -> Update {
        Update {
            from: "cloud".into(),
            to: "desk".into(),
            task: TaskId(3),
            round: 1,
            remote_task: TaskId(40),
            status: TaskStatus::Completed,
            last: true,
            worker: Some("Trace".into()),
            result: Some(TaskResult {
                text: "the answer".into(),
                model: "sim/default".into(),
                ..TaskResult::default()
            }),
            error: None,
            event: 9,
            signature: None,
            signer: None,
        }
    }

    #[test]
    fn a_signed_answer_verifies_and_a_changed_one_does_not() {
        let key = HostKey::random();
        let mut u = update();
        assert!(verify(&u, None).unwrap_err().contains("not signed"));
        key.sign(&mut u);
        verify(&u, Some(&key.public_hex())).unwrap();
        let mut forged = u.clone();
        forged.result.as_mut().unwrap().text = "another answer".into();
        assert_eq!(
            verify(&forged, None).unwrap_err(),
            "the signature does not verify"
        );
        let mut redirected = u.clone();
        redirected.to = "elsewhere".into();
        assert!(verify(&redirected, None).is_err());
        let other = HostKey::random();
        let err = verify(&u, Some(&other.public_hex())).unwrap_err();
        assert!(err.contains("publishes key"), "{err}");
    }

    #[test]
    fn the_same_seed_gives_the_same_key() {
        let seed = "11".repeat(32);
        let a = HostKey::from_seed_hex(&seed).unwrap();
        let b = HostKey::from_seed_hex(&seed).unwrap();
        assert_eq!(a.public_hex(), b.public_hex());
        assert!(HostKey::from_seed_hex("abcd").is_err());
    }
}
