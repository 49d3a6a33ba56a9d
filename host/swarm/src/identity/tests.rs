//! Loading, creating, fixing and merging profiles in a temporary archive, and the prompt
//! sizes on the fixture archive (`host/swarm/tests/fixtures/archive`).

use super::*;
use std::path::Path;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/archive")
}

fn worker(name: &str, account: &str) -> WorkerConfig {
    WorkerConfig {
        name: name.into(),
        account: account.into(),
        address: String::new(),
        role: "engineer".into(),
        capabilities: vec!["code".into()],
        model: None,
        tier: Default::default(),
        grants: Vec::new(),
    }
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn missing_profiles_are_created_for_configured_workers() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("2.2/Instances/Keystone/notes.md"),
        "Notes.",
    );
    let (ids, report) = Identities::load(dir.path(), &[worker("Keystone", "2.2")]).unwrap();
    assert_eq!(report.created, ["Keystone"]);
    assert_eq!(ids.get("Keystone").unwrap().documents[0].text, "Notes.");
    let path = dir.path().join("2.2/Instances/Keystone/profile.json");
    let saved = read_json(&path);
    assert_eq!(saved["address"], "2.2.keystone");
    assert_eq!(saved["model"], "openai/gpt-4o");
    assert_eq!(saved["capabilities"], serde_json::json!(["code"]));
    assert!(!ids.get("keystone").unwrap().profile.booted());
    let (_, again) = Identities::load(dir.path(), &[worker("Keystone", "2.2")]).unwrap();
    assert_eq!(
        again,
        LoadReport::default(),
        "a second load changes nothing"
    );
}

#[test]
fn legacy_profiles_are_fixed_and_written_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("2.4/Instances/Librarian/profile.json");
    write(
        &path,
        r#"{"name":"Librarian","address":"","session_count":3,"shelf":"B"}"#,
    );
    write(
        &dir.path().join("2.4/Instances/Librarian/index.md"),
        "Shelves.",
    );
    write(&dir.path().join("core/charter.md"), "Charter.");
    let (ids, report) = Identities::load(dir.path(), &[]).unwrap();
    assert_eq!(report.fixed, ["2.4.librarian"]);
    let saved = read_json(&path);
    assert_eq!(saved["address"], "2.4.librarian");
    assert_eq!(saved["model"], "anthropic/claude-sonnet-4-5");
    assert_eq!(saved["shelf"], "B", "unknown keys survive the rewrite");
    let inst = ids.get("LIBRARIAN").unwrap();
    assert_eq!(inst.account, "2.4");
    assert_eq!(inst.documents[0].name, "index.md");
    assert_eq!(ids.core()[0].text, "Charter.");
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(".tmp"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "no temporary files left: {leftovers:?}"
    );
}

#[test]
fn copies_across_accounts_are_merged_into_the_busiest() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("2.1/Instances/Keel");
    let b = dir.path().join("2.2/Instances/keel");
    write(
        &a.join("profile.json"),
        r#"{"name":"Keel","session_count":2,"capabilities":["code"]}"#,
    );
    write(
        &b.join("profile.json"),
        r#"{"name":"keel","session_count":9,"capabilities":["testing"],"last_active":"2026-01-01T00:00:00Z"}"#,
    );
    let (ids, report) = Identities::load(dir.path(), &[worker("Keel", "2.1")]).unwrap();
    assert_eq!(report.merged, ["2.1.keel"]);
    assert!(
        report.created.is_empty(),
        "the configured worker found its profile"
    );
    let kept = read_json(&b.join("profile.json"));
    assert_eq!(kept["capabilities"], serde_json::json!(["testing", "code"]));
    assert_eq!(kept["merged_from"], serde_json::json!(["2.1.keel"]));
    assert!(!a.join("profile.json").exists());
    assert!(
        a.join("profile.merged.json").exists(),
        "the other copy is set aside"
    );
    assert_eq!(ids.get("Keel").unwrap().account, "2.2");
    let (_, again) = Identities::load(dir.path(), &[worker("Keel", "2.1")]).unwrap();
    assert_eq!(again, LoadReport::default());
}

#[test]
fn a_broken_profile_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("2.1/Instances/X/profile.json"), "{ nope");
    let err = format!("{:#}", Identities::load(dir.path(), &[]).unwrap_err());
    assert!(err.contains("2.1/Instances/X/profile.json"), "{err}");
}

#[test]
fn the_compact_prompt_is_at_most_one_percent_of_the_full_one() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture(), dir.path());
    let trace = WorkerConfig {
        name: "Trace".into(),
        ..worker("Trace", "2.1")
    };
    let (ids, report) = Identities::load(dir.path(), std::slice::from_ref(&trace)).unwrap();
    assert_eq!(report, LoadReport::default(), "the fixture is already tidy");
    let inst = ids.get("Trace").unwrap();
    assert!(ids.core().len() >= 5 && inst.documents.len() >= 3 && inst.messages.len() == 2);
    let sizes = ids.prompt_sizes(&trace, "anthropic/claude-opus-4-1", "Review 0.7.1.01880");
    println!("{sizes:?}");
    assert!(sizes.compact_chars > 400, "{sizes:?}");
    assert!(sizes.ratio <= 0.01, "{sizes:?}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
