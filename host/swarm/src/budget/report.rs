//! `hypernet cost`: where the money went over the last days — by day, model, worker and
//! category against the targets of `[budget.targets]` — what each saving saved, and where
//! the spend is heading by the end of the day and of the month.
//!
//! ```toml
//! [budget.targets]       # USD per budget day; every key is optional
//! identity_usd = 0.50    # the identity prompt sent with every call
//! work_usd = 6.00        # tasks
//! personal_usd = 2.00    # workers' personal time
//! boot_usd = 0.50        # identity boots
//! headroom_usd = 1.50    # kept free under the daily limit
//! ```

use super::ledger::{Category, DaySpend, Saving, Usage};
use super::persist::BudgetTable;
use super::{DAY_MS, HOUR_MS, usd_to_micros};
use hypernet_store::{Store, StoreResult};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `[budget.targets]`: what each category should cost at most per budget day (USD).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Targets {
    /// The identity prompt sent with every call.
    pub identity_usd: Option<f64>,
    /// Tasks.
    pub work_usd: Option<f64>,
    /// Workers' personal time.
    pub personal_usd: Option<f64>,
    /// Identity boots.
    pub boot_usd: Option<f64>,
    /// What should stay free under the daily limit.
    pub headroom_usd: Option<f64>,
}

impl Targets {
    /// The target of `category`, micro-dollars.
    pub fn of(&self, category: Category) -> Option<u64> {
        match category {
            Category::Identity => self.identity_usd,
            Category::Work => self.work_usd,
            Category::Personal => self.personal_usd,
            Category::Boot => self.boot_usd,
        }
        .map(usd_to_micros)
    }

    /// Checks the values; errors name the key.
    pub fn validate(&self) -> Result<(), String> {
        for (key, v) in [
            ("identity_usd", self.identity_usd),
            ("work_usd", self.work_usd),
            ("personal_usd", self.personal_usd),
            ("boot_usd", self.boot_usd),
            ("headroom_usd", self.headroom_usd),
        ] {
            if let Some(v) = v
                && !(v >= 0.0 && v.is_finite())
            {
                return Err(format!(
                    "`budget.targets.{key}` must be a non-negative number of USD, not {v}"
                ));
            }
        }
        Ok(())
    }
}

/// One day of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DayRow {
    /// The budget day's date (UTC, the day it starts on).
    pub date: String,
    /// Spend, micro-dollars.
    pub spent_micros: u64,
    /// Calls settled.
    pub calls: u64,
    /// Spend by category, micro-dollars.
    pub per_category: BTreeMap<Category, u64>,
    /// Saved, micro-dollars (all savings together).
    pub saved_micros: i64,
}

/// A category today against its target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CategoryRow {
    /// The category.
    pub category: Category,
    /// Spent today, micro-dollars.
    pub today_micros: u64,
    /// Spent over the report's days, micro-dollars.
    pub period_micros: u64,
    /// Its daily target, micro-dollars (absent: none set).
    pub target_micros: Option<u64>,
    /// Whether today's spend is within the target (absent: no target).
    pub within_target: Option<bool>,
}

/// What one kind of saving saved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SavingRow {
    /// What saved it.
    pub kind: Saving,
    /// Saved today, micro-dollars.
    pub today_micros: i64,
    /// Saved over the report's days, micro-dollars.
    pub period_micros: i64,
}

/// Where the spend is heading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Projection {
    /// Spent today, micro-dollars.
    pub today_micros: u64,
    /// Today's spend at its pace so far, by the end of the budget day.
    pub end_of_day_micros: u64,
    /// Spent this calendar month (UTC) up to now.
    pub month_to_date_micros: u64,
    /// The month's spend at the pace of its days so far, by its end.
    pub end_of_month_micros: u64,
    /// The daily limit, when set.
    pub daily_limit_micros: Option<u64>,
    /// Whether the projected day stays within the daily limit less its headroom target
    /// (absent: no limit).
    pub within_limit: Option<bool>,
}

/// `hypernet cost`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CostReport {
    /// The days, oldest first (days without a call are left out).
    pub days: Vec<DayRow>,
    /// Spend by model over the days.
    pub per_model: BTreeMap<String, Usage>,
    /// Spend by worker over the days.
    pub per_worker: BTreeMap<String, Usage>,
    /// Each category against its target.
    pub categories: Vec<CategoryRow>,
    /// Each saving.
    pub savings: Vec<SavingRow>,
    /// Where the spend is heading.
    pub projection: Projection,
    /// The headroom target, micro-dollars, when set.
    pub headroom_target_micros: Option<u64>,
}

/// Reads the stored days for reports.
#[derive(Debug, Clone)]
pub struct Ledger {
    store: Store,
    targets: Targets,
    reset_hour: u32,
    daily_limit: Option<u64>,
}

