//! `search_files` (tier 0): lines of the workspace's files holding a substring or matching
//! a regular expression (the `regex` crate: linear time, no look-around), at most
//! [`SEARCH_MAX_MATCHES`], as `path:line: text`. Links are not followed; `.git`, binary files
//! and files over [`SEARCH_MAX_FILE_BYTES`] are skipped.

use super::args::{self, bad, blocking};
use super::workspace::Intent;
use super::{Requirement, Tier, Tool, ToolContext, ToolError};
use futures_util::future::BoxFuture;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// Most matches `search_files` returns.
pub const SEARCH_MAX_MATCHES: usize = 50;

/// Larger files are not searched.
pub const SEARCH_MAX_FILE_BYTES: u64 = 2 * 1024 * 1024;

/// Most files one search reads.
const MAX_FILES: usize = 20_000;

/// Longest line shown, in characters.
const LINE_CHARS: usize = 200;

const NAME: &str = "search_files";

/// Searches the worker's workspace.
#[derive(Debug, Clone, Copy, Default)]
pub struct SearchFiles;

enum Matcher {
    Substring(String),
    Regex(regex::Regex),
}

impl Matcher {
    fn matches(&self, line: &str) -> bool {
        match self {
            Matcher::Substring(s) => line.contains(s.as_str()),
            Matcher::Regex(r) => r.is_match(line),
        }
    }
}

impl Tool for SearchFiles {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "Searches the text files of your workspace for a substring (or a regular expression with `regex: true`); at most 50 matching lines, as `path:line: text`."
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "pattern": {"type": "string", "description": "What to look for"},
                "regex": {"type": "boolean", "description": "Read `pattern` as a regular expression (default false: a plain substring)"},
                "path": {"type": "string", "description": "Folder or file to search, relative to your workspace (default `.`)"}
            },
            "required": ["pattern"]
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
            let pattern = args::string(NAME, &args, "pattern")?;
            if pattern.is_empty() {
                return Err(bad(NAME, "`pattern` is empty"));
            }
            let matcher = if args::flag(NAME, &args, "regex")? {
                let re = regex::RegexBuilder::new(pattern)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| {
                        bad(NAME, format!("`pattern` is not a regular expression: {e}"))
                    })?;
                Matcher::Regex(re)
            } else {
                Matcher::Substring(pattern.to_owned())
            };
            let path = args::string_or(NAME, &args, "path", ".")?.to_owned();
            let ws = ctx.workspace(NAME)?.clone();
            blocking(NAME, move || {
                let start = ws.resolve(NAME, &path, Intent::Read)?;
                let root = ws.ensure(NAME)?;
                let mut files = Vec::new();
                collect(&start, &mut files);
                let mut out = Vec::new();
                search(&root, &files, &matcher, &mut out);
                if out.is_empty() {
                    return Ok(format!("no match in `{path}`"));
                }
                if out.len() > SEARCH_MAX_MATCHES {
                    out.truncate(SEARCH_MAX_MATCHES);
                    out.push(format!(
                        "[search stopped at {SEARCH_MAX_MATCHES} matches; narrow the pattern or the path]"
                    ));
                } else if files.len() >= MAX_FILES {
                    out.push(format!("[search stopped after {MAX_FILES} files]"));
                }
                Ok(out.join("\n"))
            })
            .await
        })
    }
}

/// The regular files under `at` (or `at` itself), sorted, links and `.git` left out.
fn collect(at: &Path, files: &mut Vec<PathBuf>) {
    let Ok(meta) = at.symlink_metadata() else {
        return;
    };
    if meta.is_file() {
        files.push(at.to_owned());
        return;
    }
    if !meta.is_dir() {
        return;
    }
    let Ok(read) = std::fs::read_dir(at) else {
        return;
    };
    let mut entries: Vec<_> = read.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        if files.len() >= MAX_FILES {
            return;
        }
        if entry.file_name() == ".git" {
            continue;
        }
        match entry.file_type() {
            Ok(t) if t.is_dir() => collect(&entry.path(), files),
            Ok(t) if t.is_file() => files.push(entry.path()),
            _ => {}
        }
    }
}

/// Adds matching lines of `files` to `out`, one more than the limit at most (so a cut
/// result can say so).
fn search(root: &Path, files: &[PathBuf], matcher: &Matcher, out: &mut Vec<String>) {
    for file in files {
        let Ok(meta) = file.metadata() else { continue };
        if meta.len() > SEARCH_MAX_FILE_BYTES {
            continue;
        }
        let Ok(bytes) = std::fs::read(file) else {
            continue;
        };
        if bytes[..bytes.len().min(8192)].contains(&0) {
            continue;
        }
        let shown = file.strip_prefix(root).unwrap_or(file).to_string_lossy();
        let text = String::from_utf8_lossy(&bytes);
        for (n, line) in text.lines().enumerate() {
            if matcher.matches(line) {
                let line = line.trim();
                let line = match line.char_indices().nth(LINE_CHARS) {
                    Some((cut, _)) => format!("{}…", &line[..cut]),
                    None => line.to_owned(),
                };
                out.push(format!("{shown}:{}: {line}", n + 1));
                if out.len() > SEARCH_MAX_MATCHES {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::workspace::tests::{context, workspace};

    #[tokio::test]
    async fn finds_substrings_and_regexes_as_path_line_text() {
        let (dir, ws, outside) = workspace();
        let ctx = context(&dir);
        let root = ws.root();
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::write(
            root.join("src/a.rs"),
            "fn main() {}\n  let todo = 1; // TODO\n",
        )
        .unwrap();
        std::fs::write(root.join("b.md"), "TODO: docs\n").unwrap();
        std::fs::write(root.join(".git/config"), "TODO\n").unwrap();
        std::fs::write(root.join("bin"), b"TODO\0\x01").unwrap();
        std::fs::write(outside.join("secret.txt"), "TODO secret").unwrap();
        std::os::unix::fs::symlink(&outside, root.join("out")).unwrap();
        let out = SearchFiles
            .call(&ctx, json!({"pattern": "TODO"}))
            .await
            .unwrap();
        assert_eq!(out, "b.md:1: TODO: docs\nsrc/a.rs:2: let todo = 1; // TODO");
        let out = SearchFiles
            .call(
                &ctx,
                json!({"pattern": r"^fn \w+\(", "regex": true, "path": "src"}),
            )
            .await
            .unwrap();
        assert_eq!(out, "src/a.rs:1: fn main() {}");
        let e = SearchFiles
            .call(&ctx, json!({"pattern": "(", "regex": true}))
            .await
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("`pattern` is not a regular expression"),
            "{e}"
        );
        let e = SearchFiles
            .call(&ctx, json!({"pattern": "x", "path": "../outside"}))
            .await
            .unwrap_err();
        assert!(matches!(e, ToolError::Denied { .. }), "{e}");
        let none = SearchFiles
            .call(&ctx, json!({"pattern": "absent"}))
            .await
            .unwrap();
        assert_eq!(none, "no match in `.`");
    }

    #[tokio::test]
    async fn stops_at_fifty_matches_and_says_so() {
        let (dir, ws, _) = workspace();
        let ctx = context(&dir);
        std::fs::write(ws.root().join("many.txt"), "hit\n".repeat(80)).unwrap();
        let out = SearchFiles
            .call(&ctx, json!({"pattern": "hit"}))
            .await
            .unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), SEARCH_MAX_MATCHES + 1);
        assert_eq!(lines[49], "many.txt:50: hit");
        assert!(
            lines[50].starts_with("[search stopped at 50 matches"),
            "{}",
            lines[50]
        );
    }
}
