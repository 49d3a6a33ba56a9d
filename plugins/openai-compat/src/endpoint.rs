//! Where requests go and which model they name: URLs under a base URL, the routing prefix,
//! and the config checks `provider-openai` and `provider-lmstudio` share.

use hypernet_plugin_api::PluginError;
use hypernet_plugin_api::provider::ProviderError;

/// `<base_url>/chat/completions`, with at most one slash between the two.
///
/// ```
/// assert_eq!(
///     hypernet_openai_compat::chat_completions_url("http://localhost:1234/v1/"),
///     "http://localhost:1234/v1/chat/completions"
/// );
/// ```
pub fn chat_completions_url(base_url: &str) -> String {
    format!("{}/chat/completions", base_url.trim_end_matches('/'))
}

/// `<base_url>/models`.
///
/// ```
/// assert_eq!(
///     hypernet_openai_compat::models_url("https://api.openai.com/v1"),
///     "https://api.openai.com/v1/models"
/// );
/// ```
pub fn models_url(base_url: &str) -> String {
    format!("{}/models", base_url.trim_end_matches('/'))
}

/// Checks the `base_url` config key: an `http://` or `https://` URL.
///
/// ```
/// use hypernet_openai_compat::validate_base_url;
/// assert!(validate_base_url("http://localhost:1234/v1").is_ok());
/// let err = validate_base_url("localhost:1234").unwrap_err();
/// assert!(err.to_string().contains("`base_url`"));
/// ```
pub fn validate_base_url(base_url: &str) -> Result<(), PluginError> {
    let rest = base_url
        .strip_prefix("https://")
        .or_else(|| base_url.strip_prefix("http://"));
    match rest {
        Some(host) if !host.trim_matches('/').is_empty() => Ok(()),
        _ => Err(PluginError::invalid(format!(
            "`base_url` must start with http:// or https:// and name a host, got {base_url:?}"
        ))),
    }
}

/// Checks the `prefix` config key: non-empty, without `/` or spaces (requests are routed as
/// `<prefix>/<model>`).
///
/// ```
/// use hypernet_openai_compat::validate_prefix;
/// assert!(validate_prefix("openai").is_ok());
/// assert!(validate_prefix("").unwrap_err().to_string().contains("`prefix`"));
/// ```
pub fn validate_prefix(prefix: &str) -> Result<(), PluginError> {
    if prefix.is_empty() || prefix.contains('/') || prefix.contains(char::is_whitespace) {
        return Err(PluginError::invalid(format!(
            "`prefix` must be a non-empty name without `/` or spaces, got {prefix:?}"
        )));
    }
    Ok(())
}

/// The model id after `<prefix>/` in a routed model id, or a `BadRequest` naming both.
/// The remainder may be empty (`openai/`); callers decide what that means.
///
/// ```
/// use hypernet_openai_compat::endpoint::strip_prefix;
/// assert_eq!(strip_prefix("openai", "openai/gpt-4o").unwrap(), "gpt-4o");
/// assert!(strip_prefix("openai", "gpt-4o").is_err());
/// ```
pub fn strip_prefix<'a>(prefix: &str, model: &'a str) -> Result<&'a str, ProviderError> {
    model
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('/'))
        .ok_or_else(|| ProviderError::BadRequest {
            message: format!("model {model:?} is not served here: expected \"{prefix}/<model>\""),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_join_with_one_slash() {
        assert_eq!(
            chat_completions_url("https://api.openai.com/v1"),
            "https://api.openai.com/v1/chat/completions"
        );
        assert_eq!(
            models_url("http://127.0.0.1:8080/v1/"),
            "http://127.0.0.1:8080/v1/models"
        );
    }

    #[test]
    fn config_checks_name_the_field_and_value() {
        for bad in ["", "ftp://x", "localhost:1234/v1", "http://"] {
            let msg = validate_base_url(bad).unwrap_err().to_string();
            assert!(
                msg.contains("`base_url`") && msg.contains(&format!("{bad:?}")),
                "{msg}"
            );
        }
        assert!(validate_base_url("https://api.openai.com/v1").is_ok());
        for bad in ["", "a/b", "my model"] {
            let msg = validate_prefix(bad).unwrap_err().to_string();
            assert!(
                msg.contains("`prefix`") && msg.contains(&format!("{bad:?}")),
                "{msg}"
            );
        }
        assert!(validate_prefix("lmstudio").is_ok());
    }

    #[test]
    fn prefix_stripping() {
        assert_eq!(
            strip_prefix("lm", "lm/qwen/qwen3-8b").unwrap(),
            "qwen/qwen3-8b"
        );
        assert_eq!(strip_prefix("lm", "lm/").unwrap(), "");
        for bad in ["lmx/qwen", "qwen", "lm"] {
            assert!(matches!(
                strip_prefix("lm", bad),
                Err(ProviderError::BadRequest { message }) if message.contains(bad)
            ));
        }
    }
}
