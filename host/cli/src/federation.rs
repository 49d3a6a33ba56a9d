//! `hypernet federation status`: the running host's peers and the tasks crossing swarms.

use super::client::Client;
use super::table;
use super::tasks::parse;
use anyhow::Result;
use clap::Subcommand;
use serde::Deserialize;
use std::path::Path;

/// `hypernet federation ...`
#[derive(Debug, Subcommand)]
pub enum FederationCommand {
    /// This swarm's peers (models, workers free, queue, version) and the tasks delegated
    /// out and in.
    Status {
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
}

/// `GET /api/federation`.
#[derive(Debug, Deserialize)]
struct View {
    enabled: bool,
    swarm: Option<String>,
    reachable: bool,
    peers: Vec<Peer>,
    delegated_out: Vec<Cross>,
    delegated_in: Vec<Cross>,
}

#[derive(Debug, Deserialize)]
struct Peer {
    swarm: String,
    models: Vec<String>,
    workers: usize,
    free: usize,
    queue: u64,
    accepts: bool,
    version: String,
}

#[derive(Debug, Deserialize)]
struct Cross {
    id: String,
    title: String,
    status: String,
    swarm: String,
    remote_task: Option<String>,
    remote_status: Option<String>,
    worker: Option<String>,
}

fn or_dash(v: Option<String>) -> String {
    v.unwrap_or_else(|| "-".into())
}

pub(super) async fn run(data_dir: &Path, cmd: FederationCommand) -> Result<()> {
    let FederationCommand::Status { json } = cmd;
    let answer = Client::connect(data_dir)?.get("/api/federation").await?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&answer)?)?;
        return Ok(());
    }
    let view: View = parse(&answer, "the federation status")?;
    if !view.enabled {
        outln!("federation is off (set [federation] enabled = true in hypernet.toml)")?;
        return Ok(());
    }
    let reach = if view.reachable {
        "connected"
    } else {
        "cannot reach the NATS servers"
    };
    outln!("swarm {} ({reach})", or_dash(view.swarm))?;
    if view.peers.is_empty() {
        outln!("no peer is seen")?;
    } else {
        let rows: Vec<Vec<String>> = view
            .peers
            .into_iter()
            .map(|p| {
                vec![
                    p.swarm,
                    p.models.join(","),
                    format!("{}/{}", p.free, p.workers),
                    p.queue.to_string(),
                    if p.accepts { "yes" } else { "no" }.into(),
                    p.version,
                ]
            })
            .collect();
        outln!(
            "{}",
            table::render(
                &["PEER", "MODELS", "FREE", "QUEUE", "ACCEPTS", "VERSION"],
                &rows
            )
        )?;
    }
    for (heading, list, there) in [
        ("delegated out", view.delegated_out, "AT"),
        ("delegated in", view.delegated_in, "FROM"),
    ] {
        outln!("{heading}: {}", list.len())?;
        if list.is_empty() {
            continue;
        }
        let rows: Vec<Vec<String>> = list
            .into_iter()
            .map(|c| {
                vec![
                    c.id,
                    c.status,
                    c.swarm,
                    or_dash(c.remote_task),
                    or_dash(c.remote_status.or(c.worker)),
                    c.title,
                ]
            })
            .collect();
        outln!(
            "{}",
            table::render(&["TASK", "STATUS", there, "THERE", "STATE", "TITLE"], &rows)
        )?;
    }
    Ok(())
}
