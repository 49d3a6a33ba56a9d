//! The review state machine: which states a review may move between.
//!
//! | from        | allowed to                      |
//! |-------------|---------------------------------|
//! | `pending`   | `approved`, `held`, `escalated`             |
//! | `held`      | `approved`, `released`, `escalated`         |
//! | `escalated` | `approved`, `held`, `released`              |
//! | `approved`  | — (final)                                   |
//! | `released`  | — (final)                                   |
//!
//! What moderation needs, as in the original: a held review may later be approved or
//! released (or escalated for a second opinion), and an escalated one decided any way. Every
//! other pair is refused: leaving a final state, releasing what was never held or escalated,
//! and staying in the same state.

use serde::{Deserialize, Serialize};

/// Where a review stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReviewState {
    /// Waiting for a decision; an outbound message in this state is held back.
    Pending,
    /// Cleared for delivery or publication. Final.
    Approved,
    /// Stopped by a reviewer until released.
    Held,
    /// Handed up for a higher-level decision.
    Escalated,
    /// Cleared after having been held. Final.
    Released,
}

impl ReviewState {
    /// Every state, in table order.
    pub const ALL: [ReviewState; 5] = [
        ReviewState::Pending,
        ReviewState::Approved,
        ReviewState::Held,
        ReviewState::Escalated,
        ReviewState::Released,
    ];

    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewState::Pending => "pending",
            ReviewState::Approved => "approved",
            ReviewState::Held => "held",
            ReviewState::Escalated => "escalated",
            ReviewState::Released => "released",
        }
    }

    /// The states this one may move to.
    pub fn successors(self) -> &'static [ReviewState] {
        use ReviewState::*;
        match self {
            Pending => &[Approved, Held, Escalated],
            Held => &[Approved, Released, Escalated],
            Escalated => &[Approved, Held, Released],
            Approved | Released => &[],
        }
    }

    /// Whether the content is cleared to go out (`approved` or `released`).
    pub fn is_cleared(self) -> bool {
        matches!(self, ReviewState::Approved | ReviewState::Released)
    }

    /// Checks a move to `to`, returning the new state or why it is refused.
    pub fn transition(self, to: ReviewState) -> Result<ReviewState, TransitionError> {
        if self.successors().contains(&to) {
            Ok(to)
        } else {
            Err(TransitionError { from: self, to })
        }
    }
}

impl std::fmt::Display for ReviewState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused state change; the message names both states and what is allowed instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransitionError {
    /// The state the review is in.
    pub from: ReviewState,
    /// The state that was asked for.
    pub to: ReviewState,
}

impl std::fmt::Display for TransitionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot move from `{}` to `{}`", self.from, self.to)?;
        let allowed = self.from.successors();
        if allowed.is_empty() {
            write!(f, " (`{}` is final)", self.from)
        } else {
            let names: Vec<_> = allowed.iter().map(|s| s.as_str()).collect();
            write!(f, " (from `{}` only: {})", self.from, names.join(", "))
        }
    }
}

impl std::error::Error for TransitionError {}

#[cfg(test)]
mod tests {
    use super::ReviewState::{self, *};

    /// The table from the module doc, written out independently of `successors`.
    const LEGAL: [(ReviewState, ReviewState); 9] = [
        (Pending, Approved),
        (Pending, Held),
        (Pending, Escalated),
        (Held, Approved),
        (Held, Released),
        (Held, Escalated),
        (Escalated, Approved),
        (Escalated, Held),
        (Escalated, Released),
    ];

    #[test]
    fn every_pair_is_legal_exactly_when_the_table_says_so() {
        let mut legal = 0;
        let mut refused = 0;
        for from in ReviewState::ALL {
            for to in ReviewState::ALL {
                let result = from.transition(to);
                if LEGAL.contains(&(from, to)) {
                    assert_eq!(result, Ok(to), "{from} -> {to} should be legal");
                    legal += 1;
                } else {
                    let err = result.expect_err(&format!("{from} -> {to} should be refused"));
                    let msg = err.to_string();
                    assert!(
                        msg.contains(&format!("from `{from}` to `{to}`")),
                        "message names both states: {msg}"
                    );
                    refused += 1;
                }
            }
        }
        assert_eq!((legal, refused), (9, 16));
    }

    #[test]
    fn final_states_say_so() {
        assert_eq!(
            Approved.transition(Held).unwrap_err().to_string(),
            "cannot move from `approved` to `held` (`approved` is final)"
        );
        assert_eq!(
            Pending.transition(Released).unwrap_err().to_string(),
            "cannot move from `pending` to `released` (from `pending` only: approved, held, \
             escalated)"
        );
        assert_eq!(Held.transition(Approved), Ok(Approved));
        assert_eq!(Escalated.transition(Released), Ok(Released));
        assert!(Approved.is_cleared() && Released.is_cleared());
        assert!(!Pending.is_cleared() && !Held.is_cleared() && !Escalated.is_cleared());
    }

    #[test]
    fn spelling_round_trips() {
        for state in ReviewState::ALL {
            let json = serde_json::to_value(state).unwrap();
            assert_eq!(json, state.as_str());
            assert_eq!(serde_json::from_value::<ReviewState>(json).unwrap(), state);
        }
    }
}
