//! Workspace confinement against a temp dir: escapes, links, arguments.

use super::*;
use std::os::unix::fs::symlink;

/// A workspace for `Trace` in a fresh temp dir, plus a folder outside it.
pub(crate) fn workspace() -> (tempfile::TempDir, Workspace, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret.txt"), "secret").unwrap();
    let ws = Workspace::for_worker(&dir.path().join("workspaces"), "Trace");
    ws.ensure("t").unwrap();
    (dir, ws, outside)
}

/// A context for `Trace` whose workspace is the one [`workspace`] made in `dir`, all
/// calls allowed (the tier check is tested on its own).
pub(crate) fn context(dir: &tempfile::TempDir) -> crate::tools::ToolContext {
    let allow = std::sync::Arc::new(crate::tools::AllowAll);
    crate::tools::ToolContext::new(hypernet_model::tasks::TaskId(1), "Trace", allow)
        .with_workspace(&dir.path().join("workspaces"))
}

fn refusal(ws: &Workspace, path: &str, intent: Intent) -> ToolError {
    ws.resolve("t", path, intent).unwrap_err()
}

#[test]
fn folders_are_lowercased_names_that_cannot_climb() {
    let root = Path::new("/data/workspaces");
    assert_eq!(
        Workspace::for_worker(root, "Trace").root(),
        Path::new("/data/workspaces/trace")
    );
    assert_eq!(folder_name("../Evil"), ".._evil");
    assert_eq!(folder_name(".."), "_");
    assert_eq!(folder_name("a/b"), "a_b");
}

#[test]
fn paths_inside_resolve_and_new_files_get_their_folders() {
    let (_dir, ws, _) = workspace();
    let root = ws.root().canonicalize().unwrap();
    let p = ws.resolve("t", "notes/a.md", Intent::Write).unwrap();
    assert_eq!(p, root.join("notes/a.md"));
    assert!(root.join("notes").is_dir());
    std::fs::write(&p, "x").unwrap();
    assert_eq!(
        ws.resolve("t", "./notes/../notes/a.md", Intent::Read)
            .unwrap(),
        p
    );
    assert_eq!(ws.resolve("t", ".", Intent::Read).unwrap(), root);
    assert_eq!(ws.shown(&p), "notes/a.md");
    let e = refusal(&ws, "missing.txt", Intent::Read);
    assert_eq!(e.to_string(), "`t` failed: `missing.txt` does not exist");
}

#[test]
fn escapes_are_refused_naming_the_path() {
    let (_dir, ws, _) = workspace();
    for (path, message) in [
        (
            "../x",
            "`t` is not permitted: `../x` climbs out of the workspace",
        ),
        (
            "a/../../x",
            "`t` is not permitted: `a/../../x` climbs out of the workspace",
        ),
        (
            "/etc/passwd",
            "`t` is not permitted: `/etc/passwd` is absolute; paths are relative to the workspace",
        ),
        ("", "bad arguments for `t`: the path is empty"),
        (
            "a\0b",
            "bad arguments for `t`: the path \"a\\0b\" contains a NUL byte",
        ),
        (
            ".git/hooks/pre-commit",
            "`t` is not permitted: `.git/hooks/pre-commit` is inside `.git`",
        ),
    ] {
        assert_eq!(refusal(&ws, path, Intent::Write).to_string(), message);
    }
}

#[test]
fn program_arguments_naming_paths_outside_are_refused() {
    for arg in [
        "--short",
        "HEAD~1..HEAD",
        "src/../lib.rs",
        "s/a/b/",
        "-m",
        "a=b",
        "-",
        "--",
    ] {
        assert!(confined_argument("t", arg).is_ok(), "{arg}");
    }
    for (arg, why) in [
        ("/etc/passwd", "is an absolute path"),
        ("~/.ssh/id_rsa", "is an absolute path"),
        ("--file=/etc/passwd", "is an absolute path"),
        ("-F/etc/passwd", "is an absolute path"),
        ("../x", "climbs out of the workspace"),
        ("a/../../x", "climbs out of the workspace"),
        ("--output=../x", "climbs out of the workspace"),
        ("..", "climbs out of the workspace"),
    ] {
        let e = confined_argument("t", arg).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "`t` is not permitted: the argument `{arg}` {why}{}",
                if why.starts_with("is") {
                    "; paths are relative to the workspace"
                } else {
                    ""
                }
            )
        );
    }
}

#[test]
fn arguments_through_links_leading_outside_are_refused() {
    let (_dir, ws, outside) = workspace();
    symlink(&outside, ws.root().join("out")).unwrap();
    std::fs::write(ws.root().join("a.txt"), "").unwrap();
    for arg in [
        "a.txt",
        "--file=a.txt",
        "new/file",
        "HEAD~1",
        "-m",
        "Fix it",
    ] {
        assert!(ws.confine_argument("t", arg).is_ok(), "{arg}");
    }
    for arg in [
        "out",
        "out/secret.txt",
        "--file=out/secret.txt",
        "-Fout/x",
        "../x",
    ] {
        assert!(
            matches!(ws.confine_argument("t", arg), Err(ToolError::Denied { .. })),
            "{arg}"
        );
    }
}

#[test]
fn links_leading_outside_are_refused_for_reads_and_writes() {
    let (_dir, ws, outside) = workspace();
    let root = ws.root().to_owned();
    symlink(&outside, root.join("out")).unwrap();
    symlink(outside.join("secret.txt"), root.join("secret")).unwrap();
    symlink(outside.join("new.txt"), root.join("dangling")).unwrap();
    let leads_out = |p: &str| format!("`t` is not permitted: `{p}` leads outside the workspace");
    for (path, intent) in [
        ("out/secret.txt", Intent::Read),
        ("secret", Intent::Read),
        ("out", Intent::Read),
        ("out/secret.txt", Intent::Write),
        ("out/new.txt", Intent::Write),
        ("out/deeper/new.txt", Intent::Write),
        ("secret", Intent::Write),
    ] {
        assert_eq!(refusal(&ws, path, intent).to_string(), leads_out(path));
    }
    assert_eq!(
        refusal(&ws, "dangling", Intent::Write).to_string(),
        "`t` is not permitted: `dangling` is a link to a missing target"
    );
    assert!(!outside.join("deeper").exists());
    // A link that stays inside is fine.
    std::fs::write(root.join("real.txt"), "x").unwrap();
    symlink(root.join("real.txt"), root.join("alias")).unwrap();
    assert!(ws.resolve("t", "alias", Intent::Read).is_ok());
}
