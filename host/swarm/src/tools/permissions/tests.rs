//! The tier rule at every boundary, grants, approvals, and `permissions.set`.

use super::*;
use serde_json::json;

fn access(tier: Tier, grants: &[&str]) -> Access {
    Access {
        tier,
        grants: grants.iter().map(|g| g.to_string()).collect(),
    }
}

fn approvals() -> Vec<String> {
    vec!["shell".into(), "http".into(), DESTRUCTIVE.into()]
}

#[test]
fn each_tier_boundary_allows_at_and_above_and_refuses_below() {
    let tiers = [
        Tier::ReadOnly,
        Tier::OwnWorkspace,
        Tier::Shared,
        Tier::External,
        Tier::Destructive,
    ];
    for (i, needed) in tiers.iter().enumerate() {
        let needs = Requirement::at(*needed);
        for (j, has) in tiers.iter().enumerate() {
            let d = decide("Trace", Some(&access(*has, &[])), "t", Some(&needs), &[]);
            if j >= i {
                assert_eq!(
                    d,
                    Decision::Allow,
                    "tier {has} calling a tier-{needed} tool"
                );
            } else {
                assert_eq!(
                    d,
                    Decision::Deny(format!("`t` needs tier {needed}; Trace has tier {has}")),
                );
            }
        }
    }
}

#[test]
fn unknown_requirement_or_worker_fails_closed() {
    let a = access(Tier::Destructive, &["t"]);
    let d = decide("Trace", Some(&a), "t", None, &[]);
    assert!(matches!(&d, Decision::Deny(r) if r.contains("states no permission tier")));
    let d = decide(
        "Spark-1",
        None,
        "t",
        Some(&Requirement::at(Tier::ReadOnly)),
        &[],
    );
    assert!(matches!(&d, Decision::Deny(r) if r.contains("`Spark-1` has no permission tier")));
}

#[test]
fn external_tools_need_a_grant_then_an_approval() {
    let needs = Requirement::at(Tier::External).granted();
    let ungranted = access(Tier::External, &[]);
    let d = decide(
        "Trace",
        Some(&ungranted),
        "shell",
        Some(&needs),
        &approvals(),
    );
    assert_eq!(
        d,
        Decision::Deny(
            "`shell` needs an explicit grant: Trace's `grants` does not list \"shell\"".into()
        )
    );
    let granted = access(Tier::External, &["shell", "http"]);
    for tool in ["shell", "http"] {
        let d = decide("Trace", Some(&granted), tool, Some(&needs), &approvals());
        assert!(matches!(d, Decision::NeedsApproval(_)), "{tool}: {d:?}");
    }
    let d = decide("Trace", Some(&granted), "shell", Some(&needs), &[]);
    assert_eq!(d, Decision::Allow);
}

#[test]
fn destructive_calls_need_tier_four_then_an_approval() {
    let needs = Requirement::at(Tier::Shared).destructive("`git stash drop`");
    let d = decide(
        "Trace",
        Some(&access(Tier::External, &[])),
        "git",
        Some(&needs),
        &[],
    );
    assert_eq!(
        d,
        Decision::Deny(
            "`git stash drop` needs tier 4 (destructive); Trace has tier 3 (external)".into()
        )
    );
    let top = access(Tier::Destructive, &[]);
    let d = decide("Trace", Some(&top), "git", Some(&needs), &approvals());
    assert_eq!(
        d,
        Decision::NeedsApproval(
            "`git stash drop` is destructive ([tools] approval_required); it was not run".into()
        )
    );
    assert_eq!(
        decide("Trace", Some(&top), "git", Some(&needs), &[]),
        Decision::Allow
    );
}

