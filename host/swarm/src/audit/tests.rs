//! The audit log against a real redb file: appends verify, and each kind of tampering is
//! found at the entry it touched.

use super::*;
use crate::security::redact::REDACTED as REDACTED_VALUE;
use redb::{ReadableTable, ReadableTableMetadata};

struct World {
    _dir: tempfile::TempDir,
    store: Store,
    audit: Audit,
}

/// A fresh store and keyring; the first entry is the first key's `key_change`.
fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::persist::open_store(&dir.path().join("hypernet.redb")).unwrap();
    let audit = Audit::open(store.clone(), &dir.path().join("keys")).unwrap();
    World {
        _dir: dir,
        store,
        audit,
    }
}

fn fill(audit: &Audit, n: u64) {
    for i in 0..n {
        audit
            .append(
                AuditKind::ToolCall,
                "Trace",
                json!({ "tool": "read_file", "i": i }),
            )
            .unwrap();
    }
}

fn first_bad(audit: &Audit) -> BadEntry {
    let report = audit.verify().unwrap();
    assert!(!report.ok, "{report:?}");
    report.first_bad.expect("a bad entry")
}

/// Rewrites the stored bytes of entry `seq` with `change`.
fn tamper(store: &Store, seq: u64, change: impl FnOnce(&mut Value)) {
    store
        .write(|txn| {
            let mut table = txn.open_table(crate::audit::persist::TABLE)?;
            let mut value: Value = {
                let bytes = table.get(seq)?.expect("the entry exists");
                serde_json::from_slice(bytes.value()).unwrap()
            };
            change(&mut value);
            table.insert(seq, serde_json::to_vec(&value).unwrap().as_slice())?;
            Ok(())
        })
        .unwrap();
}

fn remove(store: &Store, seq: u64) {
    store
        .write(|txn| {
            txn.open_table(crate::audit::persist::TABLE)?.remove(seq)?;
            Ok(())
        })
        .unwrap();
}

#[test]
fn appends_chain_and_verify() {
    let w = world();
    fill(&w.audit, 4);
    let seq = w
        .audit
        .append(
            AuditKind::BudgetChange,
            "api",
            json!({ "daily_limit_usd": 5.0 }),
        )
        .unwrap();
    assert_eq!(seq, 6, "after the first key's entry and four tool calls");
    let report = w.audit.verify().unwrap();
    assert_eq!(
        report,
        VerifyReport {
            ok: true,
            entries_checked: 6,
            first_bad: None,
            broken_key: None,
        }
    );
    let (page, total) = w.audit.list(0, 2).unwrap();
    assert_eq!(total, 6);
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), [6, 5]);
    assert_eq!(page[0].prev_hash, page[1].hash);
    assert_eq!(page[0].kind, AuditKind::BudgetChange);
    let (oldest, _) = w.audit.list(5, 10).unwrap();
    assert_eq!(oldest[0].seq, 1);
    assert_eq!(oldest[0].prev_hash, GENESIS_HASH);
    assert_eq!(oldest[0].kind, AuditKind::KeyChange);
}

#[test]
fn the_chain_continues_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hypernet.redb");
    let keys = dir.path().join("keys");
    {
        let audit = Audit::open(crate::persist::open_store(&path).unwrap(), &keys).unwrap();
        fill(&audit, 3);
    }
    let audit = Audit::open(crate::persist::open_store(&path).unwrap(), &keys).unwrap();
    assert_eq!(
        audit
            .append(AuditKind::Approval, "host", json!({}))
            .unwrap(),
        5
    );
    assert!(audit.verify().unwrap().ok);
}

#[test]
fn secrets_are_redacted_before_sealing() {
    let w = world();
    w.audit
        .append(
            AuditKind::PluginCommand,
            "governance",
            json!({ "command": "x", "args": { "api_key": "sk-live", "n": 1 } }),
        )
        .unwrap();
    let (page, _) = w.audit.list(0, 1).unwrap();
    assert_eq!(page[0].detail["args"]["api_key"], REDACTED_VALUE);
    assert_eq!(page[0].detail["args"]["n"], 1);
    assert!(w.audit.verify().unwrap().ok);
}