impl Ledger {
    /// A ledger over `store` with the configured targets, day boundary and daily limit.
    pub fn new(store: Store, config: &super::BudgetConfig) -> Ledger {
        Ledger {
            store,
            targets: config.targets.clone(),
            reset_hour: config.reset_hour_utc.min(23),
            daily_limit: config.daily_limit_usd.map(usd_to_micros),
        }
    }

    /// The report of the `days` budget days up to the one of `now_ms` (at least one);
    /// `daily_limit` is the limit in force now (it may have been changed at run time).
    pub fn report(
        &self,
        days: u64,
        now_ms: u64,
        daily_limit: Option<u64>,
    ) -> StoreResult<CostReport> {
        let clock = Clock {
            reset_hour: self.reset_hour,
        };
        let today = clock.day_of(now_ms);
        let month_start = clock.first_day_of_month(today);
        let first = today.saturating_sub(days.max(1) - 1).min(month_start);
        let stored = self.store.spend_days(first, today)?;
        let period: Vec<&DaySpend> = stored
            .iter()
            .filter(|d| d.day + days.max(1) > today)
            .collect();
        Ok(build(
            &period,
            &stored,
            &self.targets,
            &clock,
            now_ms,
            daily_limit.or(self.daily_limit),
        ))
    }
}

/// Budget days and the calendar.
struct Clock {
    reset_hour: u32,
}

impl Clock {
    fn day_of(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(u64::from(self.reset_hour) * HOUR_MS) / DAY_MS
    }

    fn start_ms(&self, day: u64) -> u64 {
        day * DAY_MS + u64::from(self.reset_hour) * HOUR_MS
    }

    fn date(&self, day: u64) -> jiff::civil::Date {
        jiff::Timestamp::from_millisecond(self.start_ms(day) as i64)
            .map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).date())
            .unwrap_or_default()
    }

    /// The first budget day of the calendar month `day` is in.
    fn first_day_of_month(&self, day: u64) -> u64 {
        day - u64::from(self.date(day).day().unsigned_abs()) + 1
    }
}

fn build(
    period: &[&DaySpend],
    stored: &[DaySpend],
    targets: &Targets,
    clock: &Clock,
    now_ms: u64,
    daily_limit: Option<u64>,
) -> CostReport {
    let today_n = clock.day_of(now_ms);
    let empty = DaySpend::new(today_n);
    let today: &DaySpend = period
        .iter()
        .find(|d| d.day == today_n)
        .map_or(&empty, |d| d);
    let mut per_model: BTreeMap<String, Usage> = BTreeMap::new();
    let mut per_worker: BTreeMap<String, Usage> = BTreeMap::new();
    for d in period {
        for (into, from) in [
            (&mut per_model, &d.per_model),
            (&mut per_worker, &d.per_worker),
        ] {
            for (name, u) in from {
                into.entry(name.clone()).or_default().merge(u);
            }
        }
    }
    let categories = Category::ALL
        .iter()
        .map(|&category| {
            let target = targets.of(category);
            let today_micros = today.category(category);
            CategoryRow {
                category,
                today_micros,
                period_micros: period.iter().map(|d| d.category(category)).sum(),
                target_micros: target,
                within_target: target.map(|t| today_micros <= t),
            }
        })
        .collect();
    let savings = Saving::ALL
        .iter()
        .map(|&kind| SavingRow {
            kind,
            today_micros: today.saved(kind),
            period_micros: period.iter().map(|d| d.saved(kind)).sum(),
        })
        .collect();
    let days = period
        .iter()
        .map(|d| DayRow {
            date: clock.date(d.day).to_string(),
            spent_micros: d.spent_micros,
            calls: d.per_model.values().map(|u| u.calls).sum(),
            per_category: d.per_category.clone(),
            saved_micros: d.savings.values().sum(),
        })
        .collect();
    let headroom = targets.headroom_usd.map(usd_to_micros);
    CostReport {
        days,
        per_model,
        per_worker,
        categories,
        savings,
        projection: project(
            stored,
            today.spent_micros,
            clock,
            now_ms,
            daily_limit,
            headroom,
        ),
        headroom_target_micros: headroom,
    }
}

