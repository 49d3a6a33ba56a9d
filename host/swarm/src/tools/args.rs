//! Reading a call's arguments, with errors that name the field and the tool.

use super::ToolError;
use serde_json::Value;

/// The error for arguments that do not fit.
pub fn bad(tool: &str, reason: impl Into<String>) -> ToolError {
    ToolError::BadArguments {
        tool: tool.into(),
        reason: reason.into(),
    }
}

/// The error for a tool that ran and failed.
pub fn failed(tool: &str, reason: impl std::fmt::Display) -> ToolError {
    ToolError::Failed {
        tool: tool.into(),
        reason: reason.to_string(),
    }
}

/// The error for a refused call.
pub fn denied(tool: &str, reason: impl Into<String>) -> ToolError {
    ToolError::Denied {
        tool: tool.into(),
        reason: reason.into(),
    }
}

/// The string field `key`, required.
pub fn string<'a>(tool: &str, args: &'a Value, key: &str) -> Result<&'a str, ToolError> {
    match &args[key] {
        Value::String(s) => Ok(s),
        Value::Null => Err(bad(tool, format!("missing field `{key}`"))),
        other => Err(bad(tool, format!("`{key}` must be a string, not {other}"))),
    }
}

/// The string field `key`, or `default` when absent.
pub fn string_or<'a>(
    tool: &str,
    args: &'a Value,
    key: &str,
    default: &'a str,
) -> Result<&'a str, ToolError> {
    match &args[key] {
        Value::Null => Ok(default),
        _ => string(tool, args, key),
    }
}

/// The boolean field `key`, `false` when absent.
pub fn flag(tool: &str, args: &Value, key: &str) -> Result<bool, ToolError> {
    match &args[key] {
        Value::Null => Ok(false),
        Value::Bool(b) => Ok(*b),
        other => Err(bad(
            tool,
            format!("`{key}` must be true or false, not {other}"),
        )),
    }
}

/// The list of strings `key`, empty when absent.
pub fn strings(tool: &str, args: &Value, key: &str) -> Result<Vec<String>, ToolError> {
    match &args[key] {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| bad(tool, format!("`{key}` must hold only strings, not {v}")))
            })
            .collect(),
        other => Err(bad(
            tool,
            format!("`{key}` must be a list of strings, not {other}"),
        )),
    }
}

/// Runs blocking file work off the async threads.
pub async fn blocking<T: Send + 'static>(
    tool: &'static str,
    f: impl FnOnce() -> Result<T, ToolError> + Send + 'static,
) -> Result<T, ToolError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| failed(tool, e))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_are_read_or_refused_by_name() {
        let a = json!({"path": "a", "n": 3, "list": ["x", 1], "yes": true});
        assert_eq!(string("t", &a, "path").unwrap(), "a");
        assert_eq!(
            string("t", &a, "missing").unwrap_err().to_string(),
            "bad arguments for `t`: missing field `missing`"
        );
        assert_eq!(
            string("t", &a, "n").unwrap_err().to_string(),
            "bad arguments for `t`: `n` must be a string, not 3"
        );
        assert_eq!(string_or("t", &a, "other", ".").unwrap(), ".");
        assert!(flag("t", &a, "yes").unwrap());
        assert!(!flag("t", &a, "no").unwrap());
        assert!(
            strings("t", &a, "list")
                .unwrap_err()
                .to_string()
                .contains("not 1")
        );
        assert!(strings("t", &a, "none").unwrap().is_empty());
    }
}