#[test]
fn an_edited_entry_is_named() {
    let w = world();
    fill(&w.audit, 5);
    tamper(&w.store, 3, |e| e["actor"] = json!("Mallory"));
    let bad = first_bad(&w.audit);
    assert_eq!(bad.seq, 3);
    assert!(bad.reason.contains("hash does not match"), "{}", bad.reason);
}

#[test]
fn an_edit_with_its_hash_recomputed_fails_the_signature() {
    let w = world();
    fill(&w.audit, 5);
    tamper(&w.store, 4, |e| {
        e["detail"]["tool"] = json!("shell");
        let mut entry: AuditEntry = serde_json::from_value(e.clone()).unwrap();
        entry.hash = entry.content_hash();
        *e = serde_json::to_value(entry).unwrap();
    });
    let bad = first_bad(&w.audit);
    assert_eq!(bad.seq, 4);
    assert!(bad.reason.contains("does not verify"), "{}", bad.reason);
}

#[test]
fn an_undecodable_entry_is_named() {
    let w = world();
    fill(&w.audit, 3);
    w.store
        .write(|txn| {
            txn.open_table(crate::audit::persist::TABLE)?
                .insert(2, b"not json".as_slice())?;
            Ok(())
        })
        .unwrap();
    let bad = first_bad(&w.audit);
    assert_eq!(bad.seq, 2);
    assert!(bad.reason.contains("does not decode"), "{}", bad.reason);
}

#[test]
fn a_deleted_entry_is_named() {
    let w = world();
    fill(&w.audit, 5);
    remove(&w.store, 3);
    let bad = first_bad(&w.audit);
    assert_eq!(bad.seq, 3);
    assert!(bad.reason.contains("seq 3 is missing"), "{}", bad.reason);
}

#[test]
fn entries_removed_from_either_end_are_noticed() {
    let w = world();
    fill(&w.audit, 5);
    remove(&w.store, 6);
    remove(&w.store, 5);
    let bad = first_bad(&w.audit);
    assert_eq!(bad.seq, 5);
    assert!(bad.reason.contains("missing at the end"), "{}", bad.reason);

    let w = world();
    fill(&w.audit, 5);
    remove(&w.store, 1);
    let bad = first_bad(&w.audit);
    assert_eq!(bad.seq, 2);
    assert!(bad.reason.contains("no checkpoint"), "{}", bad.reason);
}

#[test]
fn a_pruned_log_verifies_from_its_checkpoint() {
    let w = world();
    fill(&w.audit, 9);
    assert_eq!(w.audit.prune(100).unwrap(), None);
    let pruned = w.audit.prune(4).unwrap().unwrap();
    assert_eq!(
        pruned,
        Pruned {
            removed: 6,
            pruned_through: 6,
            checkpoint_seq: 11,
        }
    );
    let report = w.audit.verify().unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.entries_checked, 5);
    let (page, total) = w.audit.list(0, 10).unwrap();
    assert_eq!(total, 5);
    assert_eq!(page[0].kind, AuditKind::Checkpoint);
    assert_eq!(page[0].detail["pruned_through"], 6);

    fill(&w.audit, 3);
    w.audit.prune(0).unwrap().unwrap();
    let report = w.audit.verify().unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.entries_checked, 1);
    fill(&w.audit, 2);
    assert!(w.audit.verify().unwrap().ok);
}

#[test]
fn a_tampered_entry_at_the_pruning_edge_still_shows() {
    let w = world();
    fill(&w.audit, 6);
    tamper(&w.store, 4, |e| e["hash"] = json!("00".repeat(32)));
    w.audit.prune(3).unwrap().unwrap();
    let bad = first_bad(&w.audit);
    assert_eq!(bad.seq, 5);
    assert!(bad.reason.contains("no checkpoint"), "{}", bad.reason);
}

