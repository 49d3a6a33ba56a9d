//! Each task's share of a batched call, and what batching saved. Input tokens: the part
//! every task shares (the system prompt and the instructions) divided evenly, plus the
//! task's own block in proportion to its length; output tokens in proportion to the length
//! of the task's own answer; cost in proportion to what each share's tokens cost. Every
//! division places its remainders so the shares add up exactly to the call's totals.

use crate::budget::{Price, Tokens, estimate_tokens};

/// Divides `total` among `weights` in proportion, the parts summing exactly to `total`:
/// each part is rounded down, and the units left go to the largest remainders (the
/// earlier part first on a tie). All-zero weights divide evenly.
pub fn apportion(total: u64, weights: &[u128]) -> Vec<u64> {
    if weights.is_empty() {
        return Vec::new();
    }
    let even;
    let weights = if weights.iter().all(|&w| w == 0) {
        even = vec![1u128; weights.len()];
        &even[..]
    } else {
        weights
    };
    let sum: u128 = weights.iter().sum();
    let total_wide = u128::from(total);
    let mut parts: Vec<u64> = weights
        .iter()
        .map(|&w| (total_wide * w / sum) as u64)
        .collect();
    let mut left = total - parts.iter().sum::<u64>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    // Largest remainder first; the sort is stable, so ties keep their order.
    order.sort_by_key(|&i| std::cmp::Reverse(total_wide * weights[i] % sum));
    for i in order {
        if left == 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    parts
}

/// A task's part of a batched call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Part {
    /// Its tokens (its cache reads and writes divided like the rest of the input).
    pub tokens: Tokens,
    /// Its cost in micro-dollars.
    pub cost_micros: u64,
}

/// How a batched call's text divides among its tasks, in characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The part every task shares: the system prompt and the instructions.
    pub shared_chars: usize,
    /// Each task's own block of the prompt.
    pub own_chars: Vec<usize>,
}

/// Each task's part of a call of `call` tokens that cost `cost_micros` (priced at
/// `price`), in the order of `layout.own_chars`; `answer_chars` are the lengths of the
/// tasks' answers (all zero: the output divides evenly).
pub fn shares(
    call: Tokens,
    cost_micros: u64,
    layout: &Layout,
    answer_chars: &[usize],
    price: Price,
) -> Vec<Part> {
    let n = layout.own_chars.len() as u128;
    // Weighed n times over, so the even part of the shared characters stays whole.
    let input_weights: Vec<u128> = layout
        .own_chars
        .iter()
        .map(|&own| layout.shared_chars as u128 + n * own as u128)
        .collect();
    let inputs = apportion(call.input, &input_weights);
    let reads = apportion(call.cache_read, &input_weights);
    let writes = apportion(call.cache_write, &input_weights);
    let output_weights: Vec<u128> = answer_chars.iter().map(|&c| c as u128).collect();
    let outputs = apportion(call.output, &output_weights);
    let tokens: Vec<Tokens> = (0..inputs.len())
        .map(|i| Tokens {
            input: inputs[i],
            output: outputs[i],
            cache_read: reads[i],
            cache_write: writes[i],
        })
        .collect();
    // The cost follows what each part's tokens would cost on their own.
    let cost_weights: Vec<u128> = tokens
        .iter()
        .map(|t| u128::from(price.cost_of(t)))
        .collect();
    let costs = apportion(cost_micros, &cost_weights);
    tokens
        .into_iter()
        .zip(costs)
        .map(|(tokens, cost_micros)| Part {
            tokens,
            cost_micros,
        })
        .collect()
}

