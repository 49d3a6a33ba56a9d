//! Cost of crossing the plugin boundary, with the real example plugin library:
//!
//! - `event/direct`: serialize a host event to JSON and deliver it to a subsystem across the
//!   ABI (the plugin deserializes it).
//! - `query/direct`: a named query and its JSON answer across the ABI.
//! - `query/actor`: the same through the registry, i.e. queued to the plugin's own thread
//!   and back (what the API and other plugins pay).
//!
//! Builds the plugin in release mode first (`cargo bench -p hypernet --bench plugin_abi`).

use abi_stable::std_types::RStr;
use criterion::{Criterion, criterion_group, criterion_main};
use hypernet_engine::{Manifest, Registry, RegistryOptions, loader};
use hypernet_plugin_api::Event;
use hypernet_plugin_api::testing::TestHost;
use hypernet_store::Store;
use serde_json::json;
use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;

fn release_dir() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "-p", "hypernet-plugin-example"])
        .current_dir(&root)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the example plugin failed");
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("release")
}

fn bench(c: &mut Criterion) {
    let dir = release_dir();
    let lib_path = dir.join("libhypernet_plugin_example.so");
    let library = loader::load("example", &lib_path).expect("example plugin loads");
    let test_host = TestHost::new("example");
    let ffi_host = hypernet_plugin_api::abi::HostFfi_TO::from_ptr(
        abi_stable::std_types::RArc::new(test_host.clone()),
        abi_stable::sabi_trait::TD_Opaque,
    );
    let config = r#"{"ignore":["task.progress"]}"#;
    let mut service =
        (library.module.start())(RStr::from_str("counter"), RStr::from_str(config), ffi_host)
            .into_result()
            .expect("counter starts");

    let mut event = Event::new(
        "task.progress",
        "host",
        json!({"id": "T-1042", "worker": "2.1.trace", "status": "running", "tokens": 1834}),
    );
    c.bench_function("event/direct", |b| {
        b.iter(|| {
            event.id += 1;
            let json = serde_json::to_string(&event).unwrap();
            service.on_event(RStr::from_str(&json)).unwrap();
        })
    });

    let args = json!({"kind": "task.created"});
    c.bench_function("query/direct", |b| {
        b.iter(|| {
            let payload = args.to_string();
            let out = service
                .call(RStr::from_str("count"), RStr::from_str(&payload))
                .unwrap();
            black_box(serde_json::from_str::<serde_json::Value>(&out).unwrap())
        })
    });

    let data = tempfile::tempdir().unwrap();
    let manifest = Manifest::parse(
        &format!(
            "[[plugin]]\nname = \"example\"\npath = {:?}\ncapabilities = [\"kv\"]\n",
            lib_path.display().to_string()
        ),
        "bench manifest",
        data.path(),
    )
    .unwrap();
    let store = Store::open(&data.path().join("bench.redb"), &[]).unwrap();
    let registry = Registry::start(manifest, store, RegistryOptions::default()).unwrap();
    c.bench_function("query/actor", |b| {
        b.iter(|| {
            black_box(
                registry
                    .query_blocking("example", "count", args.clone())
                    .unwrap(),
            )
        })
    });
    registry.shutdown();
}

criterion_group!(benches, bench);
criterion_main!(benches);
