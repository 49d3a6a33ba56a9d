//! Trust inside the host: who signed what, and which text came from outside.
//!
//! - [`canonical`]: canonical JSON and the payload hash every signature covers.
//! - [`keys`]: the keyring in `<data-dir>/keys/`: key files, rotation, revocation and the
//!   trust chain between successive keys.
//! - [`mod@sign`]: HMAC-SHA256 signatures over `type|actor|payload_hash|timestamp` and their
//!   verification outcomes.
//! - [`isolation`]: outside content (messages, web pages, files, tool results) marked as
//!   data, cleaned, bounded and scanned for injected instructions.
//! - [`mod@redact`]: secrets removed from JSON before it is stored.

pub mod canonical;
pub mod isolation;
pub mod keys;
pub mod redact;
pub mod sign;

pub use canonical::{canonical_json, payload_hash};
pub use isolation::{InjectionFlag, Isolated, isolate};
pub use keys::{Key, KeyError, KeyId, KeyRecord, KeyStatus, Keyring};
pub use redact::redact;
pub use sign::{Signature, Verification, sign, verify};

/// The entity the host's own keys belong to.
pub const HOST_ENTITY: &str = "host";
