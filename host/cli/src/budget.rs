//! `hypernet budget`: the running host's limits and spend.

use super::client::Client;
use super::format::{dollars, fields, rfc3339_ms};
use super::table::render;
use anyhow::{Context, Result};
use hypernet_swarm::budget::{BudgetView, Usage};
use std::collections::BTreeMap;
use std::path::Path;

/// Prints the budget (JSON with `json`).
pub(super) async fn show(data_dir: &Path, json: bool) -> Result<()> {
    let answer = Client::connect(data_dir)?.get("/api/budget").await?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&answer)?)?;
        return Ok(());
    }
    let view: BudgetView = serde_json::from_value(answer.clone())
        .with_context(|| format!("the host's answer is not a budget: {answer}"))?;
    outln!("{}", text(&view))?;
    Ok(())
}

fn limit(micros: Option<u64>) -> String {
    micros.map_or_else(|| "unlimited".to_owned(), dollars)
}

pub(super) fn usage_table(title: &str, usage: &BTreeMap<String, Usage>) -> String {
    if usage.is_empty() {
        return format!("{title}: none");
    }
    let rows: Vec<Vec<String>> = usage
        .iter()
        .map(|(name, u)| {
            vec![
                name.clone(),
                u.calls.to_string(),
                u.input_tokens.to_string(),
                u.output_tokens.to_string(),
                format!("{}/{}", u.cache_read_tokens, u.cache_write_tokens),
                dollars(u.cost_micros),
            ]
        })
        .collect();
    render(&[title, "CALLS", "IN", "OUT", "CACHED R/W", "COST"], &rows)
}

fn text(v: &BudgetView) -> String {
    let rows = [
        ("daily_limit", limit(v.daily_limit_micros)),
        ("spent_today", dollars(v.spent_today_micros)),
        ("session_limit", limit(v.session_limit_micros)),
        ("spent_session", dollars(v.spent_session_micros)),
        (
            "reserved",
            format!("{} ({} calls)", dollars(v.reserved_micros), v.reservations),
        ),
        ("next_reset", rfc3339_ms(v.next_reset_ms)),
        (
            "paid_work",
            if v.paused { "paused" } else { "running" }.to_owned(),
        ),
    ];
    format!(
        "{}\n\n{}\n\n{}",
        fields(&rows),
        usage_table("MODEL", &v.per_model),
        usage_table("WORKER", &v.per_worker)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_shows_limits_spend_and_pause() {
        let view = BudgetView {
            daily_limit_micros: Some(2_000_000),
            spent_today_micros: 1_500_000,
            paused: true,
            per_model: BTreeMap::from([(
                "paid/x".to_owned(),
                Usage {
                    calls: 2,
                    input_tokens: 10,
                    output_tokens: 20,
                    cost_micros: 1_500_000,
                    ..Usage::default()
                },
            )]),
            ..BudgetView::default()
        };
        let t = text(&view);
        assert!(t.contains("$2.000000") && t.contains("paused"), "{t}");
        assert!(t.contains("unlimited") && t.contains("paid/x"), "{t}");
    }
}
