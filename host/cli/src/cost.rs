//! `hypernet cost`: where the money went (by day, model, worker and category against the
//! targets), what was saved, and where the spend is heading; `hypernet cost estimate`:
//! what a call would cost.

use super::budget::usage_table;
use super::client::Client;
use super::format::{dollars, fields, url_part};
use super::table::render;
use super::{CostArgs, CostCommand};
use anyhow::{Context, Result};
use hypernet_swarm::budget::report::CostReport;
use std::path::Path;

/// `hypernet cost [--days N]` or one of its subcommands.
pub(super) async fn run(data_dir: &Path, args: CostArgs) -> Result<()> {
    match args.command {
        Some(CostCommand::Estimate {
            model,
            tokens,
            output_tokens,
            json,
        }) => estimate(data_dir, model, tokens, output_tokens, json).await,
        None => report(data_dir, args.days, args.json).await,
    }
}

async fn report(data_dir: &Path, days: u64, json: bool) -> Result<()> {
    let answer = Client::connect(data_dir)?
        .get(&format!("/api/cost?days={days}"))
        .await?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&answer)?)?;
        return Ok(());
    }
    let report: CostReport = serde_json::from_value(answer.clone())
        .with_context(|| format!("the host's answer is not a cost report: {answer}"))?;
    outln!("{}", text(&report, days))?;
    Ok(())
}

/// Signed micro-dollars as dollars (`-$0.000120` for a loss).
fn signed_dollars(micros: i64) -> String {
    let d = dollars(micros.unsigned_abs());
    if micros < 0 { format!("-{d}") } else { d }
}

fn text(r: &CostReport, days: u64) -> String {
    let p = &r.projection;
    let limit = match (p.daily_limit_micros, p.within_limit) {
        (Some(l), Some(ok)) => {
            let headroom = r
                .headroom_target_micros
                .map(|h| format!(" less {} headroom", dollars(h)))
                .unwrap_or_default();
            let verdict = if ok { "within" } else { "OVER" };
            format!(" — {verdict} the daily limit of {}{headroom}", dollars(l))
        }
        _ => " — no daily limit".to_owned(),
    };
    let summary = fields(&[
        ("spent_today", dollars(p.today_micros)),
        (
            "end_of_day",
            format!("{} projected{limit}", dollars(p.end_of_day_micros)),
        ),
        ("this_month", dollars(p.month_to_date_micros)),
        (
            "end_of_month",
            format!("{} projected", dollars(p.end_of_month_micros)),
        ),
    ]);
    let categories: Vec<Vec<String>> = r
        .categories
        .iter()
        .map(|c| {
            let target = match (c.target_micros, c.within_target) {
                (Some(t), Some(true)) => format!("{} ok", dollars(t)),
                (Some(t), _) => format!("{} OVER", dollars(t)),
                _ => "-".to_owned(),
            };
            vec![
                c.category.name().to_owned(),
                dollars(c.today_micros),
                target,
                dollars(c.period_micros),
            ]
        })
        .collect();
    let savings: Vec<Vec<String>> = r
        .savings
        .iter()
        .map(|s| {
            vec![
                s.kind.name().to_owned(),
                signed_dollars(s.today_micros),
                signed_dollars(s.period_micros),
            ]
        })
        .collect();
    let by_day: Vec<Vec<String>> = r
        .days
        .iter()
        .map(|d| {
            vec![
                d.date.clone(),
                d.calls.to_string(),
                dollars(d.spent_micros),
                signed_dollars(d.saved_micros),
            ]
        })
        .collect();
    let period = format!("LAST {days} DAYS");
    let mut out = vec![
        summary,
        render(
            &["CATEGORY", "TODAY", "TARGET", period.as_str()],
            &categories,
        ),
        render(&["SAVED BY", "TODAY", period.as_str()], &savings),
    ];
    if by_day.is_empty() {
        out.push("days: no calls charged".to_owned());
    } else {
        out.push(render(&["DATE", "CALLS", "SPENT", "SAVED"], &by_day));
    }
    out.push(usage_table("MODEL", &r.per_model));
    out.push(usage_table("WORKER", &r.per_worker));
    out.join("\n\n")
}

/// `hypernet cost estimate`.
async fn estimate(
    data_dir: &Path,
    model: String,
    tokens: u64,
    output_tokens: u64,
    json: bool,
) -> Result<()> {
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
    use hypernet_swarm::budget::report::{CategoryRow, DayRow, Projection, SavingRow};
    use hypernet_swarm::budget::{Category, Saving};

    #[test]
    fn the_report_shows_targets_over_and_within_losses_and_projections() {
        let report = CostReport {
            days: vec![DayRow {
                date: "2026-12-05".into(),
                spent_micros: 1_500_000,
                calls: 3,
                per_category: Default::default(),
                saved_micros: -20,
            }],
            per_model: Default::default(),
            per_worker: Default::default(),
            categories: vec![
                CategoryRow {
                    category: Category::Identity,
                    today_micros: 600_000,
                    period_micros: 600_000,
                    target_micros: Some(500_000),
                    within_target: Some(false),
                },
                CategoryRow {
                    category: Category::Work,
                    today_micros: 900_000,
                    period_micros: 900_000,
                    target_micros: None,
                    within_target: None,
                },
            ],
            savings: vec![SavingRow {
                kind: Saving::Caching,
                today_micros: -20,
                period_micros: -20,
            }],
            projection: Projection {
                today_micros: 1_500_000,
                end_of_day_micros: 9_000_000,
                month_to_date_micros: 1_500_000,
                end_of_month_micros: 40_000_000,
                daily_limit_micros: Some(10_000_000),
                within_limit: Some(false),
            },
            headroom_target_micros: Some(1_500_000),
        };
        let t = text(&report, 3);
        assert!(t.contains("$0.500000 OVER"), "{t}");
        assert!(
            t.contains("OVER the daily limit of $10.000000 less $1.500000 headroom"),
            "{t}"
        );
        assert!(t.contains("-$0.000020"), "a loss keeps its sign: {t}");
        assert!(t.contains("LAST 3 DAYS") && t.contains("2026-12-05"), "{t}");
        assert!(t.contains("$40.000000 projected"), "{t}");
        let work = t.lines().find(|l| l.starts_with("work")).unwrap();
        assert!(work.contains(" - "), "no target: {work}");
    }
}
