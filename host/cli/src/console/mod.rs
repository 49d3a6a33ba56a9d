//! `hypernet console`: a full-screen view of the running host that a person works from —
//! the task board, the selected task with its answer streaming in, the workers, the
//! budget, what waits on a person, the plugins — with keys to act on each.
//!
//! - `app`: the state, and how refreshes, events and outcomes change it.
//! - `keys`: what each key does.
//! - `view`: drawing the state.
//! - `filter`, `output`, `snapshot`: the board's filters, streamed answers, what
//!   one refresh read.
//! - `api`: the reads and the changes, over the host's API; `events`: its event
//!   stream; `refresh`: when to read again.
//! - `terminal`: taking the terminal over and giving it back.
//!
//! The loop below only moves data between them: keys, events and finished API calls
//! come in, the state changes, the screen is drawn. API calls run as tasks of their own,
//! so a slow host never freezes the keys.
//!
//! The console is its own program, `hypernet-console` (`src/bin/hypernet-console.rs`),
//! which `hypernet console` starts in its place ([`launch`]): the drawing code and its
//! crates stay out of the host binary, which stays small.

mod api;
mod app;
mod events;
mod filter;
mod keys;
mod output;
mod refresh;
mod snapshot;
mod terminal;
mod view;

use crate::client::Client;
use anyhow::{Context, Result, bail};
use api::Request;
use app::{App, Stream};
use keys::Effect;
use ratatui::crossterm::event::Event;
use serde_json::Value;
use snapshot::Snapshot;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use std::time::Instant;
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};

/// The longest wait for a change a person asked for (approving runs the held action).
const ACTION_PATIENCE: Duration = Duration::from_secs(60);

/// The program beside this one that draws the console.
pub const PROGRAM: &str = "hypernet-console";

/// `hypernet console`: replaces this process with [`PROGRAM`] from the same folder, on the
/// host of `data_dir`, reading it every `every`. Returns only when it cannot be started.
pub fn launch(data_dir: &Path, every: Duration) -> Result<()> {
    let refresh = every.as_secs_f64().to_string();
    let args = [
        OsStr::new("--data-dir"),
        data_dir.as_os_str(),
        OsStr::new("--refresh"),
        OsStr::new(&refresh),
    ];
    crate::program::exec_beside(PROGRAM, "hypernet console", args)
}

/// Runs the console on the host of `data_dir`, reading it every `every`, until `q`.
pub async fn run(data_dir: &Path, every: Duration) -> Result<()> {
    let client = Client::connect(data_dir)?;
    terminal::require_terminal()?;
    let mut app = App::new(client.base());
    // A host that does not answer is reported as every command reports it, before the
    // terminal is taken over.
    app.refreshed(api::refresh(&client, &app.filter).await?);
    let mut screen = terminal::Screen::enter()?;
    let mut console = Console::new(data_dir, client, every);
    let ended = console.run(&mut screen, &mut app).await;
    drop(screen);
    ended
}

/// What a task of the loop brings back.
enum Done {
    /// A refresh.
    Read(Result<Box<Snapshot>>),
    /// A request's answer or refusal.
    Answered(Request, Result<Value>),
}

/// The loop's connections and timers.
struct Console {
    data_dir: PathBuf,
    client: Arc<Client>,
    every: Duration,
    jobs: JoinSet<Done>,
    schedule: refresh::Schedule,
    stream: JoinHandle<()>,
    updates: mpsc::Receiver<events::Update>,
}

impl Console {
    fn new(data_dir: &Path, client: Client, every: Duration) -> Console {
        let (tx, updates) = mpsc::channel(1024);
        let stream = events::follow(client.base().to_owned(), client.token().map(Into::into), tx);
        Console {
            data_dir: data_dir.to_owned(),
            client: Arc::new(client),
            every,
            jobs: JoinSet::new(),
            schedule: refresh::Schedule::default(),
            stream,
            updates,
        }
    }

