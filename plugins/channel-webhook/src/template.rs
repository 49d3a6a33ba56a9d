//! Bodies from a template: a JSON value whose strings may hold placeholders, filled in the
//! parsed tree (never by pasting text into JSON), so quotes, backslashes or newlines in a
//! message cannot break or alter the document.

use hypernet_plugin_api::channel::Outbound;
use serde_json::Value;

/// The placeholders, each `{name}` in a string of the template.
pub(crate) const PLACEHOLDERS: &[&str] = &[
    "text",
    "subject",
    "to",
    "recipient",
    "sender",
    "id",
    "thread",
    "tags",
];

/// The value of a placeholder for a message: `{thread}` is empty outside a thread,
/// `{tags}` the tags joined with `,`.
fn value(name: &str, message: &Outbound) -> Option<String> {
    Some(match name {
        "text" => message.text.clone(),
        "subject" => message.subject.clone(),
        "to" => message.to.clone(),
        "recipient" => message.recipient.clone(),
        "sender" => message.sender.name.clone(),
        "id" => message.id.clone(),
        "thread" => message.thread.clone().unwrap_or_default(),
        "tags" => message.tags.join(","),
        _ => return None,
    })
}

/// Checks that every `{name}` in the template's strings is a known placeholder, naming
/// the first that is not.
pub(crate) fn check(template: &Value) -> Result<(), String> {
    let mut unknown = None;
    visit_strings(template, &mut |s| {
        for name in names(s) {
            if unknown.is_none() && !PLACEHOLDERS.contains(&name) {
                unknown = Some(name.to_owned());
            }
        }
    });
    match unknown {
        Some(name) => Err(format!(
            "`template` has an unknown placeholder `{{{name}}}`; known: {}",
            PLACEHOLDERS
                .iter()
                .map(|p| format!("{{{p}}}"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        None => Ok(()),
    }
}

/// The template with the message's values in place of the placeholders, in one pass, so
/// a value that itself reads like a placeholder stays as it is.
pub(crate) fn render(template: &Value, message: &Outbound) -> Value {
    match template {
        Value::String(s) => Value::String(fill(s, message)),
        Value::Array(items) => Value::Array(items.iter().map(|v| render(v, message)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), render(v, message)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn fill(s: &str, message: &Outbound) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after
            .find('}')
            .and_then(|close| value(&after[..close], message).map(|v| (close, v)))
        {
            Some((close, v)) => {
                out.push_str(&v);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The `{name}`s in a string (names of letters and `_` only, so JSON-like text such as
/// `{"a": 1}` in a literal is not taken for one).
fn names(s: &str) -> impl Iterator<Item = &str> {
    s.split('{').skip(1).filter_map(|part| {
        let name = &part[..part.find('}')?];
        (!name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
            .then_some(name)
    })
}

fn visit_strings(value: &Value, f: &mut impl FnMut(&str)) {
    match value {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter().for_each(|v| visit_strings(v, f)),
        Value::Object(map) => map.values().for_each(|v| visit_strings(v, f)),
        _ => {}
    }
}
