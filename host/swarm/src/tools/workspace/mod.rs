//! Workspace confinement: every file tool works inside the calling worker's own folder,
//! `<workspace_root>/<worker name lowercased>` (`[tools] workspace_root`, by default
//! `<data-dir>/workspaces`), created on first use.
//!
//! [`Workspace::resolve`] turns a path the model wrote into a path inside that folder, or
//! refuses it, naming the path: an empty path or one holding a NUL byte is a bad argument;
//! an absolute path, a `..` that climbs above the folder, or a path that reaches outside
//! through a symbolic link is denied. Symbolic links are judged by where they lead: the
//! longest existing part of the path is canonicalized and must stay inside (for a file to
//! be created, its parent folder is), and a link whose target does not exist is refused, as
//! writing through it would create the target wherever it points. Writes are also refused
//! inside `.git`, where hooks and configuration would let a written file run commands.

use super::ToolError;
use std::io;
use std::path::{Component, Path, PathBuf};

/// What a resolved path is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// Reading or listing: the path must exist.
    Read,
    /// Writing a file: the path may not exist yet; missing parent folders are created.
    Write,
}

/// One worker's folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    root: PathBuf,
}

/// The folder name for a worker: its name lowercased, every character other than a letter,
/// a digit, `-`, `_` or `.` replaced by `_` (so a name can never climb or nest).
pub fn folder_name(worker: &str) -> String {
    let name: String = worker
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() || name.chars().all(|c| c == '.') {
        "_".into()
    } else {
        name
    }
}

impl Workspace {
    /// The folder of `worker` under `root` (nothing is created yet).
    pub fn for_worker(root: &Path, worker: &str) -> Workspace {
        Workspace {
            root: root.join(folder_name(worker)),
        }
    }

    /// The folder, as configured (not canonicalized).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Creates the folder if needed and returns its canonical path.
    pub fn ensure(&self, tool: &str) -> Result<PathBuf, ToolError> {
        std::fs::create_dir_all(&self.root)
            .and_then(|()| self.root.canonicalize())
            .map_err(|e| failed(tool, format!("workspace {}: {e}", self.root.display())))
    }

    /// The path inside the workspace that `path` names, or why it may not be used.
    pub fn resolve(&self, tool: &str, path: &str, intent: Intent) -> Result<PathBuf, ToolError> {
        let relative = lexical(tool, path)?;
        if intent == Intent::Write
            && relative
                .components()
                .any(|c| c.as_os_str().eq_ignore_ascii_case(".git"))
        {
            return Err(denied(tool, format!("`{path}` is inside `.git`")));
        }
        let root = self.ensure(tool)?;
        let full = root.join(&relative);
        let inside = |p: &Path| p.starts_with(&root);
        let outside = || denied(tool, format!("`{path}` leads outside the workspace"));
        match full.symlink_metadata() {
            Ok(meta) => {
                let real = full.canonicalize().map_err(|e| {
                    if meta.file_type().is_symlink() {
                        denied(tool, format!("`{path}` is a link to a missing target"))
                    } else {
                        failed(tool, format!("`{path}`: {e}"))
                    }
                })?;
                if !inside(&real) {
                    return Err(outside());
                }
                Ok(real)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if intent == Intent::Read {
                    return Err(failed(tool, format!("`{path}` does not exist")));
                }
                let Some(name) = full.file_name().map(ToOwned::to_owned) else {
                    return Err(bad(tool, format!("`{path}` names no file")));
                };
                let parent = full.parent().unwrap_or(&root);
                // The part that exists decides: a link in it must not lead out.
                let existing = parent
                    .ancestors()
                    .find(|a| a.symlink_metadata().is_ok())
                    .unwrap_or(&root);
                let real = existing
                    .canonicalize()
                    .map_err(|_| denied(tool, format!("`{path}` passes a broken link")))?;
                if !inside(&real) {
                    return Err(outside());
                }
                std::fs::create_dir_all(parent)
                    .map_err(|e| failed(tool, format!("creating the folders of `{path}`: {e}")))?;
                let real_parent = parent
                    .canonicalize()
                    .map_err(|e| failed(tool, format!("`{path}`: {e}")))?;
                if !inside(&real_parent) {
                    return Err(outside());
                }
                Ok(real_parent.join(name))
            }
            Err(e) => Err(failed(tool, format!("`{path}`: {e}"))),
        }
    }