/// Today at its pace so far (at least an hour of it counted as gone, so a call in the
/// first minutes is not taken for a day's pace), and the month at the pace of its days.
fn project(
    stored: &[DaySpend],
    today_micros: u64,
    clock: &Clock,
    now_ms: u64,
    daily_limit: Option<u64>,
    headroom: Option<u64>,
) -> Projection {
    let today = clock.day_of(now_ms);
    let elapsed = now_ms.saturating_sub(clock.start_ms(today)).max(HOUR_MS);
    let end_of_day = (u128::from(today_micros) * u128::from(DAY_MS) / u128::from(elapsed)) as u64;
    let month_start = clock.first_day_of_month(today);
    let month_to_date: u64 = stored
        .iter()
        .filter(|d| d.day >= month_start && d.day <= today)
        .map(|d| d.spent_micros)
        .sum();
    let before_today = month_to_date - today_micros.min(month_to_date);
    let days_so_far = today - month_start + 1;
    let per_day = (before_today + end_of_day) / days_so_far;
    let days_in_month = u64::from(clock.date(today).days_in_month().unsigned_abs());
    Projection {
        today_micros,
        end_of_day_micros: end_of_day,
        month_to_date_micros: month_to_date,
        end_of_month_micros: before_today + end_of_day + per_day * (days_in_month - days_so_far),
        daily_limit_micros: daily_limit,
        within_limit: daily_limit.map(|l| end_of_day <= l.saturating_sub(headroom.unwrap_or(0))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::ledger::Tokens;

    /// 2026-03-30 00:00 UTC, a Monday, as a budget day.
    const MARCH_30: u64 = 20_542;

    fn day(n: u64, work: u64, identity: u64) -> DaySpend {
        let mut d = DaySpend::new(n);
        d.spend(Category::Work, work);
        d.spend(Category::Identity, identity);
        d.spent_micros = work + identity;
        d.per_model
            .entry("paid/x".into())
            .or_default()
            .add(&Tokens::plain(100, 10), work + identity);
        d.save(Saving::Caching, 7);
        d
    }

    #[test]
    fn the_clock_finds_dates_and_month_starts() {
        let c = Clock { reset_hour: 0 };
        assert_eq!(c.date(MARCH_30).to_string(), "2026-03-30");
        assert_eq!(
            c.date(c.first_day_of_month(MARCH_30)).to_string(),
            "2026-03-01"
        );
        assert_eq!(
            c.first_day_of_month(MARCH_30 + 2),
            MARCH_30 + 2,
            "April 1st"
        );
        let late = Clock { reset_hour: 6 };
        assert_eq!(late.day_of(MARCH_30 * DAY_MS + 5 * HOUR_MS), MARCH_30 - 1);
    }

    #[test]
    fn a_report_sums_the_period_checks_targets_and_projects() {
        let clock = Clock { reset_hour: 0 };
        let stored = vec![
            day(MARCH_30 - 40, 9_000_000, 0), // February: outside the month and the period
            day(MARCH_30 - 2, 4_000_000, 200_000),
            day(MARCH_30 - 1, 5_000_000, 800_000),
            day(MARCH_30, 1_000_000, 500_000),
        ];
        let period: Vec<&DaySpend> = stored[2..].iter().collect();
        let targets = Targets {
            identity_usd: Some(0.5),
            work_usd: Some(6.0),
            headroom_usd: Some(1.5),
            ..Targets::default()
        };
        // Six hours into March 30th.
        let now = MARCH_30 * DAY_MS + 6 * HOUR_MS;
        let r = build(&period, &stored, &targets, &clock, now, Some(10_000_000));
        assert_eq!(
            r.days.iter().map(|d| d.date.as_str()).collect::<Vec<_>>(),
            ["2026-03-29", "2026-03-30"]
        );
        let identity = &r.categories[0];
        assert_eq!(identity.category, Category::Identity);
        assert_eq!(
            (identity.today_micros, identity.period_micros),
            (500_000, 1_300_000)
        );
        assert_eq!(identity.within_target, Some(true), "equal is within");
        assert_eq!(r.categories[2].within_target, None, "no personal target");
        assert_eq!(r.per_model["paid/x"].calls, 2);
        assert_eq!(r.savings[1].kind, Saving::Caching);
        assert_eq!(
            (r.savings[1].today_micros, r.savings[1].period_micros),
            (7, 14)
        );
        let p = &r.projection;
        assert_eq!(
            p.end_of_day_micros, 6_000_000,
            "$1.50 in a quarter of the day"
        );
        assert_eq!(p.month_to_date_micros, 4_200_000 + 5_800_000 + 1_500_000);
        // Thirty days of March so far (the first 27 spent nothing), one to go at their pace.
        let per_day = (4_200_000 + 5_800_000 + 6_000_000) / 30;
        assert_eq!(p.end_of_month_micros, 16_000_000 + per_day);
        assert_eq!(p.within_limit, Some(true), "6.00 ≤ 10.00 − 1.50");
    }

    #[test]
    fn targets_are_checked_by_name() {
        let t: Targets = toml::from_str("work_usd = -1.0").unwrap();
        assert!(
            t.validate()
                .unwrap_err()
                .contains("budget.targets.work_usd")
        );
        assert!(toml::from_str::<Targets>("wrok_usd = 1.0").is_err());
    }
}
