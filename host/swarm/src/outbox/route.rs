//! Where a message goes: one delivery per channel.
//!
//! - `log`: the host log.
//! - `auto` (the default): every channel the recipient, a `[[person]]`, has an address on;
//!   the log when they have none or are not a configured person.
//! - a channel's name: the person's address on it, or — for a recipient who is not a
//!   configured person — the recipient as the address itself.

use super::record::{AUTO, Delivery, LOG, NewMessage};
use crate::people::People;

/// The deliveries of `new`; an error names what cannot be used.
pub(super) fn deliveries(people: &People, new: &NewMessage) -> Result<Vec<Delivery>, String> {
    if new.to.trim().is_empty() {
        return Err("a message needs a recipient (`to`)".into());
    }
    let person = people.find(&new.to);
    let channel = new.channel.trim();
    let out = match (channel, person) {
        ("" | AUTO, Some(p)) if !p.channels.is_empty() => p
            .channels
            .iter()
            .map(|(channel, address)| Delivery::queued(channel, address))
            .collect(),
        ("" | AUTO, _) | (LOG, _) => vec![Delivery::queued(LOG, &new.to)],
        (channel, Some(p)) => match p.channels.get(channel) {
            Some(address) => vec![Delivery::queued(channel, address)],
            None => {
                return Err(format!(
                    "person `{}` has no address on channel `{channel}` (their channels: {})",
                    p.name,
                    if p.channels.is_empty() {
                        "none".to_owned()
                    } else {
                        p.channels.keys().cloned().collect::<Vec<_>>().join(", ")
                    }
                ));
            }
        },
        (channel, None) => vec![Delivery::queued(channel, &new.to)],
    };
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::people::Person;

    fn people() -> People {
        let ada = Person {
            name: "ada".into(),
            channels: [("telegram", "42"), ("email", "ada@example.org")]
                .into_iter()
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .collect(),
            receives: crate::people::Receives::ALL.to_vec(),
            commands: true,
            alerts_off: Vec::new(),
        };
        People::new(vec![ada])
    }

    fn routes(to: &str, channel: &str) -> Result<Vec<(String, String)>, String> {
        let mut new = NewMessage::new(to, "host", "hi");
        new.channel = channel.into();
        Ok(deliveries(&people(), &new)?
            .into_iter()
            .map(|d| (d.channel, d.address))
            .collect())
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn auto_goes_to_every_channel_of_a_person_and_the_log_otherwise() {
        assert_eq!(
            routes("Ada", "auto").unwrap(),
            pairs(&[("email", "ada@example.org"), ("telegram", "42")])
        );
        assert_eq!(routes("bob", "auto").unwrap(), pairs(&[("log", "bob")]));
        assert_eq!(routes("ada", "log").unwrap(), pairs(&[("log", "ada")]));
    }

    #[test]
    fn a_named_channel_takes_the_persons_address_or_the_recipient_itself() {
        assert_eq!(
            routes("ada", "telegram").unwrap(),
            pairs(&[("telegram", "42")])
        );
        assert_eq!(
            routes("ops@example.org", "email").unwrap(),
            pairs(&[("email", "ops@example.org")])
        );
        assert_eq!(
            routes("ada", "discord").unwrap_err(),
            "person `ada` has no address on channel `discord` (their channels: email, telegram)"
        );
        assert!(routes(" ", "auto").is_err());
    }
}
