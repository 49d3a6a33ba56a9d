//! `write_file` and `append_file` (tier 1): write text to a file of the workspace
//! (replacing it, or adding at its end), creating the file and its folders inside the
//! workspace as needed. At most [`WRITE_MAX_BYTES`] per call; never inside `.git`.

use super::args::{self, bad, blocking, failed};
use super::workspace::Intent;
use super::{Requirement, Tier, Tool, ToolContext, ToolError};
use futures_util::future::BoxFuture;
use serde_json::{Value, json};
use std::io::Write;

/// Most bytes one call writes.
pub const WRITE_MAX_BYTES: usize = 1024 * 1024;

/// Replaces a file of the worker's workspace with the given text.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteFile;

/// Adds the given text at the end of a file of the worker's workspace.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppendFile;

fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "Path relative to your workspace; missing folders are created"},
            "content": {"type": "string", "description": "The text"}
        },
        "required": ["path", "content"]
    })
}

async fn write(
    tool: &'static str,
    ctx: &ToolContext,
    args: Value,
    append: bool,
) -> Result<String, ToolError> {
    let path = args::string(tool, &args, "path")?.to_owned();
    let content = args::string(tool, &args, "content")?.to_owned();
    if content.len() > WRITE_MAX_BYTES {
        return Err(bad(
            tool,
            format!(
                "`content` is {} bytes; at most {WRITE_MAX_BYTES} per call",
                content.len()
            ),
        ));
    }
    let ws = ctx.workspace(tool)?.clone();
    blocking(tool, move || {
        let real = ws.resolve(tool, &path, Intent::Write)?;
        if real.is_dir() {
            return Err(failed(tool, format!("`{path}` is a folder")));
        }
        let err = |e: std::io::Error| failed(tool, format!("`{path}`: {e}"));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .append(append)
            .truncate(!append)
            .open(&real)
            .map_err(err)?;
        file.write_all(content.as_bytes()).map_err(err)?;
        let verb = if append { "appended" } else { "wrote" };
        Ok(format!(
            "{verb} {} bytes to {}",
            content.len(),
            ws.shown(&real)
        ))
    })
    .await
}

impl Tool for WriteFile {
    /// Its answer is the host's own report of what it wrote.
    fn outside(&self) -> bool {
        false
    }
    fn name(&self) -> &str {
        "write_file"
    }

    fn description(&self) -> &str {
        "Writes a text file in your workspace, replacing what it held; creates missing folders."
    }

    fn input_schema(&self) -> Value {
        schema()
    }

    fn requirement(&self, _: &Value) -> Option<Requirement> {
        Some(Requirement::at(Tier::OwnWorkspace))
    }

    fn call<'a>(
        &'a self,
        ctx: &'a ToolContext,
        args: Value,
    ) -> BoxFuture<'a, Result<String, ToolError>> {
        Box::pin(write("write_file", ctx, args, false))
    }
}

impl Tool for AppendFile {
    /// Its answer is the host's own report of what it wrote.
    fn outside(&self) -> bool {
        false
    }
    fn name(&self) -> &str {
        "append_file"
    }

    fn description(&self) -> &str {
        "Adds text at the end of a file in your workspace; creates it (and missing folders) if needed."
    }

    fn input_schema(&self) -> Value {
        schema()
    }

    fn requirement(&self, _: &Value) -> Option<Requirement> {
        Some(Requirement::at(Tier::OwnWorkspace))
    }

    fn call<'a>(
        &'a self,
        ctx: &'a ToolContext,
        args: Value,
    ) -> BoxFuture<'a, Result<String, ToolError>> {
        Box::pin(write("append_file", ctx, args, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::workspace::tests::{context, workspace};

    #[tokio::test]
    async fn writes_and_appends_creating_folders_inside() {
        let (dir, ws, _) = workspace();
        let ctx = context(&dir);
        let out = WriteFile
            .call(&ctx, json!({"path": "notes/day/a.md", "content": "one\n"}))
            .await
            .unwrap();
        assert_eq!(out, "wrote 4 bytes to notes/day/a.md");
        let out = AppendFile
            .call(&ctx, json!({"path": "notes/day/a.md", "content": "two\n"}))
            .await
            .unwrap();
        assert_eq!(out, "appended 4 bytes to notes/day/a.md");
        AppendFile
            .call(&ctx, json!({"path": "fresh.log", "content": "x"}))
            .await
            .unwrap();
        let file = ws.root().join("notes/day/a.md");
        assert_eq!(std::fs::read_to_string(file).unwrap(), "one\ntwo\n");
        assert_eq!(
            std::fs::read_to_string(ws.root().join("fresh.log")).unwrap(),
            "x"
        );
        WriteFile
            .call(&ctx, json!({"path": "notes/day/a.md", "content": "new"}))
            .await
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(ws.root().join("notes/day/a.md")).unwrap(),
            "new"
        );
        let big = "x".repeat(WRITE_MAX_BYTES + 1);
        let e = WriteFile
            .call(&ctx, json!({"path": "big", "content": big}))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("at most 1048576 per call"), "{e}");
    }

    #[tokio::test]
    async fn writes_outside_are_refused_links_included() {
        let (dir, ws, outside) = workspace();
        let ctx = context(&dir);
        let root = ws.root();
        std::os::unix::fs::symlink(&outside, root.join("out")).unwrap();
        std::os::unix::fs::symlink(outside.join("secret.txt"), root.join("secret")).unwrap();
        std::os::unix::fs::symlink(outside.join("planted"), root.join("dangling")).unwrap();
        for path in [
            "../x",
            "a/../../x",
            "/tmp/x",
            "out/secret.txt",
            "out/new.txt",
            "secret",
            "dangling",
            ".git/hooks/pre-commit",
        ] {
            for tool in [&WriteFile as &dyn Tool, &AppendFile] {
                let e = tool
                    .call(&ctx, json!({"path": path, "content": "pwned"}))
                    .await
                    .unwrap_err();
                assert!(matches!(e, ToolError::Denied { .. }), "{path}: {e}");
            }
        }
        assert_eq!(
            std::fs::read_to_string(outside.join("secret.txt")).unwrap(),
            "secret"
        );
        assert!(!outside.join("new.txt").exists() && !outside.join("planted").exists());
    }
}
