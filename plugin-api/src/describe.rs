//! What a subsystem says it offers: the queries it answers (with the shapes of their
//! arguments and answers) and the events it publishes. Return it from
//! [`Subsystem::describe`](crate::Subsystem::describe); the host asks for it with the
//! [`QUERY`] query, shows it in `hypernet plugins describe NAME` and `GET
//! /api/plugins/{name}/describe` (beside the tools of `tools.list`), and a query the
//! subsystem does not answer is refused with the names of those it does.
//!
//! ```
//! use hypernet_plugin_api::describe::{Description, EventDecl, QueryDecl};
//! use serde_json::json;
//!
//! let d = Description::default()
//!     .query(QueryDecl::new("greet", "Greets someone.")
//!         .args(json!({"name": "string"}))
//!         .answer(json!({"greeting": "string"})))
//!     .event(EventDecl::new("hello.greeted", "Someone was greeted.").payload(json!({"name": "string"})));
//! assert_eq!(d.query_names(), ["greet"]);
//! ```

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The query the host sends to ask a subsystem for its [`Description`] (answered by the
/// plugin's runtime from [`Subsystem::describe`](crate::Subsystem::describe); the
/// subsystem's own `query` never sees it).
pub const QUERY: &str = "plugin.describe";

/// What a subsystem offers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Description {
    /// The queries it answers.
    #[serde(default)]
    pub queries: Vec<QueryDecl>,
    /// The events it publishes.
    #[serde(default)]
    pub events: Vec<EventDecl>,
}

impl Description {
    /// Adds a query.
    pub fn query(mut self, query: QueryDecl) -> Self {
        self.queries.push(query);
        self
    }

    /// Adds an event.
    pub fn event(mut self, event: EventDecl) -> Self {
        self.events.push(event);
        self
    }

    /// The names of its queries, in order.
    pub fn query_names(&self) -> Vec<&str> {
        self.queries.iter().map(|q| q.name.as_str()).collect()
    }
}

/// One query: its name, what it does, and the shapes of its arguments and answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueryDecl {
    /// The name it is called by.
    pub name: String,
    /// What it does, in a sentence.
    pub description: String,
    /// Its arguments: a JSON Schema, or an example object whose values name the types
    /// (`{"domain": "string", "limit": "integer, optional"}`); `null` for none.
    #[serde(default)]
    pub args: Value,
    /// Its answer, in the same form.
    #[serde(default)]
    pub answer: Value,
}

impl QueryDecl {
    /// A query without arguments whose answer is not described.
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> QueryDecl {
        QueryDecl {
            name: name.into(),
            description: description.into(),
            ..QueryDecl::default()
        }
    }

    /// Its arguments' shape.
    pub fn args(mut self, args: Value) -> QueryDecl {
        self.args = args;
        self
    }

    /// Its answer's shape.
    pub fn answer(mut self, answer: Value) -> QueryDecl {
        self.answer = answer;
        self
    }
}

/// One event kind it publishes, and the shape of its payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventDecl {
    /// The dotted kind (`reputation.recorded`).
    pub kind: String,
    /// When it is published, in a sentence.
    pub description: String,
    /// Its payload, in the form of [`QueryDecl::args`].
    #[serde(default)]
    pub payload: Value,
}

impl EventDecl {
    /// An event whose payload is not described.
    pub fn new(kind: impl Into<String>, description: impl Into<String>) -> EventDecl {
        EventDecl {
            kind: kind.into(),
            description: description.into(),
            ..EventDecl::default()
        }
    }

    /// Its payload's shape.
    pub fn payload(mut self, payload: Value) -> EventDecl {
        self.payload = payload;
        self
    }
}

/// `error` with the queries `description` declares named, when it is the refusal of an
/// unknown query (and some are declared); any other error as it is.
pub fn name_known_queries(
    error: crate::PluginError,
    description: &Description,
) -> crate::PluginError {
    let unknown =
        error.code() == crate::ErrorCode::NotFound && error.message().starts_with("unknown query");
    if !unknown || description.queries.is_empty() {
        return error;
    }
    crate::PluginError::not_found(format!(
        "{}; it answers: {}",
        error.message(),
        description.query_names().join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PluginError;

    #[test]
    fn an_unknown_query_is_refused_with_the_known_ones() {
        let d = Description::default()
            .query(QueryDecl::new("count", "Counts."))
            .query(QueryDecl::new("reset", "Resets."));
        let e = name_known_queries(PluginError::unknown_query("cuont"), &d);
        assert_eq!(e.code(), crate::ErrorCode::NotFound);
        assert_eq!(
            e.message(),
            "unknown query `cuont`; it answers: count, reset"
        );
        // Other errors, or nothing declared: unchanged.
        let other = name_known_queries(PluginError::invalid("bad `limit`"), &d);
        assert_eq!(other.message(), "bad `limit`");
        let bare = name_known_queries(PluginError::unknown_query("x"), &Description::default());
        assert_eq!(bare.message(), "unknown query `x`");
    }

    #[test]
    fn a_description_reads_back_with_every_field_optional_but_the_names() {
        let d: Description = serde_json::from_value(serde_json::json!({
            "queries": [{"name": "count", "description": "Counts."}]
        }))
        .unwrap();
        assert_eq!(d.queries[0].args, Value::Null);
        assert!(d.events.is_empty());
    }
}
