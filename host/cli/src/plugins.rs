//! `hypernet plugins list|check|enable|disable|describe|call|new` (`new` is
//! [`crate::plugin_new`]).

use super::PluginsCommand;
use super::client::Client;
use super::table;
use crate::run::resolve_manifest;
use anyhow::{Context, Result, bail};
use hypernet_engine::check::check;
use serde_json::Value;
use std::path::Path;

pub(super) async fn execute(data_dir: &Path, cmd: PluginsCommand) -> Result<()> {
    match cmd {
        PluginsCommand::List { json } => {
            let list = Client::connect(data_dir)?
                .get(&format!(
                    "/api/plugins?limit={}",
                    hypernet_api::page::MAX_LIMIT
                ))
                .await?;
            print(&list, json, list_table)
        }
        PluginsCommand::Check { manifest, json } => check_manifest(manifest.as_deref(), json),
        PluginsCommand::Enable { name, json } => {
            let status = Client::connect(data_dir)?
                .post(&format!("/api/plugins/{name}/enable"), None)
                .await?;
            print(&status, json, |s| format!("{}: {}", name, state_text(s)))
        }
        PluginsCommand::Disable { name, json } => {
            let status = Client::connect(data_dir)?
                .post(&format!("/api/plugins/{name}/disable"), None)
                .await?;
            print(&status, json, |s| format!("{}: {}", name, state_text(s)))
        }
        PluginsCommand::Describe { name, json } => {
            let description = Client::connect(data_dir)?
                .get(&format!("/api/plugins/{name}/describe"))
                .await?;
            print(&description, json, description_text)
        }
        PluginsCommand::Call { name, query, args } => {
            let args: Value = match args {
                Some(text) => serde_json::from_str(&text)
                    .with_context(|| format!("the arguments are not JSON: {text}"))?,
                None => Value::Null,
            };
            let answer = Client::connect(data_dir)?
                .post(&format!("/api/plugins/{name}/query/{query}"), Some(&args))
                .await?;
            outln!("{}", serde_json::to_string_pretty(&answer)?)?;
            Ok(())
        }
        PluginsCommand::New(args) => crate::plugin_new::run(args),
    }
}

fn print(value: &Value, json: bool, human: impl Fn(&Value) -> String) -> Result<()> {
    if json {
        outln!("{}", serde_json::to_string_pretty(value)?)?;
    } else {
        outln!("{}", human(value))?;
    }
    Ok(())
}

/// A plugin's description for people: per service, its queries, events, tools, models.
fn description_text(d: &Value) -> String {
    let items = |v: &Value| v.as_array().cloned().unwrap_or_default();
    let shape = |label: &str, v: &Value| match v {
        Value::Null => String::new(),
        v => format!("\n      {label}: {v}"),
    };
    let mut out = Vec::new();
    for s in items(&d["services"]) {
        let text = |k: &str| s[k].as_str().unwrap_or_default().to_owned();
        out.push(format!(
            "{} ({}, at `{}`)",
            text("name"),
            text("kind"),
            text("address")
        ));
        let queries = items(&s["queries"]);
        if queries.is_empty() && s["kind"] == "subsystem" {
            out.push(if s["declared"] == true {
                "  queries: none".into()
            } else {
                "  queries: not described by the plugin".into()
            });
        } else if !queries.is_empty() {
            out.push("  queries:".into());
        }
        for q in &queries {
            out.push(format!(
                "    {}  {}{}{}",
                q["name"].as_str().unwrap_or("?"),
                q["description"].as_str().unwrap_or_default(),
                shape("args", &q["args"]),
                shape("answer", &q["answer"])
            ));
        }
        let events = items(&s["events"]);
        if !events.is_empty() {
            out.push("  events:".into());
        }
        for e in &events {
            out.push(format!(
                "    {}  {}{}",
                e["kind"].as_str().unwrap_or("?"),
                e["description"].as_str().unwrap_or_default(),
                shape("payload", &e["payload"])
            ));
        }
        let tools = items(&s["tools"]);
        if !tools.is_empty() {
            out.push("  tools:".into());
        }
        for t in &tools {
            out.push(format!(
                "    {} (tier {})  {}",
                t["name"].as_str().unwrap_or("?"),
                t["tier"],
                t["description"].as_str().unwrap_or_default()
            ));
        }
        let models = items(&s["models"]);
        if !models.is_empty() {
            let names: Vec<&str> = models.iter().filter_map(Value::as_str).collect();
            out.push(format!("  models: {}", names.join(", ")));
        }
    }
    if out.is_empty() {
        return format!("{}: no services", d["plugin"].as_str().unwrap_or("?"));
    }
    out.join("\n")
}

