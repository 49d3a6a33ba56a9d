//! The archive on disk: `<archive>/core/*.md` shared by every instance, and one folder per
//! instance, `<archive>/<account>/Instances/<Name>/`, holding `profile.json`, its documents
//! (`*.md`, `*.txt` beside the profile) and its recent messages (`messages/*`, newest
//! last by file name). Profiles are written atomically: a temporary file, then a rename.

use super::profile::Profile;
use anyhow::{Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// How many of an instance's messages the full prompt shows.
const RECENT_MESSAGES: usize = 5;

/// A document: its file name and its text.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// File name (`charter.md`).
    pub name: String,
    /// Its text.
    pub text: String,
}

/// A profile found in the archive, with where it lives.
#[derive(Debug, Clone)]
pub struct Found {
    /// The account folder's name (`2.1`).
    pub account: String,
    /// The instance folder.
    pub dir: PathBuf,
    /// The profile as read.
    pub profile: Profile,
}

/// The shared core documents, sorted by name (none when the folder is missing).
pub fn core_documents(archive: &Path) -> Result<Vec<Document>> {
    documents(&archive.join("core"))
}

/// The documents (`*.md`, `*.txt`) directly in `dir`, sorted by name.
pub fn documents(dir: &Path) -> Result<Vec<Document>> {
    let mut docs = Vec::new();
    for path in sorted_files(dir)? {
        let is_doc = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e == "md" || e == "txt");
        if is_doc {
            docs.push(read_document(&path)?);
        }
    }
    Ok(docs)
}

/// The last few messages of an instance (`<dir>/messages/*`), oldest first.
pub fn recent_messages(dir: &Path) -> Result<Vec<Document>> {
    let files = sorted_files(&dir.join("messages"))?;
    let skip = files.len().saturating_sub(RECENT_MESSAGES);
    files[skip..].iter().map(|p| read_document(p)).collect()
}

fn read_document(path: &Path) -> Result<Document> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(Document {
        name: file_name(path),
        text,
    })
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Regular files in `dir`, sorted by name; none when `dir` does not exist.
fn sorted_files(dir: &Path) -> Result<Vec<PathBuf>> {
    sorted_entries(dir, Path::is_file)
}

/// Folders in `dir`, sorted by name; none when `dir` does not exist.
fn sorted_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    sorted_entries(dir, Path::is_dir)
}

fn sorted_entries(dir: &Path, keep: fn(&Path) -> bool) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("listing {}", dir.display())),
    };
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("listing {}", dir.display()))?
            .path();
        if keep(&path) {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths)
}

/// Every `<archive>/<account>/Instances/<Name>/profile.json`, by account then name.
pub fn find_profiles(archive: &Path) -> Result<Vec<Found>> {
    let mut found = Vec::new();
    for account_dir in sorted_dirs(archive)? {
        let account = file_name(&account_dir);
        if account == "core" {
            continue;
        }
        for dir in sorted_dirs(&account_dir.join("Instances"))? {
            let path = dir.join("profile.json");
            if !path.is_file() {
                continue;
            }
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let profile: Profile = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a valid profile", path.display()))?;
            found.push(Found {
                account: account.clone(),
                dir,
                profile,
            });
        }
    }
    Ok(found)
}

/// The folder of a new instance.
pub fn instance_dir(archive: &Path, account: &str, name: &str) -> PathBuf {
    archive.join(account).join("Instances").join(name)
}

/// Writes `profile` to `<dir>/profile.json` through a temporary file and a rename, so a
/// reader never sees half a profile.
pub fn write_profile(dir: &Path, profile: &Profile) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("profile.json");
    let mut text = serde_json::to_string_pretty(profile)
        .with_context(|| format!("encoding the profile of {}", profile.name))?;
    text.push('\n');
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    tmp.write_all(text.as_bytes())
        .with_context(|| format!("writing a temporary file in {}", dir.display()))?;
    tmp.persist(&path)
        .with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}

/// Sets aside the profile of a copy merged into another (`profile.merged.json`), so it is
/// not found again; its documents stay where they are.
pub fn retire_profile(dir: &Path) -> Result<()> {
    let from = dir.join("profile.json");
    let to = dir.join("profile.merged.json");
    std::fs::rename(&from, &to)
        .with_context(|| format!("renaming {} to {}", from.display(), to.display()))
}
