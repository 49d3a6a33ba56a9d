//! Why a call failed: the provider's classified answer, or the host's own reason.

use hypernet_plugin_api::provider::ProviderError;

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    /// The provider's answer, classified (after any retries).
    #[error("{0}")]
    Provider(ProviderError),
    /// Anything else: no provider for the model, a plugin failure, a timeout.
    #[error("{0}")]
    Host(String),
}

impl From<String> for CallError {
    fn from(message: String) -> Self {
        CallError::Host(message)
    }
}

impl From<ProviderError> for CallError {
    fn from(e: ProviderError) -> Self {
        CallError::Provider(e)
    }
}
