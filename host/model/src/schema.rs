//! Schemas of the `hypernet-plugin-api` types the API shows. That crate is the plugins' stable
//! ABI and carries no documentation machinery, so each type has a mirror here with the same
//! serde shape (the tests serialize both and compare).

use serde::Serialize;

/// A task's priority (`hypernet_plugin_api::Priority`); `normal` when not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// Weight 100.
    Low,
    /// Weight 200, the default.
    Normal,
    /// Weight 300.
    High,
    /// Weight 400.
    Critical,
}

/// What a plugin's service is (`hypernet_plugin_api::ServiceKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ServiceKind {
    /// Receives events and answers queries.
    Subsystem,
    /// An LLM provider.
    Provider,
    /// A channel to people.
    Channel,
}

/// One service of a plugin (`hypernet_plugin_api::ServiceInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ServiceInfo {
    /// Service name, unique within the plugin.
    pub name: String,
    /// What it is.
    pub kind: ServiceKind,
}

#[cfg(test)]
mod tests {
    use super::*;
    use hypernet_plugin_api as abi;
    use serde_json::to_value;

    fn priority(p: abi::Priority) -> Priority {
        match p {
            abi::Priority::Low => Priority::Low,
            abi::Priority::Normal => Priority::Normal,
            abi::Priority::High => Priority::High,
            abi::Priority::Critical => Priority::Critical,
        }
    }

    fn kind(k: abi::ServiceKind) -> ServiceKind {
        match k {
            abi::ServiceKind::Subsystem => ServiceKind::Subsystem,
            abi::ServiceKind::Provider => ServiceKind::Provider,
            abi::ServiceKind::Channel => ServiceKind::Channel,
            other => panic!("no mirror for the service kind {other:?}"),
        }
    }

    #[test]
    fn mirrors_serialize_like_the_plugin_api_types() {
        use abi::Priority::{Critical, High, Low, Normal};
        for p in [Low, Normal, High, Critical] {
            assert_eq!(to_value(p).unwrap(), to_value(priority(p)).unwrap());
        }
        for k in [
            abi::ServiceKind::Subsystem,
            abi::ServiceKind::Provider,
            abi::ServiceKind::Channel,
        ] {
            let real = abi::ServiceInfo {
                name: "chat".into(),
                kind: k,
            };
            let mirror = ServiceInfo {
                name: "chat".into(),
                kind: kind(k),
            };
            assert_eq!(to_value(real).unwrap(), to_value(mirror).unwrap());
        }
    }
}
