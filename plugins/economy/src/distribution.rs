//! Splitting revenue among contributors: pure arithmetic over ledger entries.
//!
//! Rules, all in exact decimals (see `fixed.rs`), every rounding half away from zero to 4
//! decimals:
//!
//! 1. Revenue `R` (at most 4 decimals, not negative) splits into three pools:
//!    `gpu = round4(R / 3)`, `development = round4(R / 3)`, and `platform = R − gpu −
//!    development` — the platform pool takes the remainder, so the three sum to `R` exactly.
//! 2. Development splits `human = round4(development / 2)`, `ai = development − human`.
//! 3. Within a pool each contributor's exact share is `pool × weight / max(1, Σ weight)`:
//!    GPU weight = tokens; human weight = number of records; AI weight = tokens × the
//!    contributor's average quality rounded to 2 decimals (half away from zero). Shares are
//!    paid in whole 0.0001s that sum exactly to the pool: each share is rounded down, and
//!    the 0.0001s left over go one each to the largest remainders (ties to the contributor
//!    first by name). Every payout is thus within 0.0001 of its exact share, and a share
//!    that is already a multiple of 0.0001 is paid exactly.
//! 4. A pool whose total weight is zero (no contributions in the period) is unpaid: its
//!    `paid` is false and `reason` says why.
//! 5. Only `max(1, Σ)` can leave money in a paid pool (an AI pool whose total weight is below
//!    one); that rest, or the whole of an unpaid pool, is reported as `unallocated`, so
//!    `paid_total + unallocated = amount` for every pool.

use crate::fixed::{Fixed, SCALE, div_round};
use crate::ledger::{Contribution, Entry};
use serde::Serialize;
use std::collections::BTreeMap;

/// Decimals every distributed amount is rounded to.
pub const DP: u32 = 4;

/// A distribution period, by how far back from now it reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    /// The last 24 hours.
    Daily,
    /// The last 7 days.
    Weekly,
    /// The last 30 days.
    Monthly,
    /// Everything recorded.
    All,
}

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

impl Period {
    /// Parses `daily`, `weekly`, `monthly` (or `30d`), `all`.
    pub fn parse(s: &str) -> Option<Period> {
        match s {
            "daily" => Some(Period::Daily),
            "weekly" => Some(Period::Weekly),
            "monthly" | "30d" => Some(Period::Monthly),
            "all" => Some(Period::All),
            _ => None,
        }
    }

    /// The canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Daily => "daily",
            Period::Weekly => "weekly",
            Period::Monthly => "monthly",
            Period::All => "all",
        }
    }

    /// The earliest `at_ms` included when it is `now_ms` (inclusive bound).
    pub fn since_ms(self, now_ms: u64) -> u64 {
        let span = match self {
            Period::Daily => DAY_MS,
            Period::Weekly => 7 * DAY_MS,
            Period::Monthly => 30 * DAY_MS,
            Period::All => return 0,
        };
        now_ms.saturating_sub(span)
    }
}

/// One contributor's share of a pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Payout {
    /// Who.
    pub contributor: String,
    /// Tokens counted (GPU and AI pools).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens: Option<u64>,
    /// Records counted (human pool).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records: Option<u64>,
    /// Average quality rounded to 2 decimals (AI pool).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub average_quality: Option<Fixed>,
    /// What they get.
    pub amount: Fixed,
}

/// One contributor pool after the split.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Pool {
    /// The pool's share of the revenue.
    pub amount: Fixed,
    /// False when nobody qualified.
    pub paid: bool,
    /// Why it was not paid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Payouts, by contributor name.
    pub payouts: Vec<Payout>,
    /// Sum of the payouts.
    pub paid_total: Fixed,
    /// `amount − paid_total`: rounding rest, or the whole pool when unpaid.
    pub unallocated: Fixed,
}

/// The pools of one distribution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Pools {
    /// GPU contributors.
    pub gpu: Pool,
    /// `human + ai`.
    pub development: Fixed,
    /// Human half of development.
    pub human: Pool,
    /// AI half of development.
    pub ai: Pool,
    /// The platform's third (takes the remainder).
    pub platform: Fixed,
}

/// Why a distribution could not be computed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DistributeError {
    /// Revenue below zero.
    Negative(Fixed),
    /// Revenue with more than 4 decimals.
    TooPrecise(Fixed),
    /// Numbers beyond `i128`.
    Overflow,
}

impl std::fmt::Display for DistributeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DistributeError::Negative(r) => write!(f, "revenue {r} is negative"),
            DistributeError::TooPrecise(r) => {
                write!(f, "revenue {r} has more than {DP} decimals")
            }
            DistributeError::Overflow => f.write_str("amounts too large to distribute exactly"),
        }
    }
}

impl std::error::Error for DistributeError {}

