//! The `hypernet` command line: `run` starts a host; the other commands talk to a running
//! host over its API (found through the data directory).

mod client;
mod plugins;
mod table;

use crate::run::{RunOptions, run};
use anyhow::Result;
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Hypernet Swarm: a swarm of LLM workers over a durable task graph.
#[derive(Debug, Parser)]
#[command(name = "hypernet", version, about)]
pub struct Cli {
    /// Data directory: the database, the API token, and how to reach the running host.
    #[arg(
        long,
        global = true,
        env = "HYPERNET_DATA",
        default_value = "hypernet-data"
    )]
    pub data_dir: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the host: load plugins, serve the API, run until Ctrl-C or SIGTERM.
    Run {
        /// Plugin manifest [default: ./plugins.toml if present, else the built-in one].
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// Address of the HTTP API (port 0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:7477")]
        listen: SocketAddr,
        /// Host config [default: ./hypernet.toml if present, else built-in defaults].
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Inspect, check, toggle and call plugins.
    #[command(subcommand, visible_alias = "plugin")]
    Plugins(PluginsCommand),
}

/// `hypernet plugins ...`
#[derive(Debug, Subcommand)]
pub enum PluginsCommand {
    /// List the running host's plugins: name, version, kinds, state, library.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Validate a manifest and every plugin in it without starting anything.
    Check {
        /// Manifest to check [default: ./plugins.toml if present, else the built-in one].
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Start a disabled or failed plugin in the running host.
    Enable {
        /// Plugin name.
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Stop a plugin in the running host (until enabled again or the host restarts).
    Disable {
        /// Plugin name.
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Call a plugin's named query with JSON arguments and print the JSON answer.
    Call {
        /// Plugin name (or `plugin:service`).
        name: String,
        /// Query name.
        query: String,
        /// Arguments as JSON [default: null].
        args: Option<String>,
    },
}

impl Cli {
    /// Runs the command; the process exit code follows from the result.
    pub async fn execute(self) -> Result<()> {
        match self.command {
            Command::Run {
                manifest,
                listen,
                config,
            } => {
                run(RunOptions {
                    manifest,
                    data_dir: self.data_dir,
                    listen,
                    config,
                })
                .await
            }
            Command::Plugins(cmd) => plugins::execute(&self.data_dir, cmd).await,
        }
    }

    /// Whether this command is the long-running host (which logs at info by default).
    pub fn is_host(&self) -> bool {
        matches!(self.command, Command::Run { .. })
    }
}
