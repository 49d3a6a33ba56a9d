//! `hypernet channels list|setup`: the running host's channels to people.

use super::client::Client;
use super::table;
use super::tasks::parse;
use anyhow::Result;
use clap::Subcommand;
use serde::Deserialize;
use std::path::Path;

/// `hypernet channels ...`
#[derive(Debug, Subcommand)]
pub enum ChannelsCommand {
    /// List the running channels: name, plugin, whether they show buttons and are polled.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Set a channel up on its service (Discord: register the slash commands).
    Setup {
        /// The channel (`discord`, `telegram`, ...).
        channel: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// One row of `GET /api/channels`.
#[derive(Debug, Deserialize)]
struct Channel {
    name: String,
    plugin: String,
    buttons: bool,
    polls: bool,
}

/// One answer of `POST /api/channels/{channel}/setup`.
#[derive(Debug, Deserialize)]
struct Step {
    method: String,
    status: u16,
    answer: String,
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.into()
}

pub(super) async fn run(data_dir: &Path, cmd: ChannelsCommand) -> Result<()> {
    let client = Client::connect(data_dir)?;
    match cmd {
        ChannelsCommand::List { json } => {
            let answer = client.get("/api/channels").await?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&answer)?)?;
                return Ok(());
            }
            let list: Vec<Channel> = parse(&answer, "the list of channels")?;
            if list.is_empty() {
                outln!("no channel is loaded (enable a channel-* plugin in plugins.toml)")?;
                return Ok(());
            }
            let rows: Vec<Vec<String>> = list
                .into_iter()
                .map(|c| vec![c.name, c.plugin, yes_no(c.buttons), yes_no(c.polls)])
                .collect();
            outln!(
                "{}",
                table::render(&["CHANNEL", "PLUGIN", "BUTTONS", "POLLED"], &rows)
            )?;
        }
        ChannelsCommand::Setup { channel, json } => {
            let answer = client
                .post(&format!("/api/channels/{channel}/setup"), None)
                .await?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&answer)?)?;
                return Ok(());
            }
            let steps: Vec<Step> = parse(&answer, "the setup's answers")?;
            if steps.is_empty() {
                outln!("{channel}: nothing to set up")?;
            }
            let mut failed = 0;
            for s in &steps {
                let ok = (200..300).contains(&s.status);
                failed += usize::from(!ok);
                outln!(
                    "{channel}: {} → {} {}",
                    s.method,
                    if s.status == 0 {
                        "no answer".to_owned()
                    } else {
                        s.status.to_string()
                    },
                    if ok {
                        "ok".to_owned()
                    } else {
                        s.answer.clone()
                    }
                )?;
            }
            if failed > 0 {
                anyhow::bail!(
                    "{failed} of {} setup requests of {channel} failed",
                    steps.len()
                );
            }
        }
    }
    Ok(())
}
