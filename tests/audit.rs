//! The audit log end to end: a budget change through the API is a signed entry that
//! `hypernet audit verify` accepts; keys rotate through the CLI; after the host stops, one
//! entry edited in the redb file makes `hypernet audit verify --offline` fail naming it.
//! Real binary, real redb file.

use hypernet_integration::Env;
use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde_json::{Value, json};

/// The host's audit table: entries by seq, JSON records.
const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("audit");

fn entries(env: &Env) -> Vec<Value> {
    let page = env.run(&["audit", "list", "--json"]).json();
    page["items"].as_array().cloned().unwrap_or_default()
}

/// Changes `field` of the detail of entry `seq` in the stopped host's redb file.
fn tamper(env: &Env, seq: u64, field: &str, value: Value) {
    let db = redb::Database::open(env.data_dir().join("hypernet.redb")).expect("the redb file");
    let txn = db.begin_write().unwrap();
    {
        let mut table = txn.open_table(AUDIT).unwrap();
        let mut entry: Value = {
            let bytes = table.get(seq).unwrap().expect("the entry is stored");
            serde_json::from_slice(bytes.value()).unwrap()
        };
        entry["detail"][field] = value;
        table
            .insert(seq, serde_json::to_vec(&entry).unwrap().as_slice())
            .unwrap();
    }
    txn.commit().unwrap();
    let read = db.begin_read().unwrap();
    let table = read.open_table(AUDIT).unwrap();
    assert!(table.get(seq).unwrap().is_some());
}

#[test]
fn a_tampered_entry_fails_offline_verification_naming_its_seq() {
    let env = Env::new();
    env.manifest("[[plugin]]\nname = \"provider-sim\"\ncapabilities = [\"log\"]\n");
    let host = env.start();

    let (code, body) = env.api("/api/budget", Some(&json!({ "daily_limit_usd": 3.0 })));
    assert_eq!(code, 200, "{body}");
    let listed = entries(&env);
    let change = listed
        .iter()
        .find(|e| e["kind"] == "budget_change")
        .unwrap_or_else(|| panic!("no budget_change in {listed:?}"));
    assert_eq!(change["actor"], "api");
    assert_eq!(change["detail"]["daily_limit_micros"], 3_000_000);
    let seq = change["seq"].as_u64().unwrap();
    assert!(
        listed.iter().any(|e| e["kind"] == "key_change"),
        "{listed:?}"
    );

    let ok = env.run(&["audit", "verify"]).ok().to_owned();
    assert!(ok.contains("audit chain ok"), "{ok}");

    let keys = env.run(&["keys", "list", "--json"]).json();
    assert_eq!(keys["total"], 1, "{keys}");
    let first = keys["items"][0]["id"].as_str().unwrap().to_owned();
    let rotated = env.run(&["keys", "rotate", "--json"]).json();
    assert_eq!(rotated["predecessor"], first.as_str());
    let refused = env.run(&["keys", "revoke", rotated["id"].as_str().unwrap()]);
    assert!(
        refused.fails().contains("rotate first"),
        "{}",
        refused.stderr
    );
    let listing = env.run(&["keys", "list"]).ok().to_owned();
    assert!(
        listing.contains(&first) && listing.contains("rotated"),
        "{listing}"
    );
    let text = env.run(&["keys", "list", "--json"]).stdout;
    let secret_file = env.data_dir().join("keys").join(format!("{first}.key"));
    let secret = std::fs::read_to_string(&secret_file).unwrap();
    assert!(!text.contains(secret.trim()), "a secret was listed");
    let worker_key = env.run(&["keys", "generate", "2.1.coder", "--json"]).json();
    assert_eq!(worker_key["owner"], "2.1.coder");
    assert_eq!(worker_key["status"], "active");
    let twice = env.run(&["keys", "generate", "2.1.coder"]);
    assert!(twice.fails().contains("active key"), "{}", twice.stderr);
    let next = env
        .run(&["keys", "rotate", "--owner", "2.1.coder", "--json"])
        .json();
    assert_eq!(next["predecessor"], worker_key["id"]);
    assert_eq!(next["owner"], "2.1.coder");
    let report = env.run(&["audit", "verify", "--json"]).json();
    assert_eq!(report["ok"], true, "{report}");

    assert_eq!(host.stop(), Some(0));
    let ok = env.run(&["audit", "verify", "--offline"]).ok().to_owned();
    assert!(ok.contains("audit chain ok"), "{ok}");

    tamper(&env, seq, "daily_limit_usd", json!(1000.0));
    let broken = env.run(&["audit", "verify", "--offline"]);
    let stderr = broken.fails();
    assert!(
        stderr.contains(&format!("broken at seq {seq}:")),
        "{stderr}"
    );
    assert!(stderr.contains("hash does not match"), "{stderr}");
}

#[test]
fn pruning_from_the_cli_keeps_the_rest_of_the_chain_verifiable() {
    let env = Env::new();
    env.manifest("[[plugin]]\nname = \"provider-sim\"\ncapabilities = [\"log\"]\n");
    let _host = env.start();
    for usd in [3.0, 4.0, 5.0, 6.0] {
        let (code, body) = env.api("/api/budget", Some(&json!({ "daily_limit_usd": usd })));
        assert_eq!(code, 200, "{body}");
    }
    let before = entries(&env).len();
    assert!(before >= 5, "{before} entries");
    let out = env.run(&["audit", "prune", "--keep", "2"]).ok().to_owned();
    assert!(
        out.starts_with(&format!("removed {} entries", before - 2)),
        "{out}"
    );
    let kept = entries(&env);
    assert_eq!(kept.len(), 3, "two kept and the checkpoint: {kept:?}");
    assert_eq!(kept[0]["kind"], "checkpoint", "newest first: {kept:?}");
    let ok = env.run(&["audit", "verify"]).ok().to_owned();
    assert!(ok.contains("audit chain ok"), "{ok}");
    let again = env.run(&["audit", "prune", "--keep", "10"]).ok().to_owned();
    assert!(again.starts_with("nothing to remove"), "{again}");
    let zero = env.run(&["audit", "prune", "--keep", "0"]);
    assert!(
        zero.fails().contains("`keep_last` must be at least 1"),
        "{}",
        zero.stderr
    );
}
