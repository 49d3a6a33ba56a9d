//! Errors a plugin returns to the host, and the host to a plugin.

use crate::abi::FfiError;
use abi_stable::std_types::RString;

/// What kind of failure a [`PluginError`] is; crosses the ABI as a number.
///
/// ```
/// use hypernet_plugin_api::{ErrorCode, PluginError};
/// assert_eq!(PluginError::invalid("bad").code(), ErrorCode::Invalid);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// The operation failed for a reason of its own.
    Failed,
    /// The input (config, query arguments, event) was not acceptable.
    Invalid,
    /// The named thing (query, key, plugin, service) does not exist.
    NotFound,
    /// The plugin's manifest entry does not grant the capability used.
    CapabilityDenied,
    /// The plugin panicked; the host has marked it failed.
    Panicked,
    /// The plugin or service is disabled or failed and takes no calls.
    Unavailable,
}

impl ErrorCode {
    fn to_u32(self) -> u32 {
        match self {
            ErrorCode::Failed => 1,
            ErrorCode::Invalid => 2,
            ErrorCode::NotFound => 3,
            ErrorCode::CapabilityDenied => 4,
            ErrorCode::Panicked => 5,
            ErrorCode::Unavailable => 6,
        }
    }

    fn from_u32(code: u32) -> Self {
        match code {
            2 => ErrorCode::Invalid,
            3 => ErrorCode::NotFound,
            4 => ErrorCode::CapabilityDenied,
            5 => ErrorCode::Panicked,
            6 => ErrorCode::Unavailable,
            _ => ErrorCode::Failed,
        }
    }

    /// A stable lower-case name, used in JSON error bodies.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Failed => "failed",
            ErrorCode::Invalid => "invalid",
            ErrorCode::NotFound => "not_found",
            ErrorCode::CapabilityDenied => "capability_denied",
            ErrorCode::Panicked => "panicked",
            ErrorCode::Unavailable => "unavailable",
        }
    }
}

/// The error type of every plugin-facing operation: a code and a message that names the
/// thing at fault.
///
/// ```
/// use hypernet_plugin_api::PluginError;
/// let err = PluginError::not_found(format!("no counter named `{}`", "x"));
/// assert_eq!(err.to_string(), "no counter named `x`");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PluginError {
    code: ErrorCode,
    message: String,
}

impl PluginError {
    /// An error with an explicit code.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        PluginError {
            code,
            message: message.into(),
        }
    }

    /// A generic failure.
    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Failed, message)
    }

    /// Input that is not acceptable (bad config, bad query arguments).
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Invalid, message)
    }

    /// Something named does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    /// A query name the service does not answer.
    pub fn unknown_query(name: &str) -> Self {
        Self::not_found(format!("unknown query `{name}`"))
    }

    /// The kind of failure.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The message, without the code.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<serde_json::Error> for PluginError {
    fn from(err: serde_json::Error) -> Self {
        PluginError::invalid(err.to_string())
    }
}

impl From<PluginError> for FfiError {
    fn from(err: PluginError) -> Self {
        FfiError {
            code: err.code.to_u32(),
            message: RString::from(err.message),
        }
    }
}

impl From<FfiError> for PluginError {
    fn from(err: FfiError) -> Self {
        PluginError {
            code: ErrorCode::from_u32(err.code),
            message: err.message.into_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_survive_the_boundary() {
        for code in [
            ErrorCode::Failed,
            ErrorCode::Invalid,
            ErrorCode::NotFound,
            ErrorCode::CapabilityDenied,
            ErrorCode::Panicked,
            ErrorCode::Unavailable,
        ] {
            let back = PluginError::from(FfiError::from(PluginError::new(code, "m")));
            assert_eq!(back.code(), code);
            assert_eq!(back.message(), "m");
        }
    }

    #[test]
    fn unknown_numbers_read_as_failed() {
        let err = PluginError::from(FfiError {
            code: 999,
            message: "x".into(),
        });
        assert_eq!(err.code(), ErrorCode::Failed);
    }
}
