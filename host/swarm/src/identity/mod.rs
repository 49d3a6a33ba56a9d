//! Identities: who each worker is, from the instance archive. At start-up the host reads
//! every instance profile, creates the missing ones (one per configured worker), fixes
//! legacy ones and merges copies of one instance found under several accounts, writing
//! every change back atomically (see [`profile::merge`] for the merge rule). The profiles
//! and documents then feed the system prompts ([`prompt`]), and a new instance runs its
//! boot sequence ([`boot`]) before its first task, in the background ([`startup`]).
//!
//! ```toml
//! [identity]
//! archive = "archive"        # default: <data-dir>/archive
//! boot = true                # run the boot sequence for instances without baselines
//! boot_chunk_chars = 6000    # orientation documents are sent in pieces of at most this size
//! boot_max_tokens = 512      # answer length of each boot turn
//! ```
//!
//! Archive layout: `<archive>/core/*.md` (shared by all), and per instance
//! `<archive>/<account>/Instances/<Name>/profile.json` with its documents beside it and its
//! recent messages in `messages/` (see [`archive`]).

pub mod archive;
pub mod boot;
pub mod profile;
pub mod prompt;
pub mod startup;

use self::archive::Document;
use self::profile::Profile;
use crate::workers::WorkerConfig;
use anyhow::Result;
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `[identity]` in `hypernet.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentityConfig {
    /// The archive folder; `None` means `<data-dir>/archive` (relative paths are taken from
    /// the working directory).
    pub archive: Option<PathBuf>,
    /// Whether an instance without baseline answers runs the boot sequence first.
    pub boot: bool,
    /// Largest piece of an orientation document sent in one boot turn, in characters.
    pub boot_chunk_chars: usize,
    /// Output token limit of each boot turn.
    pub boot_max_tokens: u32,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        IdentityConfig {
            archive: None,
            boot: true,
            boot_chunk_chars: 6000,
            boot_max_tokens: 512,
        }
    }
}

impl IdentityConfig {
    /// Checks the values; errors name the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.boot_chunk_chars < 200 {
            return Err(format!(
                "`identity.boot_chunk_chars` must be at least 200, not {}",
                self.boot_chunk_chars
            ));
        }
        if self.boot_max_tokens == 0 {
            return Err("`identity.boot_max_tokens` must be at least 1".into());
        }
        Ok(())
    }
}

/// One instance: its profile, documents and recent messages.
#[derive(Debug, Clone, Default)]
pub struct Instance {
    /// The account it lives under (`2.1`).
    pub account: String,
    /// Its folder in the archive.
    pub dir: PathBuf,
    /// Its profile.
    pub profile: Profile,
    /// Its own documents.
    pub documents: Vec<Document>,
    /// Its last few messages, oldest first.
    pub messages: Vec<Document>,
}

/// What loading the archive changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadReport {
    /// Names of the profiles created for configured workers.
    pub created: Vec<String>,
    /// Addresses of the legacy profiles fixed.
    pub fixed: Vec<String>,
    /// Addresses of the copies merged away.
    pub merged: Vec<String>,
}

/// Every known instance and the core documents. Empty (no archive) is valid: prompts then
/// come from the worker configuration alone.
#[derive(Debug, Clone, Default)]
pub struct Identities {
    archive: Option<PathBuf>,
    core: Vec<Document>,
    instances: BTreeMap<String, Instance>,
}

impl Identities {
    /// Reads the archive at `archive`, creating, fixing and merging profiles as described
    /// in the module documentation, and writes every change back.
    pub fn load(archive: &Path, workers: &[WorkerConfig]) -> Result<(Identities, LoadReport)> {
        let mut report = LoadReport::default();
        let mut groups: BTreeMap<String, Vec<archive::Found>> = BTreeMap::new();
        for mut found in archive::find_profiles(archive)? {
            let folder = found
                .dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if found.profile.fix_legacy(&found.account, &folder) {
                report.fixed.push(found.profile.address.clone());
                archive::write_profile(&found.dir, &found.profile)?;
            }
            // The archive is kept as found; an address off the HA rules is reported, not fixed.
            let checked = hypernet_plugin_api::address::validate(&found.profile.address);
            for problem in checked.errors.iter().chain(&checked.warnings) {
                tracing::warn!(instance = %found.profile.name, address = %checked.input, problem = %problem, "instance address");
            }
            groups
                .entry(found.profile.name.to_lowercase())
                .or_default()
                .push(found);
        }
        let mut instances = BTreeMap::new();
        for (key, mut copies) in groups {
            let keep = if copies.len() > 1 {
                let profiles: Vec<Profile> = copies.iter().map(|c| c.profile.clone()).collect();
                let (keep, merged) = profile::merge(&profiles);
                archive::write_profile(&copies[keep].dir, &merged)?;
                for other in copies.iter().enumerate().filter(|(i, _)| *i != keep) {
                    archive::retire_profile(&other.1.dir)?;
                    report.merged.push(other.1.profile.address.clone());
                    tracing::info!(instance = %merged.name, kept = %merged.address, merged = %other.1.profile.address, "merged copies of one instance");
                }
                copies[keep].profile = merged;
                keep
            } else {
                0
            };
            insert_instance(&mut instances, key, copies.swap_remove(keep))?;
        }
        for worker in workers {
            let key = worker.name.to_lowercase();
            if instances.contains_key(&key) {
                continue;
            }
            let profile = Profile::for_worker(worker);
            let dir = archive::instance_dir(archive, &worker.account, &worker.name);
            archive::write_profile(&dir, &profile)?;
            report.created.push(worker.name.clone());
            let found = archive::Found {
                account: worker.account.clone(),
                dir,
                profile,
            };
            // The folder may already hold documents written before the profile existed.
            insert_instance(&mut instances, key, found)?;
        }
        let identities = Identities {
            archive: Some(archive.to_owned()),
            core: archive::core_documents(archive)?,
            instances,
        };
        Ok((identities, report))
    }

    /// The archive folder, when one was loaded.
    pub fn archive(&self) -> Option<&Path> {
        self.archive.as_deref()
    }

    /// The shared core documents.
    pub fn core(&self) -> &[Document] {
        &self.core
    }

    /// The instance named `name` (any case).
    pub fn get(&self, name: &str) -> Option<&Instance> {
        self.instances.get(&name.to_lowercase())
    }

    /// The instance of `worker`, or one made from its configuration when the archive has
    /// none (an ephemeral worker, or no archive at all).
    pub fn instance_for(&self, worker: &WorkerConfig) -> Cow<'_, Instance> {
        match self.get(&worker.name) {
            Some(instance) => Cow::Borrowed(instance),
            None => Cow::Owned(Instance {
                account: worker.account.clone(),
                profile: Profile::for_worker(worker),
                ..Instance::default()
            }),
        }
    }

    /// Replaces the profile of instance `name` and writes it to the archive.
    pub fn update_profile(&mut self, name: &str, profile: Profile) -> Result<()> {
        let instance = self
            .instances
            .get_mut(&name.to_lowercase())
            .ok_or_else(|| anyhow::anyhow!("no instance named `{name}` in the archive"))?;
        archive::write_profile(&instance.dir, &profile)?;
        instance.profile = profile;
        Ok(())
    }
}

/// Sizes of a worker's two identity prompts.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct PromptSizes {
    /// Characters of the full prompt.
    pub full_chars: usize,
    /// Characters of the compact prompt.
    pub compact_chars: usize,
    /// `compact_chars / full_chars`.
    pub ratio: f64,
}

impl Identities {
    /// The sizes of `worker`'s prompts on `model`, for a task titled `title`.
    pub fn prompt_sizes(&self, worker: &WorkerConfig, model: &str, title: &str) -> PromptSizes {
        let instance = self.instance_for(worker);
        let full_chars = prompt::full(&self.core, &instance, model, title)
            .text
            .chars()
            .count();
        let compact_chars = prompt::compact(&instance, model, title).chars().count();
        PromptSizes {
            full_chars,
            compact_chars,
            ratio: compact_chars as f64 / full_chars.max(1) as f64,
        }
    }
}

/// Reads an instance's documents and messages and files it under `key`.
fn insert_instance(
    instances: &mut BTreeMap<String, Instance>,
    key: String,
    found: archive::Found,
) -> Result<()> {
    let instance = Instance {
        documents: archive::documents(&found.dir)?,
        messages: archive::recent_messages(&found.dir)?,
        account: found.account,
        dir: found.dir,
        profile: found.profile,
    };
    instances.insert(key, instance);
    Ok(())
}

#[cfg(test)]
mod tests;
