//! `list_files` (tier 0): the entries of a workspace folder, sorted, folders marked with a
//! trailing `/` and links with `@` (never followed), at most [`LIST_MAX_ENTRIES`];
//! `recursive` walks the subfolders too (not `.git`).

use super::args::{self, blocking, failed};
use super::workspace::{Intent, Workspace};
use super::{Requirement, Tier, Tool, ToolContext, ToolError};
use futures_util::future::BoxFuture;
use serde_json::{Value, json};
use std::path::Path;

/// Most entries `list_files` shows.
pub const LIST_MAX_ENTRIES: usize = 200;

const NAME: &str = "list_files";

/// Lists a folder of the worker's workspace.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListFiles;

impl Tool for ListFiles {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "Lists a folder of your workspace, sorted; folders end with `/`, links with `@`. At most 200 entries."
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "Folder relative to your workspace (default: `.`, the workspace itself)"},
                "recursive": {"type": "boolean", "description": "Include the subfolders' entries (default false)"}
            }
        })
    }

    fn requirement(&self, _: &Value) -> Option<Requirement> {
        Some(Requirement::at(Tier::ReadOnly))
    }

    fn call<'a>(
        &'a self,
        ctx: &'a ToolContext,
        args: Value,
    ) -> BoxFuture<'a, Result<String, ToolError>> {
        Box::pin(async move {
            let path = args::string_or(NAME, &args, "path", ".")?.to_owned();
            let recursive = args::flag(NAME, &args, "recursive")?;
            let ws = ctx.workspace(NAME)?.clone();
            blocking(NAME, move || {
                let real = ws.resolve(NAME, &path, Intent::Read)?;
                if !real.is_dir() {
                    return Err(failed(NAME, format!("`{path}` is not a folder")));
                }
                let mut lines = Vec::new();
                let complete = walk(&ws, &real, recursive, &mut lines)?;
                if lines.is_empty() {
                    return Ok(format!("`{path}` is empty"));
                }
                if !complete {
                    lines.push(format!(
                        "[listing stopped at {LIST_MAX_ENTRIES} entries; list a subfolder to see more]"
                    ));
                }
                Ok(lines.join("\n"))
            })
            .await
        })
    }
}

/// Adds the entries of `dir` (and below, when `recursive`) to `out`; `false` once the limit
/// stopped it.
fn walk(
    ws: &Workspace,
    dir: &Path,
    recursive: bool,
    out: &mut Vec<String>,
) -> Result<bool, ToolError> {
    let shown = ws.shown(dir);
    let err = |e: std::io::Error| failed(NAME, format!("`{shown}`: {e}"));
    let mut entries = std::fs::read_dir(dir)
        .map_err(err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(err)?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        if out.len() >= LIST_MAX_ENTRIES {
            return Ok(false);
        }
        let kind = entry.file_type().map_err(err)?;
        let path = entry.path();
        let name = ws.shown(&path);
        if kind.is_symlink() {
            out.push(format!("{name}@"));
        } else if kind.is_dir() {
            out.push(format!("{name}/"));
            if recursive && entry.file_name() != ".git" && !walk(ws, &path, true, out)? {
                return Ok(false);
            }
        } else {
            out.push(name);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::workspace::tests::{context, workspace};

    #[tokio::test]
    async fn lists_sorted_with_folders_and_links_marked() {
        let (dir, ws, outside) = workspace();
        let ctx = context(&dir);
        let root = ws.root();
        std::fs::create_dir_all(root.join("src/deep")).unwrap();
        std::fs::create_dir_all(root.join(".git/objects")).unwrap();
        std::fs::write(root.join("src/deep/x.rs"), "").unwrap();
        std::fs::write(root.join("b.txt"), "").unwrap();
        std::fs::write(root.join("a.txt"), "").unwrap();
        std::os::unix::fs::symlink(&outside, root.join("out")).unwrap();
        let flat = ListFiles.call(&ctx, json!({})).await.unwrap();
        assert_eq!(flat, ".git/\na.txt\nb.txt\nout@\nsrc/");
        let deep = ListFiles
            .call(&ctx, json!({"recursive": true}))
            .await
            .unwrap();
        assert_eq!(
            deep,
            ".git/\na.txt\nb.txt\nout@\nsrc/\nsrc/deep/\nsrc/deep/x.rs"
        );
        let sub = ListFiles.call(&ctx, json!({"path": "src"})).await.unwrap();
        assert_eq!(sub, "src/deep/");
        for path in ["out", "../", "/etc"] {
            let e = ListFiles
                .call(&ctx, json!({"path": path}))
                .await
                .unwrap_err();
            assert!(matches!(e, ToolError::Denied { .. }), "{path}: {e}");
        }
    }

    #[tokio::test]
    async fn stops_at_the_limit_and_says_so() {
        let (dir, ws, _) = workspace();
        let ctx = context(&dir);
        for i in 0..LIST_MAX_ENTRIES + 5 {
            std::fs::write(ws.root().join(format!("f{i:03}")), "").unwrap();
        }
        let out = ListFiles.call(&ctx, json!({})).await.unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), LIST_MAX_ENTRIES + 1);
        assert_eq!(lines[0], "f000");
        assert_eq!(
            lines[LIST_MAX_ENTRIES],
            "[listing stopped at 200 entries; list a subfolder to see more]"
        );
    }
}
