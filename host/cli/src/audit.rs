//! `hypernet audit list|verify` and `hypernet keys list|rotate|revoke`: the running host's
//! audit log and keys over its API; `audit verify --offline` reads the redb file of a
//! stopped host itself.

use super::client::Client;
use super::format::{cell, rfc3339_ms, time_or_dash};
use super::tasks::{Listed, parse};
use crate::datadir::DataDir;
use anyhow::{Context, Result, bail};
use clap::Subcommand;
use hypernet_swarm::audit::{Audit, AuditEntry, VerifyReport};
use hypernet_swarm::security::{KeyRecord, Keyring};
use std::path::Path;

/// `hypernet audit ...`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List audit entries, newest first: seq, time, kind, actor, detail.
    List {
        /// Entries to skip.
        #[arg(long, default_value = "0")]
        offset: usize,
        /// At most this many [host default: 100].
        #[arg(long)]
        limit: Option<usize>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Remove the oldest entries, keeping the newest N behind a checkpoint entry from which
    /// the chain still verifies.
    Prune {
        /// Entries to keep.
        #[arg(long)]
        keep: u64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Recheck every entry's hash, link and signature; exits with status 1 naming the first
    /// bad seq when the chain is broken.
    Verify {
        /// Read the data directory's redb file directly (the host must be stopped).
        #[arg(long)]
        offline: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `hypernet keys ...`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List the keyring: id, owner, status, created, predecessor (never a secret).
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Make the first key of an entity (a worker's address, say) that has none.
    Generate {
        /// The entity the key speaks for.
        owner: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Replace an entity's active key (the host's by default) with a new one it endorses.
    Rotate {
        /// Whose key [default: host].
        #[arg(long)]
        owner: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key that is no longer active: what it signed stops verifying.
    Revoke {
        /// The key's id (`hk-...`).
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

pub(super) async fn audit(data_dir: &Path, cmd: AuditCommand) -> Result<()> {
    match cmd {
        AuditCommand::List {
            offset,
            limit,
            json,
        } => {
            let mut path = format!("/api/audit?offset={offset}");
            if let Some(limit) = limit {
                path.push_str(&format!("&limit={limit}"));
            }
            let answer = Client::connect(data_dir)?.get(&path).await?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&answer)?)?;
                return Ok(());
            }
            let page: Listed<AuditEntry> = parse(&answer, "a page of audit entries")?;
            outln!("{}", entries_table(&page))?;
            Ok(())
        }
        AuditCommand::Prune { keep, json } => {
            let body = serde_json::json!({ "keep_last": keep });
            let answer = Client::connect(data_dir)?
                .post("/api/audit/prune", Some(&body))
                .await?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&answer)?)?;
                return Ok(());
            }
            let pruned: Option<hypernet_swarm::audit::Pruned> = parse(&answer, "a prune report")?;
            match pruned {
                Some(p) => outln!(
                    "removed {} entries (through seq {}); checkpoint at seq {}",
                    p.removed,
                    p.pruned_through,
                    p.checkpoint_seq
                )?,
                None => outln!("nothing to remove: no more than {keep} entries are stored")?,
            }
            Ok(())
        }
        AuditCommand::Verify { offline, json } => {
            let report = if offline {
                let data = DataDir::new(data_dir);
                tokio::task::spawn_blocking(move || verify_offline(&data)).await??
            } else {
                let answer = Client::connect(data_dir)?.get("/api/audit/verify").await?;
                parse(&answer, "an audit report")?
            };
            if json {
                outln!("{}", serde_json::to_string_pretty(&report)?)?;
            }
            judge(&report, json)
        }
    }
}

pub(super) async fn keys(data_dir: &Path, cmd: KeysCommand) -> Result<()> {
    let client = Client::connect(data_dir)?;
    let (answer, json) = match cmd {
        KeysCommand::List { json } => {
            let path = format!("/api/keys?limit={}", hypernet_api::page::MAX_LIMIT);
            let answer = client.get(&path).await?;
            if !json {
                let page: Listed<KeyRecord> = parse(&answer, "a page of keys")?;
                outln!("{}", keys_table(&page))?;
                return Ok(());
            }
            (answer, json)
        }
        KeysCommand::Generate { owner, json } => {
            let body = serde_json::json!({ "owner": owner });
            (client.post("/api/keys", Some(&body)).await?, json)
        }
        KeysCommand::Rotate { owner, json } => {
            let body = serde_json::json!({ "owner": owner });
            (client.post("/api/keys/rotate", Some(&body)).await?, json)
        }
        KeysCommand::Revoke { id, json } => {
            let path = format!("/api/keys/{}/revoke", super::format::url_part(&id));
            (client.post(&path, None).await?, json)
        }
    };
    if json {
        outln!("{}", serde_json::to_string_pretty(&answer)?)?;
    } else {
        let key: KeyRecord = parse(&answer, "a key")?;
        outln!(
            "{}: {}",
            key.id,
            serde_json::to_value(key.status)?.as_str().unwrap_or("?")
        )?;
    }
    Ok(())
}

