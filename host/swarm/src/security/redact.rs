//! Secrets taken out of JSON before it is stored or shown: the value of every field whose
//! name contains `key`, `token`, `secret`, `password` or `authorization` (any case), and any
//! string that is a bearer or basic credential, become `"[redacted]"`.
//!
//! The rule goes by field names, so detail recorded on purpose must not be named like a
//! secret (a key's id is recorded as `id`, not `key_id`).

use serde_json::Value;

/// What a redacted value becomes.
pub const REDACTED: &str = "[redacted]";

/// Parts of a field name that mark its value as a secret.
const SECRET_NAMES: [&str; 5] = ["key", "token", "secret", "password", "authorization"];

/// Prefixes of strings that are credentials whatever their field is called.
const CREDENTIAL_PREFIXES: [&str; 2] = ["bearer ", "basic "];

/// Replaces every secret inside `value` with `"[redacted]"`, at any depth.
pub fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (name, field) in map.iter_mut() {
                if is_secret_name(name) {
                    *field = Value::String(REDACTED.to_owned());
                } else {
                    redact(field);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        Value::String(text) if is_credential(text) => *text = REDACTED.to_owned(),
        _ => {}
    }
}

/// Whether a field called `name` holds a secret.
pub fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_NAMES.iter().any(|part| name.contains(part))
}

fn is_credential(text: &str) -> bool {
    let start: String = text
        .chars()
        .take(8)
        .collect::<String>()
        .to_ascii_lowercase();
    CREDENTIAL_PREFIXES.iter().any(|p| start.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_fields_are_redacted_at_any_depth() {
        let mut v = json!({
            "api_key": "sk-123",
            "headers": {"Authorization": "x", "accept": "json"},
            "calls": [{"access_token": {"nested": 1}}, {"PASSWORD": 5}],
            "client_secret": null,
            "model": "openai/gpt-4o-mini",
        });
        redact(&mut v);
        assert_eq!(
            v,
            json!({
                "api_key": REDACTED,
                "headers": {"Authorization": REDACTED, "accept": "json"},
                "calls": [{"access_token": REDACTED}, {"PASSWORD": REDACTED}],
                "client_secret": REDACTED,
                "model": "openai/gpt-4o-mini",
            })
        );
    }

    #[test]
    fn credentials_are_redacted_whatever_their_field() {
        let mut v = json!({"header": "Bearer abc", "list": ["basic dXNlcg==", "bearing"]});
        redact(&mut v);
        assert_eq!(
            v,
            json!({"header": REDACTED, "list": [REDACTED, "bearing"]})
        );
    }

    #[test]
    fn other_values_are_left_alone() {
        let original = json!({"id": "hk-0123456789abcdef", "daily_limit_usd": 5.0, "n": [1, 2]});
        let mut v = original.clone();
        redact(&mut v);
        assert_eq!(v, original);
    }
}
