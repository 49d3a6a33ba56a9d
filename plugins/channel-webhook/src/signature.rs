//! The signature a receiver checks: HMAC-SHA256, keyed with the shared secret, over
//! `<timestamp>.<body>`, sent as `X-Hypernet-Signature: sha256=<lower-case hex>` beside
//! `X-Hypernet-Timestamp: <Unix seconds>`. Signing the timestamp with the body lets a
//! receiver refuse old requests replayed by someone who saw them.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header carrying the message id, the same on every retry of a message.
pub(crate) const DELIVERY: &str = "x-hypernet-delivery";
/// The header carrying the time of signing.
pub(crate) const TIMESTAMP: &str = "x-hypernet-timestamp";
/// The header carrying the signature.
pub(crate) const SIGNATURE: &str = "x-hypernet-signature";

/// `sha256=<hex>` for `body` sent at `timestamp`.
pub(crate) fn sign(secret: &[u8], timestamp: u64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The timestamp and signature headers.
pub(crate) fn headers(secret: &[u8], timestamp: u64, body: &str) -> [(String, String); 2] {
    [
        (TIMESTAMP.to_owned(), timestamp.to_string()),
        (SIGNATURE.to_owned(), sign(secret, timestamp, body)),
    ]
}