/// What the tasks' single calls would have cost less what their batched call cost (zero
/// when batching cost more): each single call's input estimated as the host estimates a
/// prompt (`single_chars`: its system prompt and its own message), its output the task's
/// share of the batched call's.
pub fn saving(price: Price, call_cost_micros: u64, single_chars: &[usize], shares: &[Part]) -> u64 {
    let singles: u64 = single_chars
        .iter()
        .zip(shares)
        .map(|(&chars, share)| price.cost_micros(estimate_tokens(chars), share.tokens.output))
        .sum();
    singles.saturating_sub(call_cost_micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price() -> Price {
        Price::new(3.0, 15.0)
    }

    #[test]
    fn apportion_is_proportional_and_sums_exactly() {
        assert_eq!(apportion(10, &[1, 1, 1]), [4, 3, 3]);
        assert_eq!(apportion(10, &[0, 0, 0, 0]), [3, 3, 2, 2]);
        assert_eq!(apportion(7, &[1, 2, 4]), [1, 2, 4]);
        // 100·1/6 = 16.67, 100·2/6 = 33.33, 100·3/6 = 50: the largest remainder gets the unit.
        assert_eq!(apportion(100, &[1, 2, 3]), [17, 33, 50]);
        assert_eq!(apportion(0, &[5, 9]), [0, 0]);
        assert_eq!(apportion(5, &[0, 3]), [0, 5]);
        assert!(apportion(5, &[]).is_empty());
        // Large totals and weights do not overflow.
        let big = apportion(u64::MAX, &[u128::from(u64::MAX), 1, 1]);
        assert_eq!(
            big.iter().map(|&p| u128::from(p)).sum::<u128>(),
            u128::from(u64::MAX)
        );
        for total in 0..50u64 {
            let parts = apportion(total, &[3, 5, 7, 11]);
            assert_eq!(parts.iter().sum::<u64>(), total, "{parts:?}");
        }
    }

    #[test]
    fn shares_split_the_shared_part_evenly_and_the_rest_by_length() {
        let layout = Layout {
            shared_chars: 900,
            own_chars: vec![100, 100, 400],
        };
        let s = shares(
            Tokens::plain(1_200, 300),
            8_100,
            &layout,
            &[100, 100, 400],
            price(),
        );
        // Input weights 900+300, 900+300, 900+1200: 1200·1200/4500 = 320, 320, 560.
        assert_eq!(
            s.iter().map(|u| u.tokens.input).collect::<Vec<_>>(),
            [320, 320, 560]
        );
        assert_eq!(
            s.iter().map(|u| u.tokens.output).collect::<Vec<_>>(),
            [50, 50, 200]
        );
        for (field, total) in [
            (s.iter().map(|u| u.tokens.input).sum::<u64>(), 1_200),
            (s.iter().map(|u| u.tokens.output).sum(), 300),
            (s.iter().map(|u| u.cost_micros).sum(), 8_100),
        ] {
            assert_eq!(field, total);
        }
        // A share's cost follows what its tokens cost: 320·3 + 50·15 = 1710 of 1710+1710+4680.
        assert_eq!(s[0].cost_micros, 8_100 * 1_710 / 8_100);
        assert!(s[2].cost_micros > s[0].cost_micros);
    }

    #[test]
    fn odd_totals_still_add_up_and_empty_answers_split_evenly() {
        let layout = Layout {
            shared_chars: 7,
            own_chars: vec![3, 5, 11, 1],
        };
        for (input, output, cost) in [(1, 1, 1), (13, 0, 5), (997, 89, 12_345), (0, 0, 0)] {
            let s = shares(
                Tokens::plain(input, output),
                cost,
                &layout,
                &[0, 0, 0, 0],
                price(),
            );
            assert_eq!(s.iter().map(|u| u.tokens.input).sum::<u64>(), input);
            assert_eq!(s.iter().map(|u| u.tokens.output).sum::<u64>(), output);
            assert_eq!(s.iter().map(|u| u.cost_micros).sum::<u64>(), cost);
        }
        let free = Price::new(0.0, 0.0);
        let s = shares(Tokens::plain(40, 8), 0, &layout, &[1, 1, 1, 1], free);
        assert!(s.iter().all(|u| u.cost_micros == 0));
        assert_eq!(
            s.iter().map(|u| u.tokens.output).collect::<Vec<_>>(),
            [2, 2, 2, 2]
        );
    }

    #[test]
    fn the_saving_is_the_single_calls_estimate_less_the_batched_cost() {
        let shares = [
            Part {
                tokens: Tokens::plain(0, 10),
                cost_micros: 0,
            },
            Part {
                tokens: Tokens::plain(0, 20),
                cost_micros: 0,
            },
        ];
        // 4000 chars → 1000 tokens → 3000 µ$ + 10·15 = 3150; 4004 chars → 1001 → 3003 + 300.
        let singles = 3_150 + 3_303;
        assert_eq!(
            saving(price(), 4_000, &[4_000, 4_004], &shares),
            singles - 4_000
        );
        assert_eq!(saving(price(), 10_000, &[4_000, 4_004], &shares), 0);
    }
}
