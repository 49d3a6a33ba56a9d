//! `read_file` (tier 0): a file of the workspace, its first [`READ_MAX_CHARS`] characters,
//! saying so when it is longer.

use super::args::{self, blocking, failed};
use super::workspace::Intent;
use super::{Requirement, Tier, Tool, ToolContext, ToolError};
use futures_util::future::BoxFuture;
use serde_json::{Value, json};
use std::io::Read;

/// Most characters `read_file` returns.
pub const READ_MAX_CHARS: usize = 50_000;

const NAME: &str = "read_file";

/// Reads a file of the worker's workspace.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadFile;

impl Tool for ReadFile {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "Reads a text file of your workspace (the first 50,000 characters; longer files say they were cut)."
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {"path": {"type": "string", "description": "Path relative to your workspace, e.g. src/main.rs"}},
            "required": ["path"]
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
            let path = args::string(NAME, &args, "path")?.to_owned();
            let ws = ctx.workspace(NAME)?.clone();
            blocking(NAME, move || {
                let real = ws.resolve(NAME, &path, Intent::Read)?;
                read(&path, &real)
            })
            .await
        })
    }
}

fn read(shown: &str, real: &std::path::Path) -> Result<String, ToolError> {
    let err = |e: std::io::Error| failed(NAME, format!("`{shown}`: {e}"));
    let meta = real.metadata().map_err(err)?;
    if meta.is_dir() {
        return Err(failed(
            NAME,
            format!("`{shown}` is a folder; list it with list_files"),
        ));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(real)
        .map_err(err)?
        .take(READ_MAX_CHARS as u64 * 4 + 4)
        .read_to_end(&mut bytes)
        .map_err(err)?;
    let text = String::from_utf8_lossy(&bytes);
    match text.char_indices().nth(READ_MAX_CHARS) {
        None if (bytes.len() as u64) >= meta.len() => Ok(text.into_owned()),
        cut => {
            let end = cut.map_or(text.len(), |(i, _)| i);
            Ok(format!(
                "{}\n[truncated: the first {READ_MAX_CHARS} characters of `{shown}` ({} bytes) are shown]",
                &text[..end],
                meta.len()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::workspace::tests::{context, workspace};

    #[tokio::test]
    async fn reads_whole_short_files_and_cuts_long_ones_saying_so() {
        let (dir, ws, _) = workspace();
        let ctx = context(&dir);
        std::fs::write(ws.root().join("short.txt"), "héllo").unwrap();
        let long = "é".repeat(READ_MAX_CHARS + 10);
        std::fs::write(ws.root().join("long.txt"), &long).unwrap();
        let out = ReadFile
            .call(&ctx, json!({"path": "short.txt"}))
            .await
            .unwrap();
        assert_eq!(out, "héllo");
        let out = ReadFile
            .call(&ctx, json!({"path": "long.txt"}))
            .await
            .unwrap();
        assert!(
            out.starts_with(&"é".repeat(READ_MAX_CHARS)),
            "cut at the limit"
        );
        assert!(
            out.ends_with(
                "\n[truncated: the first 50000 characters of `long.txt` (100020 bytes) are shown]"
            ),
            "{}",
            &out[out.len() - 120..]
        );
        let e = ReadFile.call(&ctx, json!({"path": "."})).await.unwrap_err();
        assert_eq!(
            e.to_string(),
            "`read_file` failed: `.` is a folder; list it with list_files"
        );
    }

    #[tokio::test]
    async fn escapes_and_links_out_are_refused() {
        let (dir, ws, outside) = workspace();
        let ctx = context(&dir);
        std::os::unix::fs::symlink(outside.join("secret.txt"), ws.root().join("link")).unwrap();
        for path in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "../../etc/passwd",
            "link",
        ] {
            let e = ReadFile
                .call(&ctx, json!({"path": path}))
                .await
                .unwrap_err();
            assert!(matches!(e, ToolError::Denied { .. }), "{path}: {e}");
            assert!(e.to_string().contains(path), "{e}");
        }
        let e = ReadFile.call(&ctx, json!({})).await.unwrap_err();
        assert_eq!(
            e.to_string(),
            "bad arguments for `read_file`: missing field `path`"
        );
    }
}
