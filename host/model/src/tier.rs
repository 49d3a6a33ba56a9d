//! Permission tiers: how much a worker's tool call may touch, from reading only to what
//! cannot be undone. Each worker has one (`tier` in `hypernet.toml`); each tool call needs
//! one.

use serde::{Deserialize, Serialize};

/// How much a call may touch, from least to most.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(try_from = "u8", into = "u8")]
pub enum Tier {
    /// 0: reads only.
    ReadOnly = 0,
    /// 1: writes in the worker's own workspace.
    OwnWorkspace = 1,
    /// 2: shared state, such as the workspace's git repository (the default).
    #[default]
    Shared = 2,
    /// 3: the world outside the host: programs, the network.
    External = 3,
    /// 4: what cannot be undone: deleting files, dropping stashes, deleting branches.
    Destructive = 4,
}

impl Tier {
    /// Its name, for messages.
    pub fn label(self) -> &'static str {
        match self {
            Tier::ReadOnly => "read-only",
            Tier::OwnWorkspace => "own workspace",
            Tier::Shared => "shared",
            Tier::External => "external",
            Tier::Destructive => "destructive",
        }
    }
}

impl std::fmt::Display for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", *self as u8, self.label())
    }
}

impl TryFrom<u8> for Tier {
    type Error = String;

    fn try_from(n: u8) -> Result<Tier, String> {
        Ok(match n {
            0 => Tier::ReadOnly,
            1 => Tier::OwnWorkspace,
            2 => Tier::Shared,
            3 => Tier::External,
            4 => Tier::Destructive,
            n => {
                return Err(format!(
                    "a tier is 0 (read-only) to 4 (destructive), not {n}"
                ));
            }
        })
    }
}

impl From<Tier> for u8 {
    fn from(t: Tier) -> u8 {
        t as u8
    }
}
