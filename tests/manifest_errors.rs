//! Every kind of bad input gets a precise error and a non-zero exit, never a panic — from
//! `plugins check` and from `run` alike.

use hypernet_integration::{Env, Run};

/// Runs both `plugins check` and `run` on the manifest and returns their error output.
fn both_fail(env: &Env) -> (String, String) {
    let check: Run = env.check();
    let check_err = check.fails().to_owned();
    let run = env
        .try_start()
        .err()
        .expect("the host must refuse to start");
    (check_err, run)
}

#[test]
fn malformed_toml_names_file_line_and_column() {
    let env = Env::new();
    let path = env.manifest("[[plugin]]\nname = \"example\"\nenabled = maybe\n");
    let (check, run) = both_fail(&env);
    for err in [&check, &run] {
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(err.contains("line 3, column 11"), "{err}");
    }
}

#[test]
fn unknown_keys_and_capabilities_are_named() {
    let env = Env::new();
    env.manifest("[[plugin]]\nname = \"example\"\ncapabilites = [\"kv\"]\n");
    let (check, _) = both_fail(&env);
    assert!(check.contains("unknown field `capabilites`"), "{check}");

    env.manifest("[[plugin]]\nname = \"example\"\ncapabilities = [\"kv\", \"network\"]\n");
    let (check, _) = both_fail(&env);
    assert!(
        check.contains("network") && check.contains("line 3"),
        "{check}"
    );
}

#[test]
fn a_missing_library_lists_where_it_was_looked_for() {
    let env = Env::new();
    env.manifest("plugin_dirs = [\"extra\"]\n[[plugin]]\nname = \"nonexistent\"\n");
    let (check, run) = both_fail(&env);
    for err in [&check, &run] {
        assert!(
            err.contains(
                "plugin `nonexistent`: library libhypernet_plugin_nonexistent.so not found"
            ),
            "{err}"
        );
        assert!(
            err.contains("extra/libhypernet_plugin_nonexistent.so"),
            "{err}"
        );
    }
    env.manifest("[[plugin]]\nname = \"x\"\npath = \"nowhere/libx.so\"\n");
    let (check, _) = both_fail(&env);
    assert!(check.contains("nowhere/libx.so not found"), "{check}");
}

#[test]
fn a_file_that_is_not_a_library_or_not_a_plugin_is_refused() {
    let env = Env::new();
    std::fs::write(env.path().join("garbage.so"), b"this is not an ELF file").unwrap();
    env.manifest("[[plugin]]\nname = \"garbage\"\npath = \"garbage.so\"\n");
    let (check, run) = both_fail(&env);
    for err in [&check, &run] {
        assert!(err.contains("plugin `garbage`: cannot open"), "{err}");
    }

    // A real shared library that is not a Hypernet plugin.
    let libm = [
        "/lib/x86_64-linux-gnu/libm.so.6",
        "/usr/lib/x86_64-linux-gnu/libm.so.6",
        "/lib/aarch64-linux-gnu/libm.so.6",
        "/lib64/libm.so.6",
        "/usr/lib/libm.so.6",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).exists())
    .expect("a libm to test with");
    env.manifest(&format!("[[plugin]]\nname = \"libm\"\npath = \"{libm}\"\n"));
    let (check, run) = both_fail(&env);
    for err in [&check, &run] {
        assert!(
            err.contains(&format!("plugin `libm`: {libm} is not a Hypernet plugin")),
            "{err}"
        );
    }
}

#[test]
fn missing_and_cyclic_requires_are_refused() {
    let env = Env::new();
    env.manifest("[[plugin]]\nname = \"example\"\nrequires = [\"reputation\"]\n");
    let (check, run) = both_fail(&env);
    for err in [&check, &run] {
        assert!(
            err.contains("plugin `example` requires `reputation`, which is not in the manifest"),
            "{err}"
        );
    }
    env.manifest(
        "[[plugin]]\nname = \"example\"\nrequires = [\"faulty\"]\n[[plugin]]\nname = \"faulty\"\nrequires = [\"provider-sim\"]\n[[plugin]]\nname = \"provider-sim\"\nrequires = [\"example\"]\n",
    );
    let (check, run) = both_fail(&env);
    for err in [&check, &run] {
        assert!(
            err.contains("cyclic requires: example -> faulty -> provider-sim -> example"),
            "{err}"
        );
    }
}

#[test]
fn config_a_plugin_rejects_is_reported_with_the_plugin_and_field() {
    let env = Env::new();
    env.manifest("[[plugin]]\nname = \"provider-sim\"\n[plugin.config]\nlatncy_ms = 5\n");
    let (check, run) = both_fail(&env);
    for err in [&check, &run] {
        assert!(
            err.contains("plugin `provider-sim`: config rejected: unknown field `latncy_ms`"),
            "{err}"
        );
    }
    env.manifest("[[plugin]]\nname = \"provider-sim\"\n[plugin.config]\nfailure_rate = 1.5\n");
    let (check, _) = both_fail(&env);
    assert!(
        check.contains("`failure_rate` must be between 0.0 and 1.0, got 1.5"),
        "{check}"
    );
    env.manifest("[[plugin]]\nname = \"faulty\"\n[plugin.config]\nreject = true\n");
    let (check, run) = both_fail(&env);
    for err in [&check, &run] {
        assert!(
            err.contains("plugin `faulty`: config rejected: `reject` is set"),
            "{err}"
        );
    }
}

#[test]
fn problems_of_disabled_plugins_only_warn() {
    let env = Env::new();
    env.manifest("[[plugin]]\nname = \"example\"\ncapabilities = [\"kv\"]\n[[plugin]]\nname = \"not-installed\"\nenabled = false\n");
    let check = env.check();
    let out = check.ok();
    assert!(out.contains("warning (disabled)"), "{out}");
    let _host = env.start();
}
