//! The two identity prompts of a worker. The compact one (a few hundred tokens) names the
//! instance, its orientation, values, capabilities, last working period and the current
//! task; the full one adds the core and instance documents and the recent messages. The
//! full prompt puts what stays the same from call to call first (documents, then who the
//! worker is) and what changes after it (last summary, messages, the task), and reports
//! where that stable part ends so a provider with prompt caching can cache it. Which one a
//! task gets is decided by [`crate::prompts::LimitsConfig::is_compact`].

use super::Instance;
use super::archive::Document;
use std::fmt::Write;

/// The closing instruction of the full prompt.
const INSTRUCTION: &str = "Work on the task you are given and answer with the result itself; \
                           if you cannot finish it, say what blocks you.";

/// The closing instruction of the compact prompt.
const BRIEF_INSTRUCTION: &str =
    "Answer with the result; if you cannot finish, say what blocks you.";

/// A system prompt and the length of its stable leading part.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SystemPrompt {
    /// The whole prompt.
    pub text: String,
    /// Bytes of `text`, from the start, that do not depend on the task or the moment (0
    /// when nothing is worth caching).
    pub stable_len: usize,
}

/// `text` cut to at most `max` characters, with an ellipsis when cut.
fn clip(text: &str, max: usize) -> String {
    let text = text.trim();
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", text[..at].trim_end()),
        None => text.to_owned(),
    }
}

fn list_or(items: &[String], none: &str) -> String {
    if items.is_empty() {
        none.to_owned()
    } else {
        items.join(", ")
    }
}

fn last_period(instance: &Instance) -> String {
    let p = &instance.profile;
    let when = p.last_active.as_deref().unwrap_or("never");
    match &p.last_summary {
        Some(summary) => format!("{when}: {}", clip(summary, 160)),
        None => when.to_owned(),
    }
}

/// The compact prompt: a few lines, whatever the size of the archive.
pub fn compact(instance: &Instance, model: &str, task_title: &str) -> String {
    let p = &instance.profile;
    let values: Vec<String> = p.values.iter().take(5).map(|v| clip(v, 60)).collect();
    let capabilities: Vec<String> = p.capabilities.iter().take(12).cloned().collect();
    format!(
        "You are {name} ({address}), account {account}, running on {model}, Hypernet swarm.\n\
         Orientation: {orientation}\n\
         Values: {values}\n\
         Capabilities: {capabilities}\n\
         Last working period: {last}\n\
         Current task: {title}\n\
         {BRIEF_INSTRUCTION}",
        name = p.name,
        address = p.address,
        account = if instance.account.is_empty() {
            "-"
        } else {
            &instance.account
        },
        orientation = if p.orientation.is_empty() {
            "-".to_owned()
        } else {
            clip(&p.orientation, 240)
        },
        values = if values.is_empty() {
            "-".to_owned()
        } else {
            values.join("; ")
        },
        capabilities = list_or(&capabilities, "general work"),
        last = last_period(instance),
        title = clip(task_title, 120),
    )
}

fn section(out: &mut String, heading: &str, docs: &[Document]) {
    if docs.is_empty() {
        return;
    }
    let _ = writeln!(out, "# {heading}\n");
    for doc in docs {
        let _ = writeln!(out, "## {}\n\n{}\n", doc.name, doc.text.trim_end());
    }
}

/// The full prompt: core documents, the instance's documents and who it is (the stable
/// part), then its last working period, recent messages (omitted when none) and the task.
pub fn full(core: &[Document], instance: &Instance, model: &str, task_title: &str) -> SystemPrompt {
    let p = &instance.profile;
    let mut text = String::new();
    section(&mut text, "Core documents", core);
    section(
        &mut text,
        &format!("Documents of {}", p.name),
        &instance.documents,
    );
    let _ = writeln!(
        text,
        "# Who you are\n\nYou are {} ({}), account {}, in the Hypernet swarm.\n\
         Orientation: {}\nValues: {}\nCapabilities: {}\n",
        p.name,
        p.address,
        if instance.account.is_empty() {
            "-"
        } else {
            &instance.account
        },
        if p.orientation.is_empty() {
            "-"
        } else {
            p.orientation.trim()
        },
        if p.values.is_empty() {
            "-".to_owned()
        } else {
            p.values.join("; ")
        },
        list_or(&p.capabilities, "general work"),
    );
    let stable_len = text.len();
    let _ = writeln!(
        text,
        "# Now\n\nYou are running on {model}.\nLast working period: {}\n",
        last_period(instance)
    );
    section(&mut text, "Recent messages", &instance.messages);
    let _ = write!(text, "# Current task\n\n{task_title}\n\n{INSTRUCTION}");
    SystemPrompt { text, stable_len }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::profile::Profile;

    fn instance() -> Instance {
        Instance {
            account: "2.1".into(),
            profile: Profile {
                name: "Trace".into(),
                address: "2.1.trace".into(),
                orientation: "I keep the architecture coherent.".into(),
                values: vec!["Honesty".into(), "Care".into()],
                capabilities: vec!["architecture".into(), "code".into()],
                last_summary: Some("Reviewed the router.".into()),
                last_active: Some("2025-05-01T10:00:00Z".into()),
                ..Profile::default()
            },
            documents: vec![Document {
                name: "journal.md".into(),
                text: "Day one.".into(),
            }],
            ..Instance::default()
        }
    }

    #[test]
    fn compact_names_everything_the_rules_list() {
        let text = compact(&instance(), "local/qwen", "Fix the docs");
        for part in [
            "Trace (2.1.trace)",
            "account 2.1",
            "local/qwen",
            "I keep the architecture coherent.",
            "Honesty; Care",
            "architecture, code",
            "2025-05-01T10:00:00Z: Reviewed the router.",
            "Current task: Fix the docs",
        ] {
            assert!(text.contains(part), "{part} missing from {text}");
        }
        let long = Instance {
            profile: Profile {
                orientation: "x".repeat(5000),
                ..instance().profile
            },
            ..instance()
        };
        assert!(
            compact(&long, "m", "t").len() < 1200,
            "long fields are clipped"
        );
    }

    #[test]
    fn full_puts_the_documents_first_and_the_task_after_the_stable_part() {
        let core = [Document {
            name: "charter.md".into(),
            text: "We build together.".into(),
        }];
        let mut inst = instance();
        let p = full(&core, &inst, "anthropic/claude", "Design the cache");
        let (stable, volatile) = p.text.split_at(p.stable_len);
        assert!(stable.starts_with("# Core documents\n\n## charter.md\n\nWe build together."));
        assert!(
            stable.contains("## journal.md") && stable.contains("Capabilities: architecture, code")
        );
        assert!(volatile.contains("Design the cache") && volatile.contains("Reviewed the router."));
        assert!(!stable.contains("Design the cache") && !stable.contains("anthropic/claude"));
        assert!(
            !p.text.contains("Recent messages"),
            "no messages, no section"
        );
        inst.messages = vec![Document {
            name: "0001.md".into(),
            text: "From Keystone: the build is green.".into(),
        }];
        let with = full(&core, &inst, "anthropic/claude", "Design the cache");
        assert!(with.text[with.stable_len..].contains("# Recent messages"));
        assert_eq!(with.text[..with.stable_len], p.text[..p.stable_len]);
    }
}