#[test]
fn a_call_listed_under_another_word_is_held_only_by_that_word() {
    let worker = Requirement::at(Tier::Shared).listed_as("worker_message");
    let a = access(Tier::Shared, &[]);
    let listed = vec!["send_message".to_owned()];
    assert_eq!(
        decide("Trace", Some(&a), "send_message", Some(&worker), &listed),
        Decision::Allow,
        "listing the tool does not hold its calls listed under another word"
    );
    assert_eq!(
        decide(
            "Trace",
            Some(&a),
            "send_message",
            Some(&Requirement::at(Tier::Shared)),
            &listed
        ),
        Decision::NeedsApproval(
            "calls of `send_message` wait for approval ([tools] approval_required); it was not run"
                .into()
        )
    );
    let d = decide(
        "Trace",
        Some(&a),
        "send_message",
        Some(&worker),
        &["worker_message".into()],
    );
    assert_eq!(
        d,
        Decision::NeedsApproval(
            "`send_message` calls of the kind `worker_message` wait for approval ([tools] approval_required); it was not run".into()
        )
    );
    let low = access(Tier::OwnWorkspace, &[]);
    assert!(matches!(
        decide("Trace", Some(&low), "send_message", Some(&worker), &[]),
        Decision::Deny(_)
    ));
}

#[test]
fn tiers_read_from_numbers_and_change_by_command() {
    let w: WorkerConfig =
        toml::from_str("name = \"Trace\"\ntier = 1\ngrants = [\"shell\"]\n").unwrap();
    assert_eq!(w.tier, Tier::OwnWorkspace);
    let err = toml::from_str::<WorkerConfig>("name = \"Trace\"\ntier = 7\n").unwrap_err();
    assert!(err.to_string().contains("not 7"), "{err}");
    let default: WorkerConfig = toml::from_str("name = \"Keystone\"\n").unwrap();
    assert_eq!(default.tier, Tier::Shared);

    let perms = TierPermission::new(&[w, default], &[]);
    let command = |perms: &TierPermission, args: serde_json::Value| {
        let set = hypernet_plugin_api::protocol::PermissionsSet::from_args(&args)
            .map_err(|e| e.to_string())?;
        perms
            .run(&set)
            .map(|changed| serde_json::to_value(changed).unwrap())
    };
    assert_eq!(perms.access("trace").unwrap().tier, Tier::OwnWorkspace);
    let out = command(&perms, json!({"worker": "trace", "tier": 3})).unwrap();
    assert_eq!(out, json!({"worker": "Trace", "tier": 3, "previous": 1}));
    assert_eq!(perms.access("Trace").unwrap().tier, Tier::External);
    let e = command(&perms, json!({"worker": "Nobody", "tier": 1})).unwrap_err();
    assert_eq!(
        e,
        "permissions.set: no worker named `Nobody` (known: Keystone, Trace)"
    );
    let e = command(&perms, json!({"worker": "Trace", "tier": 9})).unwrap_err();
    assert!(e.contains("not 9"), "{e}");
    let e = command(&perms, json!({"tier": 1})).unwrap_err();
    assert!(e.contains("`worker`"), "{e}");
}

#[test]
fn a_changed_tier_is_kept_and_restored_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.redb");
    let workers: Vec<WorkerConfig> = ["name = \"Trace\"\n", "name = \"Keystone\"\ntier = 1\n"]
        .iter()
        .map(|t| toml::from_str(t).unwrap())
        .collect();
    {
        let store = crate::persist::open_store(&path).unwrap();
        let perms = TierPermission::new(&workers, &[]).restore(store).unwrap();
        let set = hypernet_plugin_api::protocol::PermissionsSet {
            worker: "Trace".into(),
            tier: 4,
        };
        perms.run(&set).unwrap();
    }
    let store = crate::persist::open_store(&path).unwrap();
    let fresh = TierPermission::new(&workers, &[]);
    assert_eq!(
        fresh.access("Trace").unwrap().tier,
        Tier::Shared,
        "as configured"
    );
    let restored = fresh.restore(store).unwrap();
    assert_eq!(restored.access("Trace").unwrap().tier, Tier::Destructive);
    assert_eq!(
        restored.access("Keystone").unwrap().tier,
        Tier::OwnWorkspace,
        "unchanged"
    );
    // Only the configured workers are restored.
    let store = crate::persist::open_store(&dir.path().join("other.redb")).unwrap();
    store.kv_put("host:permissions", "ghost", b"3").unwrap();
    let only = TierPermission::new(&workers[..1], &[])
        .restore(store)
        .unwrap();
    assert!(only.access("ghost").is_none());
}
