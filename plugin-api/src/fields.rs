//! Checking the field names of a query's JSON arguments.

use crate::PluginError;
use serde_json::Value;

/// Refuses query arguments that are not an object (`null` counts as `{}`) or that name a
/// field outside `known`, naming the query, the field and the fields it takes: a misspelt
/// argument (`qualty`) is reported instead of silently ignored.
///
/// Call it first in a query that reads its arguments by hand; a query that deserializes
/// them into a struct gets the same from `#[serde(deny_unknown_fields)]`.
///
/// ```
/// use hypernet_plugin_api::check_fields;
/// use serde_json::json;
///
/// let known = ["worker", "tokens", "quality"];
/// assert!(check_fields("record_ai", &json!({"worker": "Trace", "tokens": 5}), &known).is_ok());
/// let err = check_fields("record_ai", &json!({"qualty": 1.5}), &known).unwrap_err();
/// assert_eq!(
///     err.message(),
///     "`record_ai`: unknown field `qualty`, expected one of `worker`, `tokens`, `quality`"
/// );
/// ```
pub fn check_fields(query: &str, args: &Value, known: &[&str]) -> Result<(), PluginError> {
    let object = match args {
        Value::Null => return Ok(()),
        Value::Object(object) => object,
        other => {
            return Err(PluginError::invalid(format!(
                "`{query}`: the arguments must be a JSON object, got {other}"
            )));
        }
    };
    match object.keys().find(|k| !known.contains(&k.as_str())) {
        None => Ok(()),
        Some(field) if known.is_empty() => Err(PluginError::invalid(format!(
            "`{query}`: unknown field `{field}`, it takes no arguments"
        ))),
        Some(field) => {
            let expected: Vec<_> = known.iter().map(|k| format!("`{k}`")).collect();
            Err(PluginError::invalid(format!(
                "`{query}`: unknown field `{field}`, expected one of {}",
                expected.join(", ")
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn null_and_known_fields_pass() {
        assert!(check_fields("q", &Value::Null, &["a"]).is_ok());
        assert!(check_fields("q", &json!({}), &[]).is_ok());
        assert!(check_fields("q", &json!({"a": 1}), &["a", "b"]).is_ok());
    }

    #[test]
    fn unknown_fields_and_non_objects_are_named() {
        let err = check_fields("limits", &json!({"x": 1}), &[]).unwrap_err();
        assert_eq!(
            err.message(),
            "`limits`: unknown field `x`, it takes no arguments"
        );
        let err = check_fields("q", &json!([1]), &["a"]).unwrap_err();
        assert_eq!(
            err.message(),
            "`q`: the arguments must be a JSON object, got [1]"
        );
        assert_eq!(err.code(), crate::ErrorCode::Invalid);
    }
}
