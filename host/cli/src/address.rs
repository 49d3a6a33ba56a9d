//! `hypernet address check ADDR`: what an address parses to under the HA grammar and rules
//! (the parser and validator of `hypernet-plugin-api`), or why it does not. Needs no host.

use anyhow::{Result, bail};
use clap::Subcommand;
use hypernet_plugin_api::address::{Validation, validate};
use serde_json::{Value, json};

/// `hypernet address ...`
#[derive(Debug, Subcommand)]
pub enum AddressCommand {
    /// Parse and validate an address: its parts, resource, category, owner, parent and
    /// whether it is an instance, plus any warnings; fails listing the errors when invalid.
    Check {
        /// The address (`2.1.trace`, `0.7.1.00042`, `1.1.1:notes.md:intro`).
        address: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs an `address` subcommand.
pub fn run(cmd: AddressCommand) -> Result<()> {
    match cmd {
        AddressCommand::Check { address, json } => check(&address, json),
    }
}

fn check(text: &str, as_json: bool) -> Result<()> {
    let checked = validate(text);
    if as_json {
        outln!("{}", serde_json::to_string_pretty(&report(&checked))?)?;
    } else {
        crate::output::write(&render(&checked))?;
    }
    if !checked.is_valid() {
        bail!(
            "`{}` is not a valid Hypernet address: {}",
            checked.input,
            checked.errors.join("; ")
        );
    }
    Ok(())
}

/// The JSON answer: `{"input", "valid", "errors", "warnings", "parsed": {...} or null}`.
fn report(checked: &Validation) -> Value {
    let parsed = checked.address.as_ref().map(|a| {
        json!({
            "address": a.to_string(),
            "parts": a.parts(),
            "resource": a.resource(),
            "category": a.category(),
            "category_name": a.category_name(),
            "depth": a.depth(),
            "owner": a.owner().map(|o| o.to_string()),
            "parent": a.parent().map(|p| p.to_string()),
            "instance": a.is_instance(),
            "definition": a.is_definition(),
            "resource_name": a.resource_name(),
            "subsection": a.subsection(),
        })
    });
    json!({
        "input": checked.input,
        "valid": checked.is_valid(),
        "errors": checked.errors,
        "warnings": checked.warnings,
        "parsed": parsed,
    })
}

/// The text answer: one `key: value` line per fact, then warnings and errors.
fn render(checked: &Validation) -> String {
    let mut out = String::new();
    let mut line = |key: &str, value: &str| out.push_str(&format!("{key:<10} {value}\n"));
    line("address", &checked.input);
    line("valid", if checked.is_valid() { "yes" } else { "no" });
    if let Some(a) = &checked.address {
        let none = || "-".to_owned();
        line("parts", &a.parts().join(" "));
        let category = match a.category_name() {
            Some(name) => format!("{} ({name})", a.category()),
            None => a.category().to_owned(),
        };
        line("category", &category);
        line("depth", &a.depth().to_string());
        line("owner", &a.owner().map_or_else(none, |o| o.to_string()));
        line("parent", &a.parent().map_or_else(none, |p| p.to_string()));
        line("instance", if a.is_instance() { "yes" } else { "no" });
        line("resource", a.resource_name().unwrap_or("-"));
        line("section", &a.subsection().unwrap_or_else(none));
    }
    for warning in &checked.warnings {
        line("warning", warning);
    }
    for error in &checked.errors {
        line("error", error);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_lists_every_fact() {
        let text = render(&validate("2.1.trace:notes.md:intro"));
        assert!(text.contains("category   2 (AI Entities)\n"), "{text}");
        assert!(text.contains("owner      2.1\n"), "{text}");
        assert!(text.contains("parent     2.1.trace:notes.md\n"), "{text}");
        assert!(text.contains("resource   notes.md\n"), "{text}");
        assert!(text.contains("section    intro\n"), "{text}");
    }

    #[test]
    fn json_carries_errors_and_the_parse() {
        let bad = report(&validate("x.1"));
        assert_eq!(bad["valid"], false);
        assert_eq!(bad["parsed"]["category"], "x");
        assert_eq!(report(&validate("2..1"))["parsed"], Value::Null);
    }
}