/// Splits `revenue` among the contributors of `entries` (already filtered by period).
pub fn distribute<'a>(
    revenue: Fixed,
    entries: impl IntoIterator<Item = &'a Entry>,
) -> Result<Pools, DistributeError> {
    if revenue.is_negative() {
        return Err(DistributeError::Negative(revenue));
    }
    if revenue.round_dp(DP) != revenue {
        return Err(DistributeError::TooPrecise(revenue));
    }
    let third = revenue
        .mul_div_round(1, 3, DP)
        .ok_or(DistributeError::Overflow)?;
    let development = third;
    let platform = revenue
        .checked_sub(third)
        .and_then(|r| r.checked_sub(development))
        .ok_or(DistributeError::Overflow)?;
    let human_amount = development
        .mul_div_round(1, 2, DP)
        .ok_or(DistributeError::Overflow)?;
    let ai_amount = development
        .checked_sub(human_amount)
        .ok_or(DistributeError::Overflow)?;

    // Per contributor: (tokens, records, Σ quality in 1e-8 units, AI entry count).
    let mut gpu: BTreeMap<&str, u64> = BTreeMap::new();
    let mut human: BTreeMap<&str, u64> = BTreeMap::new();
    let mut ai: BTreeMap<&str, (u64, i128, i128)> = BTreeMap::new();
    for e in entries {
        let who = e.contributor.as_str();
        match &e.contribution {
            Contribution::Gpu { tokens } => {
                let t = gpu.entry(who).or_default();
                *t = t.checked_add(*tokens).ok_or(DistributeError::Overflow)?;
            }
            Contribution::Human { .. } => *human.entry(who).or_default() += 1,
            Contribution::Ai {
                tokens, quality, ..
            } => {
                let a = ai.entry(who).or_default();
                a.0 = a.0.checked_add(*tokens).ok_or(DistributeError::Overflow)?;
                a.1 += quality.units();
                a.2 += 1;
            }
        }
    }

    let gpu_pool = split(
        third,
        gpu.into_iter().map(|(who, tokens)| {
            let p = Payout {
                contributor: who.to_owned(),
                tokens: Some(tokens),
                records: None,
                average_quality: None,
                amount: Fixed::ZERO,
            };
            (p, i128::from(tokens))
        }),
        1,
        "no GPU contributions in the period",
    )?;
    let human_pool = split(
        human_amount,
        human.into_iter().map(|(who, records)| {
            let p = Payout {
                contributor: who.to_owned(),
                tokens: None,
                records: Some(records),
                average_quality: None,
                amount: Fixed::ZERO,
            };
            (p, i128::from(records))
        }),
        1,
        "no human contributions in the period",
    )?;
    // AI weights are in hundredths (tokens × quality × 100), so max(1, Σ) becomes
    // max(100, Σ) in those units.
    let ai_pool = split(
        ai_amount,
        ai.into_iter().map(|(who, (tokens, quality_sum, count))| {
            let hundredths = div_round(quality_sum, count * (SCALE / 100));
            let p = Payout {
                contributor: who.to_owned(),
                tokens: Some(tokens),
                records: None,
                average_quality: Some(Fixed::from_units(hundredths * (SCALE / 100))),
                amount: Fixed::ZERO,
            };
            (p, i128::from(tokens) * hundredths)
        }),
        100,
        "no AI contributions with weight in the period",
    )?;
    Ok(Pools {
        gpu: gpu_pool,
        development,
        human: human_pool,
        ai: ai_pool,
        platform,
    })
}

/// Shares `amount` among weighted payouts in proportion to `w / max(min_den, Σ w)`, in
/// whole 1e-4 steps that sum exactly to the share of the pool being paid out (largest
/// remainder method; ties go to the contributor first by name).
fn split(
    amount: Fixed,
    weighted: impl Iterator<Item = (Payout, i128)>,
    min_den: i128,
    empty_reason: &str,
) -> Result<Pool, DistributeError> {
    let mut weighted: Vec<_> = weighted.collect();
    let total: i128 = weighted.iter().map(|(_, w)| w).sum();
    if total == 0 {
        return Ok(Pool {
            amount,
            paid: false,
            reason: Some(empty_reason.to_owned()),
            payouts: Vec::new(),
            paid_total: Fixed::ZERO,
            unallocated: amount,
        });
    }
    let step = SCALE / 10i128.pow(DP);
    let over = DistributeError::Overflow;
    // Exact share of contributor i, in 1e-4 steps: amount × w_i / (den × step).
    let den = total.max(min_den).checked_mul(step).ok_or(over.clone())?;
    // What is paid out in all: the whole pool, or less when Σ w is below `min_den`.
    let target = div_round(amount.units().checked_mul(total).ok_or(over.clone())?, den);
    let mut shares = Vec::with_capacity(weighted.len());
    for (i, (_, w)) in weighted.iter().enumerate() {
        let n = amount.units().checked_mul(*w).ok_or(over.clone())?;
        shares.push((n / den, n % den, i));
    }
    let floor_sum: i128 = shares.iter().map(|s| s.0).sum();
    let leftover = usize::try_from(target - floor_sum).unwrap_or(0);
    // Largest remainders first; the stable sort keeps name order among equals.
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|&a, &b| shares[b].1.cmp(&shares[a].1));
    for &i in order.iter().take(leftover) {
        shares[i].0 += 1;
    }
    let mut paid_total = Fixed::ZERO;
    for (steps, _, i) in shares {
        let paid = Fixed::from_units(steps * step);
        weighted[i].0.amount = paid;
        paid_total = paid_total.checked_add(paid).ok_or(over.clone())?;
    }
    Ok(Pool {
        amount,
        paid: true,
        reason: None,
        payouts: weighted.into_iter().map(|(p, _)| p).collect(),
        paid_total,
        unallocated: amount.checked_sub(paid_total).ok_or(over)?,
    })
}
