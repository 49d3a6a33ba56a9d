//! Canonical JSON: the one byte string a JSON value is hashed and signed as.
//!
//! Object keys are sorted (by code point, recursively), nothing separates tokens but `,`
//! and `:`, and numbers and strings are written as `serde_json` writes them. For values
//! whose strings are ASCII this is exactly Python's `json.dumps(v, sort_keys=True,
//! separators=(",", ":"))`, the form the original swarm signed; other characters are
//! written as UTF-8 rather than as `\u` escapes.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The canonical JSON text of `value`.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write(value, &mut out);
    out
}

/// Lowercase hex SHA-256 of the canonical JSON of `value`.
pub fn payload_hash(value: &Value) -> String {
    sha256_hex(canonical_json(value).as_bytes())
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn write(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut fields: Vec<(&String, &Value)> = map.iter().collect();
            fields.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, field)) in fields.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write(field, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_sorted_recursively_without_spaces() {
        let v = json!({"b": 1, "a": {"d": [3, {"z": null, "y": true}], "c": "x"}});
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"c":"x","d":[3,{"y":true,"z":null}]},"b":1}"#
        );
    }

    #[test]
    fn strings_and_numbers_are_written_as_serde_json_writes_them() {
        let v = json!({"s": "tab\tquote\"back\\slash\u{1}", "n": -1.5, "u": 18446744073709551615u64, "e": "é"});
        assert_eq!(
            canonical_json(&v),
            "{\"e\":\"é\",\"n\":-1.5,\"s\":\"tab\\tquote\\\"back\\\\slash\\u0001\",\"u\":18446744073709551615}"
        );
    }

    #[test]
    fn key_order_does_not_change_the_hash() {
        let a: Value = serde_json::from_str(r#"{"x": 1, "y": [1, 2]}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"y":[1,2],"x":1}"#).unwrap();
        assert_eq!(payload_hash(&a), payload_hash(&b));
        assert_ne!(
            payload_hash(&a),
            payload_hash(&json!({"x": 1, "y": [2, 1]}))
        );
    }

    #[test]
    fn hash_is_lowercase_hex_sha256() {
        // sha256 of the two bytes `{}`.
        assert_eq!(
            payload_hash(&json!({})),
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
    }
}
