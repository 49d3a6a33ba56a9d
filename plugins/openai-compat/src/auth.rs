//! The API key, read once from an environment variable and never shown.

use hypernet_plugin_api::PluginError;
use std::fmt;

/// A secret API key. Its `Debug` output is redacted and it has no `Display`, so it cannot
/// end up in a log line or an error message by accident.
///
/// ```
/// use hypernet_openai_compat::ApiKey;
/// let err = ApiKey::from_env("HYPERNET_DOC_SURELY_UNSET_KEY", "provider-x").unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "environment variable HYPERNET_DOC_SURELY_UNSET_KEY is not set; provider-x needs an API key"
/// );
/// ```
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    /// Reads the key from environment variable `var`; an unset, empty or non-UTF-8 variable
    /// is an error naming the variable and `plugin`.
    pub fn from_env(var: &str, plugin: &str) -> Result<ApiKey, PluginError> {
        match std::env::var(var) {
            Ok(key) if !key.trim().is_empty() => Ok(ApiKey(key.trim().to_owned())),
            _ => Err(PluginError::invalid(format!(
                "environment variable {var} is not set; {plugin} needs an API key"
            ))),
        }
    }

    /// The `Authorization` header: `("Authorization", "Bearer <key>")`.
    pub fn bearer_header(&self) -> (String, String) {
        ("Authorization".to_owned(), format!("Bearer {}", self.0))
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_read_and_never_printed() {
        // Cargo sets CARGO_PKG_NAME for the test process; no test mutates the environment.
        let key = ApiKey::from_env("CARGO_PKG_NAME", "p").unwrap();
        assert_eq!(
            key.bearer_header(),
            (
                "Authorization".into(),
                "Bearer hypernet-openai-compat".into()
            )
        );
        assert_eq!(format!("{key:?}"), "ApiKey(<redacted>)");
        let err = ApiKey::from_env("HYPERNET_COMPAT_TEST_UNSET_KEY", "provider-y").unwrap_err();
        assert!(err.to_string().contains("HYPERNET_COMPAT_TEST_UNSET_KEY"));
    }
}
