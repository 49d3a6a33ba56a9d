//! Why a call failed: the provider's classified answer, or the host's own reason.

use hypernet_plugin_api::provider::ProviderError;

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    /// The provider's answer, classified (after any retries).
    #[error("{0}")]
    Provider(ProviderError),
    /// No loaded provider serves the model (the router falls back to another at once).
    #[error("no loaded provider serves model `{model}`")]
    NoProvider {
        /// The model asked for.
        model: String,
    },
    /// Anything else: a plugin failure, a timeout, a stopped call.
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
