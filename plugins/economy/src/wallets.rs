//! AI wallets: named balances that can earn, spend and transfer, never going below zero.
//!
//! Every operation checks first and changes after, so a refused one changes nothing; the
//! whole map is stored under one key, so a transfer is written in one durable step.

use crate::fixed::Fixed;
use std::collections::BTreeMap;

/// Why a wallet operation was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WalletError {
    /// Empty wallet name.
    NoName,
    /// Amount zero or below.
    NotPositive(Fixed),
    /// Balance too low: (wallet, balance, amount asked).
    Short(String, Fixed, Fixed),
    /// Same wallet on both sides of a transfer.
    SelfTransfer(String),
    /// Beyond `i128`.
    Overflow,
}

impl std::fmt::Display for WalletError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WalletError::NoName => f.write_str("wallet name is empty"),
            WalletError::NotPositive(a) => write!(f, "amount {a} must be above zero"),
            WalletError::Short(w, balance, amount) => write!(
                f,
                "wallet `{w}` has a balance of {balance}, short of {amount}"
            ),
            WalletError::SelfTransfer(w) => write!(f, "cannot transfer from `{w}` to itself"),
            WalletError::Overflow => f.write_str("balance too large"),
        }
    }
}

impl std::error::Error for WalletError {}

/// Balances by wallet name; an absent wallet has a zero balance.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Wallets(BTreeMap<String, Fixed>);

fn check(wallet: &str, amount: Fixed) -> Result<(), WalletError> {
    if wallet.trim().is_empty() {
        return Err(WalletError::NoName);
    }
    if amount <= Fixed::ZERO {
        return Err(WalletError::NotPositive(amount));
    }
    Ok(())
}

impl Wallets {
    /// A wallet's balance (zero if it never earned).
    pub fn balance(&self, wallet: &str) -> Fixed {
        self.0.get(wallet).copied().unwrap_or_default()
    }

    /// All balances, by name.
    pub fn all(&self) -> &BTreeMap<String, Fixed> {
        &self.0
    }

    /// Adds to a wallet; returns the new balance.
    pub fn earn(&mut self, wallet: &str, amount: Fixed) -> Result<Fixed, WalletError> {
        check(wallet, amount)?;
        let new = self
            .balance(wallet)
            .checked_add(amount)
            .ok_or(WalletError::Overflow)?;
        self.0.insert(wallet.to_owned(), new);
        Ok(new)
    }

    /// Takes from a wallet, refused when the balance is short; returns the new balance.
    pub fn spend(&mut self, wallet: &str, amount: Fixed) -> Result<Fixed, WalletError> {
        check(wallet, amount)?;
        let balance = self.balance(wallet);
        if balance < amount {
            return Err(WalletError::Short(wallet.to_owned(), balance, amount));
        }
        let new = balance.checked_sub(amount).ok_or(WalletError::Overflow)?;
        self.0.insert(wallet.to_owned(), new);
        Ok(new)
    }

    /// Moves `amount` between wallets, all or nothing; returns both new balances.
    pub fn transfer(
        &mut self,
        from: &str,
        to: &str,
        amount: Fixed,
    ) -> Result<(Fixed, Fixed), WalletError> {
        check(from, amount)?;
        check(to, amount)?;
        if from == to {
            return Err(WalletError::SelfTransfer(from.to_owned()));
        }
        let from_balance = self.balance(from);
        if from_balance < amount {
            return Err(WalletError::Short(from.to_owned(), from_balance, amount));
        }
        // Compute both sides before touching either.
        let new_from = from_balance
            .checked_sub(amount)
            .ok_or(WalletError::Overflow)?;
        let new_to = self
            .balance(to)
            .checked_add(amount)
            .ok_or(WalletError::Overflow)?;
        self.0.insert(from.to_owned(), new_from);
        self.0.insert(to.to_owned(), new_to);
        Ok((new_from, new_to))
    }

    /// Sum of all balances.
    pub fn total(&self) -> Option<Fixed> {
        self.0
            .values()
            .try_fold(Fixed::ZERO, |acc, b| acc.checked_add(*b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str) -> Fixed {
        Fixed::parse(s).unwrap()
    }

    #[test]
    fn spend_is_refused_when_short_and_changes_nothing() {
        let mut w = Wallets::default();
        assert_eq!(w.earn("w1", f("10")), Ok(f("10")));
        assert_eq!(w.spend("w1", f("4.25")), Ok(f("5.75")));
        let err = w.spend("w1", f("6")).unwrap_err();
        assert_eq!(err, WalletError::Short("w1".into(), f("5.75"), f("6")));
        assert_eq!(
            err.to_string(),
            "wallet `w1` has a balance of 5.7500, short of 6.0000"
        );
        assert_eq!(w.balance("w1"), f("5.75"));
        assert_eq!(
            w.spend("nobody", f("1")).unwrap_err().to_string(),
            "wallet `nobody` has a balance of 0.0000, short of 1.0000"
        );
        assert!(matches!(
            w.earn("w1", f("0")),
            Err(WalletError::NotPositive(_))
        ));
        assert!(matches!(
            w.earn("w1", f("-1")),
            Err(WalletError::NotPositive(_))
        ));
        assert_eq!(w.earn(" ", f("1")), Err(WalletError::NoName));
    }

    #[test]
    fn transfer_is_all_or_nothing() {
        let mut w = Wallets::default();
        w.earn("a", f("3")).unwrap();
        assert_eq!(w.transfer("a", "b", f("1.5")), Ok((f("1.5"), f("1.5"))));
        assert!(matches!(
            w.transfer("a", "b", f("2")),
            Err(WalletError::Short(_, _, _))
        ));
        assert_eq!((w.balance("a"), w.balance("b")), (f("1.5"), f("1.5")));
        assert_eq!(
            w.transfer("a", "a", f("1")),
            Err(WalletError::SelfTransfer("a".into()))
        );
        assert_eq!(w.total(), Some(f("3")));
    }
}
