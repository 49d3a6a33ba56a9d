//! Hypernet addresses (HA): the semantic, hierarchical names of everything in the Hypernet
//! (`2.1.trace`, `0.7.1.00042`, `1.1.1:notes.md:intro`), their grammar and their validator.
//!
//! Grammar: `part ("." part)* (":" segment)*`. The node address (dot-separated parts) ends
//! at the first `:`; after it come resource segments (a file, then subsections or a media
//! timestamp). No part and no segment may be empty.
//!
//! [`Address::parse`] checks only the grammar; [`validate`] applies the addressing rules on
//! top and sorts what it finds into errors (the address is invalid) and warnings (valid, but
//! off convention):
//!
//! | rule | outcome |
//! |---|---|
//! | empty or blank | error |
//! | an empty part or resource segment | error |
//! | category (first part) 0–4 | — |
//! | category a number ≥ 5 (future expansion) | warning |
//! | any other category | error |
//! | fewer than 2 parts | error |
//! | a part that is not ASCII letters and digits | error |
//! | 5 or more parts, no resource, last part all digits but shorter than 5 | warning |
//!
//! Categories: 0 Hypernet System Definitions, 1 People, 2 AI Entities, 3 Businesses &
//! Organizations, 4 Knowledge & Information.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// The top-level categories and their names.
pub const CATEGORIES: [(&str, &str); 5] = [
    ("0", "Hypernet System Definitions"),
    ("1", "People"),
    ("2", "AI Entities"),
    ("3", "Businesses & Organizations"),
    ("4", "Knowledge & Information"),
];

/// The fewest node parts a valid address has (`2.1`).
pub const MIN_DEPTH: usize = 2;

/// Digits of a zero-padded instance number (`00042`).
pub const INSTANCE_DIGITS: usize = 5;

/// A Hypernet address that follows the grammar: node parts, then resource segments.
///
/// ```
/// use hypernet_plugin_api::Address;
///
/// let a = Address::parse("2.1.trace:notes.md:intro").unwrap();
/// assert_eq!(a.category(), "2");
/// assert_eq!(a.depth(), 3);
/// assert_eq!(a.owner().unwrap().to_string(), "2.1");
/// assert_eq!(a.resource_name(), Some("notes.md"));
/// assert_eq!(a.subsection().as_deref(), Some("intro"));
/// assert_eq!(a.parent().unwrap().to_string(), "2.1.trace:notes.md");
/// assert!(Address::parse("2..1").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    parts: Vec<String>,
    resource: Vec<String>,
}

/// Why a text is not an address by the grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// Nothing but whitespace.
    #[error("the address is empty")]
    Empty,
    /// Two dots in a row, or a dot at an end of the node address.
    #[error("`{address}`: part {position} is empty")]
    EmptyPart {
        /// The address as given (trimmed).
        address: String,
        /// Index of the empty part, from 0.
        position: usize,
    },
    /// Two colons in a row, or a colon at the end.
    #[error("`{address}`: resource segment {position} is empty")]
    EmptySegment {
        /// The address as given (trimmed).
        address: String,
        /// Index of the empty segment, from 0.
        position: usize,
    },
}

