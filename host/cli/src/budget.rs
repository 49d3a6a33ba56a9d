//! `hypernet budget`: the running host's limits and spend; `hypernet cost estimate`: what a
//! call would cost.

use super::CostCommand;
use super::client::Client;
use super::format::url_part;
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

fn usage_table(title: &str, usage: &BTreeMap<String, Usage>) -> String {
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
                dollars(u.cost_micros),
            ]
        })
        .collect();
    render(&[title, "CALLS", "IN", "OUT", "COST"], &rows)
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

/// `hypernet cost estimate`.
pub(super) async fn cost(data_dir: &Path, cmd: CostCommand) -> Result<()> {
    let CostCommand::Estimate {
        model,
        tokens,
        output_tokens,
        json,
    } = cmd;
    let path = format!(
        "/api/cost/estimate?model={}&input_tokens={tokens}&output_tokens={output_tokens}",
        url_part(&model)
    );
    let e = Client::connect(data_dir)?.get(&path).await?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&e)?)?;
        return Ok(());
    }
    let text = |k: &str| e[k].as_str().unwrap_or("?").to_owned();
    let per_million = |k: &str| format!("${}", e[k].as_f64().unwrap_or(0.0));
    let priced_as = match text("priced_as").as_str() {
        "local" => "a local model: free".to_owned(),
        "unknown" => "no price known: charged at the highest built-in price".to_owned(),
        prefix => format!("priced as `{prefix}`"),
    };
    outln!(
        "{}",
        fields(&[
            (
                "model",
                format!("{} ({} tier; {priced_as})", text("model"), text("tier"))
            ),
            (
                "price",
                format!(
                    "{} in, {} out per million tokens",
                    per_million("input_per_mtok"),
                    per_million("output_per_mtok")
                )
            ),
            ("tokens", format!("{tokens} in, {output_tokens} out")),
            ("cost", dollars(e["cost_micros"].as_u64().unwrap_or(0))),
        ])
    )?;
    Ok(())
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