    /// `path` (inside the workspace) as the model should see it: relative, `/`-separated,
    /// `.` for the folder itself.
    pub fn shown(&self, path: &Path) -> String {
        let root = self
            .root
            .canonicalize()
            .unwrap_or_else(|_| self.root.clone());
        match path.strip_prefix(&root) {
            Ok(rel) if rel.as_os_str().is_empty() => ".".into(),
            Ok(rel) => rel.to_string_lossy().into_owned(),
            Err(_) => path.to_string_lossy().into_owned(),
        }
    }
}

/// Checks `path` without the file system: not empty, no NUL, relative, never above its
/// start. Returns it with `.` and inner `..` folded away.
pub fn lexical(tool: &str, path: &str) -> Result<PathBuf, ToolError> {
    if path.trim().is_empty() {
        return Err(bad(tool, "the path is empty".to_owned()));
    }
    if path.contains('\0') {
        return Err(bad(tool, format!("the path {path:?} contains a NUL byte")));
    }
    let mut out = PathBuf::new();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return Err(denied(
                        tool,
                        format!("`{path}` climbs out of the workspace"),
                    ));
                }
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(denied(
                    tool,
                    format!("`{path}` is absolute; paths are relative to the workspace"),
                ));
            }
        }
    }
    Ok(out)
}

/// The parts of a program argument that may be paths: the whole argument, the value after
/// `=` (`--file=x`), and the value glued to a short option (`-Fx`).
fn candidates(arg: &str) -> Vec<&str> {
    let mut out = vec![arg];
    if let Some((_, value)) = arg.split_once('=') {
        out.push(value);
    }
    if arg.starts_with('-') && !arg.starts_with("--") && arg.len() > 2 {
        out.push(arg.get(2..).unwrap_or_default());
    }
    out
}

/// Refuses a program argument that names a path outside the workspace without looking at
/// the disk: one that is absolute (`/etc/passwd`, `~/x`) or climbs above its start with
/// `..` — as the whole argument, as the value after `=` (`--file=/etc/passwd`), or glued to
/// a short option (`-F/etc/passwd`). Other arguments (`HEAD~1..HEAD`, `s/a/b/`) pass.
pub fn confined_argument(tool: &str, arg: &str) -> Result<(), ToolError> {
    if arg.contains('\0') {
        return Err(bad(
            tool,
            format!("the argument {arg:?} contains a NUL byte"),
        ));
    }
    for c in candidates(arg) {
        if c.starts_with('/') || c.starts_with('~') {
            return Err(denied(
                tool,
                format!(
                    "the argument `{arg}` is an absolute path; paths are relative to the workspace"
                ),
            ));
        }
        let mut depth = 0usize;
        for part in c.split('/') {
            match part {
                ".." if depth == 0 => {
                    return Err(denied(
                        tool,
                        format!("the argument `{arg}` climbs out of the workspace"),
                    ));
                }
                ".." => depth -= 1,
                "" | "." => {}
                _ => depth += 1,
            }
        }
    }
    Ok(())
}

impl Workspace {
    /// [`confined_argument`], then the disk: where a part of the argument names something
    /// that exists in the workspace, it must not lead outside through a link (so
    /// `cat link/secret` or `git commit -F link/msg` cannot read past the workspace).
    pub fn confine_argument(&self, tool: &str, arg: &str) -> Result<(), ToolError> {
        confined_argument(tool, arg)?;
        let root = self.ensure(tool)?;
        for c in candidates(arg) {
            let Ok(relative) = lexical(tool, c) else {
                continue;
            };
            let full = root.join(relative);
            let existing = full
                .ancestors()
                .find(|a| a.symlink_metadata().is_ok())
                .unwrap_or(&root);
            match existing.canonicalize() {
                Ok(real) if real.starts_with(&root) => {}
                _ => {
                    return Err(denied(
                        tool,
                        format!("the argument `{arg}` leads outside the workspace"),
                    ));
                }
            }
        }
        Ok(())
    }
}

fn bad(tool: &str, reason: String) -> ToolError {
    ToolError::BadArguments {
        tool: tool.into(),
        reason,
    }
}

fn denied(tool: &str, reason: String) -> ToolError {
    ToolError::Denied {
        tool: tool.into(),
        reason,
    }
}

fn failed(tool: &str, reason: String) -> ToolError {
    ToolError::Failed {
        tool: tool.into(),
        reason,
    }
}

#[cfg(test)]
pub(crate) mod tests;