impl Address {
    /// Reads an address by the grammar alone (surrounding whitespace is ignored); see
    /// [`validate`] for the addressing rules.
    ///
    /// ```
    /// use hypernet_plugin_api::{Address, AddressError};
    ///
    /// assert_eq!(Address::parse(" 0.7.1.00042 ").unwrap().to_string(), "0.7.1.00042");
    /// assert_eq!(Address::parse(""), Err(AddressError::Empty));
    /// ```
    pub fn parse(text: &str) -> Result<Address, AddressError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(AddressError::Empty);
        }
        let (node, resource) = match text.split_once(':') {
            Some((node, resource)) => (node, Some(resource)),
            None => (text, None),
        };
        let parts: Vec<String> = node.split('.').map(str::to_owned).collect();
        if let Some(position) = parts.iter().position(String::is_empty) {
            return Err(AddressError::EmptyPart {
                address: text.to_owned(),
                position,
            });
        }
        let resource: Vec<String> = resource
            .map(|r| r.split(':').map(str::to_owned).collect())
            .unwrap_or_default();
        if let Some(position) = resource.iter().position(String::is_empty) {
            return Err(AddressError::EmptySegment {
                address: text.to_owned(),
                position,
            });
        }
        Ok(Address { parts, resource })
    }

    /// The node parts (`["2", "1", "trace"]`).
    pub fn parts(&self) -> &[String] {
        &self.parts
    }

    /// The resource segments after the first `:` (empty for a node address).
    pub fn resource(&self) -> &[String] {
        &self.resource
    }

    /// The root category: the first part.
    pub fn category(&self) -> &str {
        &self.parts[0]
    }

    /// The category's name, for categories 0–4.
    pub fn category_name(&self) -> Option<&'static str> {
        CATEGORIES
            .iter()
            .find(|(c, _)| *c == self.category())
            .map(|(_, name)| *name)
    }

    /// How many node parts it has.
    pub fn depth(&self) -> usize {
        self.parts.len()
    }

    /// One level up: the last resource segment dropped, else the last part; `None` for a
    /// single part.
    pub fn parent(&self) -> Option<Address> {
        if !self.resource.is_empty() {
            let mut parent = self.clone();
            parent.resource.pop();
            return Some(parent);
        }
        (self.depth() > 1).then(|| Address {
            parts: self.parts[..self.depth() - 1].to_vec(),
            resource: Vec::new(),
        })
    }

    /// The owner, the first two parts (`2.1` for `2.1.trace`), for categories 1–4; system
    /// definitions (0) and other categories have none.
    pub fn owner(&self) -> Option<Address> {
        let owned = matches!(self.category(), "1" | "2" | "3" | "4");
        (owned && self.depth() >= 2).then(|| Address {
            parts: self.parts[..2].to_vec(),
            resource: Vec::new(),
        })
    }

    /// Whether it is a system definition (category 0).
    pub fn is_definition(&self) -> bool {
        self.category() == "0"
    }

    /// Whether its last part is an instance number: all digits, at least five of them
    /// (`00042`).
    pub fn is_instance(&self) -> bool {
        let last = &self.parts[self.depth() - 1];
        last.len() >= INSTANCE_DIGITS && last.bytes().all(|b| b.is_ascii_digit())
    }

    /// The file or resource name (the first segment), if any.
    pub fn resource_name(&self) -> Option<&str> {
        self.resource.first().map(String::as_str)
    }

    /// The subsection within the resource, the later segments joined by `:` (a timestamp
    /// `01:23:45` stays whole), if any.
    pub fn subsection(&self) -> Option<String> {
        (self.resource.len() >= 2).then(|| self.resource[1..].join(":"))
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.parts.join("."))?;
        for segment in &self.resource {
            write!(f, ":{segment}")?;
        }
        Ok(())
    }
}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Address::parse(text)
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Address::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// What [`validate`] found: the parsed address (when the grammar holds), the errors that
/// make it invalid and the warnings that do not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Validation {
    /// The text checked, trimmed.
    pub input: String,
    /// The address, when the grammar holds (even if a rule is broken).
    pub address: Option<Address>,
    /// Why it is invalid; empty when it is valid.
    pub errors: Vec<String>,
    /// What is off convention without making it invalid.
    pub warnings: Vec<String>,
}