    async fn run(&mut self, screen: &mut terminal::Screen, app: &mut App) -> Result<()> {
        let mut keys = terminal::events();
        let mut ticks = tokio::time::interval(self.every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            screen.draw(|frame| view::draw(frame, app))?;
            let wake = self.schedule.wake_at();
            tokio::select! {
                key = keys.recv() => {
                    let event = key
                        .context("the terminal's key reader stopped")?
                        .context("reading the terminal")?;
                    match on_terminal(app, event) {
                        Effect::Quit => return Ok(()),
                        Effect::Send(request) => self.send(request),
                        Effect::Refresh => self.schedule.now(Instant::now()),
                        Effect::Nothing => {}
                    }
                }
                _ = ticks.tick() => self.schedule.now(Instant::now()),
                update = self.updates.recv() => {
                    match update.context("the event stream's task stopped")? {
                        events::Update::Connected => app.stream = Stream::Live,
                        events::Update::Lost(why) => app.stream = Stream::Down(why),
                        events::Update::Event(event) => {
                            if app.event(&event) {
                                self.schedule.soon(Instant::now());
                            }
                        }
                    }
                }
                Some(done) = self.jobs.join_next() => {
                    match done {
                        Ok(Done::Read(read)) => self.read(app, read),
                        Ok(Done::Answered(request, outcome)) => {
                            app.outcome(&request, outcome);
                            self.schedule.now(Instant::now());
                        }
                        Err(err) if err.is_panic() => bail!("a task of the console panicked"),
                        Err(_) => {}
                    }
                }
                _ = sleep_until(wake), if wake.is_some() => {}
            }
            let now = Instant::now();
            if self.schedule.due(now) {
                self.schedule.started(now);
                self.read_host(app);
            }
        }
    }

    /// Reads the host in a task of its own, giving up on a host that hangs.
    fn read_host(&mut self, app: &App) {
        let (client, filter) = (self.client.clone(), app.filter.clone());
        let patience = self.every.max(Duration::from_secs(2));
        self.jobs.spawn(async move {
            let read = tokio::time::timeout(patience, api::refresh(&client, &filter)).await;
            Done::Read(match read {
                Ok(read) => read.map(Box::new),
                Err(_) => Err(anyhow::anyhow!("no answer within {patience:?}")),
            })
        });
    }

    /// Sends a request in a task of its own.
    fn send(&mut self, request: Request) {
        tracing::debug!(?request, "sending");
        let client = self.client.clone();
        self.jobs.spawn(async move {
            let sent = tokio::time::timeout(ACTION_PATIENCE, api::send(&client, &request)).await;
            let outcome = sent.unwrap_or_else(|_| {
                Err(anyhow::anyhow!(
                    "no answer within {}s (it may still happen; the board will tell)",
                    ACTION_PATIENCE.as_secs()
                ))
            });
            Done::Answered(request, outcome)
        });
    }

    /// Takes in a refresh; after a failed one, looks for the host again (it may have been
    /// restarted, on another port), and follows the new one's events.
    fn read(&mut self, app: &mut App, read: Result<Box<Snapshot>>) {
        self.schedule.finished();
        match read {
            Ok(snapshot) => app.refreshed(*snapshot),
            Err(err) => {
                app.unreachable(format!("{err:#}"));
                let Ok(client) = Client::connect(&self.data_dir) else {
                    return;
                };
                if client.base() != self.client.base() {
                    self.stream.abort();
                    let (tx, updates) = mpsc::channel(1024);
                    self.stream = events::follow(
                        client.base().to_owned(),
                        client.token().map(Into::into),
                        tx,
                    );
                    self.updates = updates;
                    app.host = client.base().to_owned();
                    app.stream = Stream::Connecting;
                }
                self.client = Arc::new(client);
            }
        }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        self.stream.abort();
    }
}

/// A terminal event: keys act, pasted text goes into the line being typed, and anything
/// else (a resize) only draws again.
fn on_terminal(app: &mut App, event: Event) -> Effect {
    match event {
        Event::Key(key) => keys::handle(app, key),
        Event::Paste(text) => keys::paste(app, &text),
        _ => Effect::Nothing,
    }
}

/// Sleeps until `at`; forever without one.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
