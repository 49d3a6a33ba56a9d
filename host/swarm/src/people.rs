//! The people the swarm talks to: `[[person]]` in `hypernet.toml`. Each has a name, an
//! address per channel (a Discord user id, a Telegram chat id, an email address, ...), what
//! they receive, and whether they may command the swarm from a channel.
//!
//! ```toml
//! [[person]]
//! name = "ada"
//! channels = { telegram = "4242", email = "ada@example.org" }
//! receives = ["questions", "approvals", "failures", "alerts", "briefs"]   # the default
//! alerts_off = ["budget_warning"]   # alert kinds this person is not told (default: none)
//! ```

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a person may be told. Each kind can be switched off per person by leaving it out
/// of `receives`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Receives {
    /// A worker's question about a task.
    Questions,
    /// A tool call waiting for a decision.
    Approvals,
    /// A task that failed for good.
    Failures,
    /// Something wrong with the swarm (breaker, suspension, budget, ...).
    Alerts,
    /// The morning brief, the evening recap and reminders.
    Briefs,
}

impl Receives {
    /// Every kind.
    pub const ALL: [Receives; 5] = [
        Receives::Questions,
        Receives::Approvals,
        Receives::Failures,
        Receives::Alerts,
        Receives::Briefs,
    ];
}

fn everything() -> Vec<Receives> {
    Receives::ALL.to_vec()
}

fn yes() -> bool {
    true
}

/// One `[[person]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Person {
    /// How the swarm names them (tasks they file are `filed_by` this name).
    pub name: String,
    /// Their address on each channel, by channel name (`discord`, `telegram`, `email`,
    /// `webhook`, ...).
    #[serde(default)]
    pub channels: BTreeMap<String, String>,
    /// What they are told (default: everything).
    #[serde(default = "everything")]
    #[schema(value_type = Vec<String>)]
    pub receives: Vec<Receives>,
    /// Whether they may command the swarm from their channels (default true).
    #[serde(default = "yes")]
    pub commands: bool,
    /// Alert kinds they are not told, though they receive `alerts` (default: none).
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub alerts_off: Vec<crate::alerts::AlertKind>,
}

impl Person {
    /// Whether they are told about `kind`.
    pub fn receives(&self, kind: Receives) -> bool {
        self.receives.contains(&kind)
    }
}

/// Every configured person. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct People {
    people: std::sync::Arc<Vec<Person>>,
}

impl People {
    /// The people of a config (checked by [`validate`]).
    pub fn new(people: Vec<Person>) -> People {
        People {
            people: std::sync::Arc::new(people),
        }
    }

    /// Everyone, in config order.
    pub fn all(&self) -> &[Person] {
        &self.people
    }

    /// The person with this name (exact, then case-insensitive).
    pub fn find(&self, name: &str) -> Option<&Person> {
        self.people.iter().find(|p| p.name == name).or_else(|| {
            self.people
                .iter()
                .find(|p| p.name.eq_ignore_ascii_case(name))
        })
    }

    /// The person whose address on `channel` is `address`.
    pub fn by_address(&self, channel: &str, address: &str) -> Option<&Person> {
        self.people
            .iter()
            .find(|p| p.channels.get(channel).is_some_and(|a| a == address))
    }

    /// Everyone told about `kind`.
    pub fn receiving(&self, kind: Receives) -> impl Iterator<Item = &Person> {
        self.people.iter().filter(move |p| p.receives(kind))
    }
}

/// Checks `[[person]]` entries: names non-empty and unique, addresses non-empty, no two
/// people with one address on one channel (a command must name one sender).
pub fn validate(people: &[Person]) -> Result<(), String> {
    let mut names = std::collections::BTreeSet::new();
    let mut addresses = std::collections::BTreeMap::new();
    for p in people {
        if p.name.trim().is_empty() {
            return Err("a [[person]] has an empty `name`".into());
        }
        if !names.insert(p.name.to_lowercase()) {
            return Err(format!("person `{}` is listed twice", p.name));
        }
        for (channel, address) in &p.channels {
            if address.trim().is_empty() {
                return Err(format!(
                    "person `{}` has an empty address for channel `{channel}`",
                    p.name
                ));
            }
            if let Some(other) = addresses.insert((channel.clone(), address.clone()), &p.name) {
                return Err(format!(
                    "persons `{other}` and `{}` share the {channel} address `{address}`",
                    p.name
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(toml_text: &str) -> Result<Vec<Person>, String> {
        #[derive(Deserialize)]
        struct File {
            person: Vec<Person>,
        }
        let file: File = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        validate(&file.person)?;
        Ok(file.person)
    }

    #[test]
    fn defaults_and_lookups() {
        let people = People::new(
            person(
                "[[person]]\nname = \"Ada\"\nchannels = { telegram = \"42\" }\n\
                 [[person]]\nname = \"bo\"\nreceives = [\"alerts\"]\ncommands = false\n",
            )
            .unwrap(),
        );
        let ada = people.find("ada").unwrap();
        assert_eq!(ada.receives, Receives::ALL.to_vec());
        assert!(ada.commands);
        assert_eq!(people.by_address("telegram", "42").unwrap().name, "Ada");
        assert!(people.by_address("discord", "42").is_none());
        let alerted: Vec<_> = people
            .receiving(Receives::Alerts)
            .map(|p| &p.name)
            .collect();
        assert_eq!(alerted, ["Ada", "bo"]);
        assert_eq!(people.receiving(Receives::Briefs).count(), 1);
    }

    #[test]
    fn bad_entries_are_named() {
        let err = |t: &str| person(t).unwrap_err();
        assert!(
            err("[[person]]\nname = \"a\"\nreceive = []\n").contains("unknown field `receive`")
        );
        assert!(err("[[person]]\nname = \"a\"\nreceives = [\"gossip\"]\n").contains("gossip"));
        assert_eq!(
            err("[[person]]\nname = \"a\"\n[[person]]\nname = \"A\"\n"),
            "person `A` is listed twice"
        );
        assert_eq!(
            err("[[person]]\nname = \"a\"\nchannels = { email = \" \" }\n"),
            "person `a` has an empty address for channel `email`"
        );
        assert_eq!(
            err(
                "[[person]]\nname = \"a\"\nchannels = { telegram = \"1\" }\n[[person]]\nname = \"b\"\nchannels = { telegram = \"1\" }\n"
            ),
            "persons `a` and `b` share the telegram address `1`"
        );
    }
}