impl Validation {
    /// True when there is no error (warnings allowed).
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Checks an address against the grammar and the addressing rules (see the module table).
///
/// ```
/// use hypernet_plugin_api::address::validate;
///
/// assert!(validate("2.1.trace").is_valid());
/// let future = validate("7.1");
/// assert!(future.is_valid());
/// assert_eq!(future.warnings, ["category 7 is in the future expansion range (5+)"]);
/// let bad = validate("2.1.trace-2");
/// assert_eq!(bad.errors, ["part 2 `trace-2` has characters other than ASCII letters and digits"]);
/// ```
pub fn validate(text: &str) -> Validation {
    let input = text.trim().to_owned();
    let address = match Address::parse(&input) {
        Ok(address) => address,
        Err(err) => {
            return Validation {
                input,
                address: None,
                errors: vec![err.to_string()],
                warnings: Vec::new(),
            };
        }
    };
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let category = address.category();
    if address.category_name().is_none() {
        if is_future_category(category) {
            warnings.push(format!(
                "category {category} is in the future expansion range (5+)"
            ));
        } else {
            errors.push(format!("unknown category `{category}` (known: 0 to 4)"));
        }
    }
    if address.depth() < MIN_DEPTH {
        errors.push(format!(
            "too shallow: {} part, at least {MIN_DEPTH} for category {category}",
            address.depth()
        ));
    }
    for (i, part) in address.parts().iter().enumerate() {
        if !part.bytes().all(|b| b.is_ascii_alphanumeric()) {
            errors.push(format!(
                "part {i} `{part}` has characters other than ASCII letters and digits"
            ));
        }
    }
    let last = &address.parts()[address.depth() - 1];
    if address.depth() >= 5
        && address.resource().is_empty()
        && last.bytes().all(|b| b.is_ascii_digit())
        && last.len() < INSTANCE_DIGITS
    {
        warnings.push(format!(
            "instance number `{last}` is not zero-padded to {INSTANCE_DIGITS} digits \
             (convention: {last:0>INSTANCE_DIGITS$})"
        ));
    }
    Validation {
        input,
        address: Some(address),
        errors,
        warnings,
    }
}

/// A category of digits whose value is 5 or more (`5`, `12`, `007`).
fn is_future_category(category: &str) -> bool {
    if !category.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let significant = category.trim_start_matches('0');
    significant.len() > 1 || significant.as_bytes().first().is_some_and(|&d| d >= b'5')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(text: &str) -> Address {
        Address::parse(text).unwrap()
    }

    #[test]
    fn grammar_splits_parts_at_dots_and_resource_at_the_first_colon() {
        let addr = a("1.1.1:video.mp4:01:23:45");
        assert_eq!(addr.parts(), ["1", "1", "1"]);
        assert_eq!(addr.resource(), ["video.mp4", "01", "23", "45"]);
        assert_eq!(addr.resource_name(), Some("video.mp4"));
        assert_eq!(addr.subsection().as_deref(), Some("01:23:45"));
        assert_eq!(addr.to_string(), "1.1.1:video.mp4:01:23:45");
        assert_eq!(a("2.1").resource_name(), None);
        assert_eq!(a("2.1:f").subsection(), None);
    }

    #[test]
    fn grammar_refuses_empty_parts_and_segments_by_position() {
        assert_eq!(Address::parse("  "), Err(AddressError::Empty));
        assert_eq!(
            Address::parse("2..1").unwrap_err().to_string(),
            "`2..1`: part 1 is empty"
        );
        assert_eq!(
            Address::parse("2.1.").unwrap_err().to_string(),
            "`2.1.`: part 2 is empty"
        );
        assert_eq!(
            Address::parse("2.1:a::b").unwrap_err().to_string(),
            "`2.1:a::b`: resource segment 1 is empty"
        );
        assert!(Address::parse(":x").is_err());
    }

    #[test]
    fn parent_owner_instance_and_definition() {
        assert_eq!(a("2.1.trace:f:s").parent(), Some(a("2.1.trace:f")));
        assert_eq!(a("2.1.trace:f").parent(), Some(a("2.1.trace")));
        assert_eq!(a("2.1.trace").parent(), Some(a("2.1")));
        assert_eq!(a("2").parent(), None);
        assert_eq!(a("2.1.trace").owner(), Some(a("2.1")));
        assert_eq!(a("0.7.1.00042").owner(), None);
        assert_eq!(a("2").owner(), None);
        assert!(a("0.7.1.00042").is_instance() && a("0.7.1.00042").is_definition());
        assert!(!a("0.7.1.0042").is_instance());
        assert!(!a("2.1.trace").is_definition());
        assert_eq!(a("2.1").category_name(), Some("AI Entities"));
        assert_eq!(a("9.1").category_name(), None);
    }

    #[test]
    fn validator_sorts_errors_from_warnings() {
        assert_eq!(validate("2.1.trace").errors, Vec::<String>::new());
        let v = validate("x.1");
        assert_eq!(v.errors, ["unknown category `x` (known: 0 to 4)"]);
        assert!(!v.is_valid() && v.address.is_some());
        assert_eq!(
            validate("2").errors,
            ["too shallow: 1 part, at least 2 for category 2"]
        );
        assert_eq!(validate("12.1").warnings.len(), 1);
        assert_eq!(validate("007.1").warnings.len(), 1);
        assert_eq!(validate("00.1").errors.len(), 1);
        let padded = validate("1.1.1.1.42");
        assert!(padded.is_valid());
        assert_eq!(
            padded.warnings,
            ["instance number `42` is not zero-padded to 5 digits (convention: 00042)"]
        );
        assert!(validate("1.1.1.1.42:photo.jpg").warnings.is_empty());
        assert!(validate("1.1.1.1.00042").warnings.is_empty());
        let broken = validate("2.1..x");
        assert_eq!(broken.address, None);
        assert_eq!(broken.errors, ["`2.1..x`: part 2 is empty"]);
        assert_eq!(validate("").errors, ["the address is empty"]);
    }

    #[test]
    fn serde_uses_the_text_form() {
        let addr: Address = serde_json::from_str("\"2.1.trace:notes.md\"").unwrap();
        assert_eq!(
            serde_json::to_string(&addr).unwrap(),
            "\"2.1.trace:notes.md\""
        );
        assert!(serde_json::from_str::<Address>("\"2..1\"").is_err());
    }
}