/// Verifies the log of a stopped host from its files.
fn verify_offline(data: &DataDir) -> Result<VerifyReport> {
    let path = data.database();
    if !path.is_file() {
        bail!("no database at {} (is --data-dir right?)", path.display());
    }
    let store = hypernet_swarm::persist::open_store(&path).map_err(|e| {
        if e.to_string().contains("already open") {
            anyhow::anyhow!(
                "{} is in use by a running host: stop it, or verify without --offline",
                path.display()
            )
        } else {
            e.into()
        }
    })?;
    let keyring = Keyring::open(&data.keys())?;
    let audit = Audit::new(store, keyring)?;
    audit
        .verify()
        .with_context(|| format!("verifying the audit log in {}", path.display()))
}

/// Prints the verdict (unless JSON was printed) and fails when anything is wrong.
fn judge(report: &VerifyReport, json: bool) -> Result<()> {
    if let Some(bad) = &report.first_bad {
        bail!(
            "audit chain broken at seq {}: {} ({} entries checked)",
            bad.seq,
            bad.reason,
            report.entries_checked
        );
    }
    if let Some(link) = &report.broken_key {
        bail!("key chain broken at {}: {}", link.key, link.reason);
    }
    if !json {
        outln!(
            "audit chain ok: {} entries checked, every link and signature holds",
            report.entries_checked
        )?;
    }
    Ok(())
}

fn entries_table(page: &Listed<AuditEntry>) -> String {
    page.table(
        "no audit entries",
        &["SEQ", "AT", "KIND", "ACTOR", "KEY", "DETAIL"],
        |e| {
            vec![
                e.seq.to_string(),
                rfc3339_ms(e.at_ms),
                e.kind.as_str().to_owned(),
                e.actor.clone(),
                e.key_id.to_string(),
                cell(&e.detail.to_string(), 60),
            ]
        },
    )
}

fn keys_table(page: &Listed<KeyRecord>) -> String {
    page.table(
        "no keys",
        &["ID", "OWNER", "STATUS", "CREATED", "PREDECESSOR"],
        |k| {
            vec![
                k.id.to_string(),
                k.owner.clone(),
                serde_json::to_value(k.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                time_or_dash(Some(k.created_ms)),
                k.predecessor
                    .as_ref()
                    .map_or_else(|| "-".to_owned(), ToString::to_string),
            ]
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use hypernet_swarm::audit::BadEntry;

    #[test]
    fn a_broken_chain_fails_naming_the_seq() {
        let report = VerifyReport {
            ok: false,
            entries_checked: 9,
            first_bad: Some(BadEntry {
                seq: 4,
                reason: "the hash does not match the entry's contents".into(),
            }),
            broken_key: None,
        };
        let err = judge(&report, false).unwrap_err().to_string();
        assert!(
            err.contains("seq 4") && err.contains("hash does not match"),
            "{err}"
        );
        let fine = VerifyReport {
            ok: true,
            first_bad: None,
            ..report
        };
        assert!(judge(&fine, false).is_ok());
    }

    #[test]
    fn offline_verification_reads_a_stopped_hosts_files() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        let err = verify_offline(&data).unwrap_err().to_string();
        assert!(err.contains("no database"), "{err}");
        {
            let store = hypernet_swarm::persist::open_store(&data.database()).unwrap();
            let audit = Audit::open(store, &data.keys()).unwrap();
            audit
                .append(
                    hypernet_swarm::audit::AuditKind::Approval,
                    "host",
                    serde_json::json!({}),
                )
                .unwrap();
        }
        let report = verify_offline(&data).unwrap();
        assert!(report.ok && report.entries_checked == 2, "{report:?}");
    }
}