#[test]
fn rotated_keys_verify_and_revoked_ones_are_named() {
    let w = world();
    fill(&w.audit, 2);
    let first = w.audit.keys()[0].id.clone();
    let second = w.audit.rotate_key("api").unwrap();
    assert_eq!(second.predecessor.as_ref(), Some(&first));
    fill(&w.audit, 2);
    let report = w.audit.verify().unwrap();
    assert!(report.ok, "{report:?}");
    let (page, _) = w.audit.list(0, 1).unwrap();
    assert_eq!(page[0].key_id, second.id);

    w.audit.revoke_key(&first, "api").unwrap();
    let bad = first_bad(&w.audit);
    assert_eq!(bad.seq, 1);
    assert!(
        bad.reason.contains("revoked") && bad.reason.contains(first.as_str()),
        "{}",
        bad.reason
    );
    assert!(matches!(
        w.audit.revoke_key(&second.id, "api"),
        Err(AuditError::Key(KeyError::RevokeActive(..)))
    ));
    let kinds: Vec<AuditKind> = w
        .audit
        .list(0, 10)
        .unwrap()
        .0
        .iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == AuditKind::KeyChange).count(),
        3
    );
}

#[test]
fn concurrent_appends_make_one_chain() {
    let w = world();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let audit = w.audit.clone();
            std::thread::spawn(move || {
                (0..25)
                    .map(|i| {
                        audit
                            .append(AuditKind::ToolCall, &format!("w{t}"), json!({ "i": i }))
                            .unwrap()
                    })
                    .collect::<Vec<u64>>()
            })
        })
        .collect();
    let mut seqs: Vec<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (2..=101).collect::<Vec<u64>>());
    let report = w.audit.verify().unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.entries_checked, 101);
    let stored = w
        .store
        .read(|txn| Ok(txn.open_table(crate::audit::persist::TABLE)?.len()?))
        .unwrap();
    assert_eq!(stored, 101);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_host_commands_and_their_budget_changes_are_recorded() {
    use hypernet_engine::registry::TaskSink;
    use hypernet_engine::{Manifest, Registry, RegistryOptions};
    let w = world();
    let manifest = Manifest::parse("", "test manifest", w._dir.path()).unwrap();
    let config = crate::config::HostConfig {
        standing: Vec::new(),
        ..Default::default()
    };
    let inbox = crate::scheduler::Inbox::default();
    let permissions = std::sync::Arc::new(crate::tools::TierPermission::new(
        &config.workers,
        &config.tools.approval_required,
    ));
    let sink = inbox.host_commands(permissions.clone(), Some(w.audit.clone()));
    let options = RegistryOptions {
        tasks: Some(std::sync::Arc::new(sink.clone())),
        ..RegistryOptions::default()
    };
    let registry = Registry::start(manifest, w.store.clone(), options).unwrap();
    let parts = crate::scheduler::Parts {
        store: w.store.clone(),
        registry,
        inbox,
        permissions,
        audit: Some(w.audit.clone()),
        outbox: None,
        probe: None,
    };
    let scheduler = crate::scheduler::Scheduler::start(&config, parts)
        .await
        .unwrap();
    let (set, unknown) = tokio::task::spawn_blocking(move || {
        let args = json!({ "daily_limit_usd": 2.5, "token": "t0p" });
        let set = sink.command_blocking("governance", "budget.set", args);
        let unknown = sink.command_blocking("economy", "nope", json!({}));
        (set, unknown)
    })
    .await
    .unwrap();
    assert!(set.is_ok() && unknown.is_err(), "{set:?} {unknown:?}");
    let (page, _) = w.audit.list(0, 3).unwrap();
    let summary: Vec<(AuditKind, &str)> = page.iter().map(|e| (e.kind, e.actor.as_str())).collect();
    assert_eq!(
        summary,
        [
            (AuditKind::PluginCommand, "economy"),
            (AuditKind::BudgetChange, "governance"),
            (AuditKind::PluginCommand, "governance"),
        ]
    );
    assert_eq!(page[0].detail["ok"], false);
    assert_eq!(page[1].detail["daily_limit_micros"], 2_500_000);
    assert_eq!(page[2].detail["args"]["token"], REDACTED_VALUE);
    assert!(w.audit.verify().unwrap().ok);
    scheduler.shutdown(std::time::Duration::from_secs(1)).await;
}
