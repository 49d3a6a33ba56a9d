//! Who a message goes to. `to` is matched against the configured workers, first match
//! wins: the exact name, then the name in any case, then the last segment of an address
//! (`0.7.1.builder`, `swarm:builder`: `builder`) against a name in any case or the last
//! part of a worker's address. `*` and `all` mean every other worker.
//!
//! [`Directory::route`] sorts a `to` into the bus or the outbox: a broadcast, a worker, or
//! an address that names no worker go on the bus (the last stays `sent`); anything else —
//! a person's name, or an address in category 1 (People) — goes to a person, through the
//! outbox.

use crate::workers::WorkerConfig;
use hypernet_plugin_api::Address;

/// The category of addresses of people.
const PEOPLE: &str = "1";

/// A worker the bus can deliver to.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    /// Its configured name.
    name: String,
    /// The last part of its address (`coder` of `2.1.coder`).
    tail: String,
}

/// The configured workers, as recipients.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directory {
    entries: Vec<Entry>,
}

/// Where a message written to some `to` goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Every other worker (`*`, `all`).
    Broadcast,
    /// The worker of this name, as configured.
    Worker(String),
    /// An address no worker answers to: stored on the bus, never delivered.
    Unknown,
    /// A person: the outbox.
    Person,
}

impl Route {
    /// Whether the message goes on the bus.
    pub fn is_bus(&self) -> bool {
        !matches!(self, Route::Person)
    }
}

/// Whether `to` means every other worker.
pub fn is_broadcast(to: &str) -> bool {
    let to = to.trim();
    to == "*" || to.eq_ignore_ascii_case("all")
}

/// `to` read as an address: more than one part, or a resource segment. A bare word is a
/// name, not an address.
fn as_address(to: &str) -> Option<Address> {
    Address::parse(to)
        .ok()
        .filter(|a| a.depth() >= 2 || !a.resource().is_empty())
}

/// The last segment of an address: its last resource segment, else its last part.
pub fn last_segment(address: &Address) -> &str {
    address
        .resource()
        .last()
        .or_else(|| address.parts().last())
        .map(String::as_str)
        .unwrap_or_default()
}

impl Directory {
    /// The recipients among `workers`.
    pub fn new(workers: &[WorkerConfig]) -> Directory {
        let entries = workers
            .iter()
            .map(|w| Entry {
                name: w.name.clone(),
                tail: w
                    .address()
                    .rsplit('.')
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
            })
            .collect();
        Directory { entries }
    }

    /// The workers' names, in configured order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.name.as_str())
    }

    /// The worker `to` names, as configured, if any.
    pub fn resolve(&self, to: &str) -> Option<&str> {
        let to = to.trim();
        let found = self
            .entries
            .iter()
            .find(|e| e.name == to)
            .or_else(|| {
                self.entries
                    .iter()
                    .find(|e| e.name.eq_ignore_ascii_case(to))
            })
            .or_else(|| {
                let address = as_address(to)?;
                let last = last_segment(&address);
                self.entries
                    .iter()
                    .find(|e| e.name.eq_ignore_ascii_case(last))
                    .or_else(|| {
                        self.entries
                            .iter()
                            .find(|e| e.tail.eq_ignore_ascii_case(last))
                    })
            });
        found.map(|e| e.name.as_str())
    }

    /// Where a message to `to` goes.
    pub fn route(&self, to: &str) -> Route {
        if is_broadcast(to) {
            return Route::Broadcast;
        }
        if let Some(name) = self.resolve(to) {
            return Route::Worker(name.to_owned());
        }
        match as_address(to) {
            Some(address) if address.category() != PEOPLE => Route::Unknown,
            _ => Route::Person,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker(name: &str, address: &str) -> WorkerConfig {
        toml::from_str(&format!("name = \"{name}\"\naddress = \"{address}\"")).unwrap()
    }

    fn directory() -> Directory {
        Directory::new(&[
            worker("Builder", ""),
            worker("builder", ""),
            worker("Spark-2", ""),
            worker("Scout", "2.1.finder"),
        ])
    }

    #[test]
    fn exact_name_then_any_case_then_last_segment() {
        let d = directory();
        assert_eq!(d.resolve("builder"), Some("builder"), "exact wins");
        assert_eq!(d.resolve("Builder"), Some("Builder"));
        assert_eq!(d.resolve("BUILDER"), Some("Builder"), "then any case");
        assert_eq!(d.resolve(" scout "), Some("Scout"));
        assert_eq!(d.resolve("0.7.1.builder"), Some("Builder"), "last part");
        assert_eq!(d.resolve("swarm:SCOUT"), Some("Scout"), "last segment");
        assert_eq!(
            d.resolve("2.1.spark2"),
            Some("Spark-2"),
            "an address's last part"
        );
        assert_eq!(d.resolve("9.9.finder"), Some("Scout"));
        assert_eq!(d.resolve("2.1.nobody"), None);
        assert_eq!(
            d.resolve("spark2"),
            None,
            "a bare word is a name, not an address"
        );
        assert_eq!(d.resolve(""), None);
    }

    #[test]
    fn routes_split_the_bus_from_people() {
        let d = directory();
        assert_eq!(d.route("*"), Route::Broadcast);
        assert_eq!(d.route("ALL"), Route::Broadcast);
        assert_eq!(d.route("scout"), Route::Worker("Scout".into()));
        assert_eq!(d.route("2.1.nobody"), Route::Unknown);
        assert_eq!(d.route("swarm:nobody"), Route::Unknown);
        assert_eq!(d.route("Ada"), Route::Person);
        assert_eq!(d.route("1.1.ada"), Route::Person, "category 1 is people");
        assert!(Route::Unknown.is_bus() && !Route::Person.is_bus());
        assert_eq!(Directory::default().route("Builder"), Route::Person);
    }
}