/// `loaded`, `disabled`, or `failed (why)`.
pub(super) fn state_text(status: &Value) -> String {
    let state = status["state"].as_str().unwrap_or("?");
    match status["reason"].as_str() {
        Some(reason) => format!("{state} ({reason})"),
        None => state.to_owned(),
    }
}

fn list_table(list: &Value) -> String {
    let rows: Vec<Vec<String>> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let kinds: Vec<&str> = p["kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            vec![
                p["name"].as_str().unwrap_or("?").to_owned(),
                p["version"].as_str().unwrap_or("-").to_owned(),
                if kinds.is_empty() {
                    "-".into()
                } else {
                    kinds.join(",")
                },
                state_text(p),
                events_text(p),
                p["path"].as_str().unwrap_or("-").to_owned(),
            ]
        })
        .collect();
    table::render(
        &["NAME", "VERSION", "KINDS", "STATE", "EVENTS", "PATH"],
        &rows,
    )
}

/// A subscriber's place in the event log: how far behind, and how many events it lost by
/// staying away too long; `-` for a plugin that subscribes to nothing (or never ran).
fn events_text(status: &Value) -> String {
    let deliveries = status["deliveries"].as_array().into_iter().flatten();
    let (mut seen, mut behind, mut dropped) = (false, 0, 0);
    for d in deliveries {
        seen = true;
        behind += d["behind"].as_u64().unwrap_or(0);
        dropped += d["dropped"].as_u64().unwrap_or(0);
    }
    if !seen {
        return "-".into();
    }
    let mut text = if behind == 0 {
        "up to date".to_owned()
    } else {
        format!("{behind} behind")
    };
    if dropped > 0 {
        text.push_str(&format!(", {dropped} dropped"));
    }
    text
}

fn check_manifest(manifest: Option<&Path>, json: bool) -> Result<()> {
    let manifest = resolve_manifest(manifest)?;
    let items = check(&manifest);
    let errors = items.iter().filter(|i| i.is_error()).count();
    if json {
        outln!("{}", serde_json::to_string_pretty(&items)?)?;
    } else {
        let rows: Vec<Vec<String>> = items
            .iter()
            .map(|i| {
                let verdict = match (&i.problem, i.enabled) {
                    (None, true) => "ok".to_owned(),
                    (None, false) => "ok (disabled)".to_owned(),
                    (Some(p), true) => format!("ERROR: {p}"),
                    (Some(p), false) => format!("warning (disabled): {p}"),
                };
                let services: Vec<String> = i
                    .services
                    .iter()
                    .map(|s| format!("{} ({})", s.name, s.kind.as_str()))
                    .collect();
                vec![
                    i.name.clone(),
                    i.version.clone().unwrap_or_else(|| "-".into()),
                    if services.is_empty() {
                        "-".into()
                    } else {
                        services.join(", ")
                    },
                    verdict,
                ]
            })
            .collect();
        outln!("{}: {} plugin(s)", manifest.origin, items.len())?;
        outln!(
            "{}",
            table::render(&["NAME", "VERSION", "SERVICES", "RESULT"], &rows)
        )?;
    }
    if errors > 0 {
        let problems: Vec<String> = items
            .iter()
            .filter(|i| i.is_error())
            .filter_map(|i| i.problem.as_ref().map(|p| format!("  - {p}")))
            .collect();
        bail!(
            "{}: {errors} plugin(s) failed the check:\n{}",
            manifest.origin,
            problems.join("\n")
        );
    }
    Ok(())
}
