//! The channels service: what people send back. An HTTP request for a channel, or a poll's
//! answer, is read by the channel plugin into commands; each is stored in the [`Inbox`]
//! before it is handled, then run through the [command layer](super::commands) for the
//! configured person it came from — anyone else is refused and logged — and answered on
//! the same channel. Every command, refused ones too, is on the audit log with its person
//! and channel. Tasks filed from a channel are followed: their outcome goes back to the
//! person, in the task's thread.

use super::ChannelsConfig;
use super::commands::{self, Command, HELP};
use super::inbox::{Follow, Inbox, InboxError, Item};
use crate::audit::{Audit, AuditKind};
use crate::outbox::{NewMessage, Outbox};
use crate::people::Person;
use crate::persist::TaskTables;
use crate::scheduler::Scheduler;
use hypernet_engine::Registry;
use hypernet_llm::HttpExecutor;
use hypernet_model::tasks::TaskId;
use hypernet_model::tasks::{PlannedTask, TaskSpec};
use hypernet_plugin_api::channel::{
    ChannelInfo, HttpRequest, HttpResponse, Inbound, InboundCommand, InboundRequest,
};
use hypernet_plugin_api::protocol::channel::{self as ops, Operation};
use serde::Serialize;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// A running channel, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ChannelView {
    /// The channel's name (`telegram`).
    pub name: String,
    /// The plugin service serving it.
    pub plugin: String,
    /// Whether it shows buttons.
    pub buttons: bool,
    /// Whether the host polls it for commands.
    pub polls: bool,
}

/// What one setup request got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SetupStep {
    /// `PUT`, `POST`, ...
    pub method: String,
    /// The service's status code (0 when no answer came).
    pub status: u16,
    /// The service's answer (or the error), cut at 500 characters.
    pub answer: String,
}

/// Why a channel request failed.
#[derive(Debug, thiserror::Error)]
pub enum ChannelsError {
    /// No running channel has that name.
    #[error("no channel `{0}` is loaded")]
    NotFound(String),
    /// The plugin failed.
    #[error("channel `{channel}`: {error}")]
    Plugin {
        /// The channel.
        channel: String,
        /// What it said.
        error: hypernet_plugin_api::PluginError,
    },
    /// The inbox failed.
    #[error(transparent)]
    Inbox(#[from] InboxError),
    /// A blocking task stopped.
    #[error("a channel task stopped: {0}")]
    Stopped(#[from] tokio::task::JoinError),
}

/// The channels service held weakly.
#[derive(Clone)]
pub(super) struct WeakChannels(std::sync::Weak<Inner>);

impl WeakChannels {
    /// The service, while the host runs.
    pub(super) fn upgrade(&self) -> Option<Channels> {
        self.0.upgrade().map(|inner| Channels { inner })
    }
}

/// The channels service. Cheap to clone.
#[derive(Clone)]
pub struct Channels {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Arc<Registry>,
    outbox: Outbox,
    scheduler: Scheduler,
    audit: Option<Audit>,
    inbox: Inbox,
    executor: HttpExecutor,
    config: ChannelsConfig,
    /// Commands are handled one at a time, in the order received.
    handling: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Channels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Channels")
    }
}

/// What [`Channels::start`] needs.
pub struct ChannelsParts {
    /// The plugins.
    pub registry: Arc<Registry>,
    /// Where answers go.
    pub outbox: Outbox,
    /// What commands act on.
    pub scheduler: Scheduler,
    /// Where commands are recorded.
    pub audit: Option<Audit>,
    /// The HTTP client for polls and setup.
    pub executor: HttpExecutor,
    /// Settings.
    pub config: ChannelsConfig,
}

impl Channels {
    /// The service: it handles the commands left pending by the last run, starts polling
    /// the channels that poll, and follows the outcomes of tasks filed from channels.
    pub fn start(parts: ChannelsParts) -> Channels {
        let inbox = Inbox::new(parts.registry.store().clone());
        let channels = Channels {
            inner: Arc::new(Inner {
                registry: parts.registry,
                outbox: parts.outbox,
                scheduler: parts.scheduler,
                audit: parts.audit,
                inbox,
                executor: parts.executor,
                config: parts.config,
                handling: tokio::sync::Mutex::new(()),
            }),
        };
        match channels.inner.inbox.pending() {
            Ok(pending) if !pending.is_empty() => {
                tracing::info!(
                    commands = pending.len(),
                    "handling the commands received before the restart"
                );
                let this = channels.clone();
                tokio::spawn(async move { this.handle_all(pending).await });
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "cannot read the channels' inbox"),
        }
        super::poller::spawn(&channels);
        channels.follow_outcomes();
        channels
    }

    /// The service held weakly, for background tasks that must end with the host.
    pub(super) fn downgrade(&self) -> WeakChannels {
        WeakChannels(Arc::downgrade(&self.inner))
    }

    pub(super) fn registry(&self) -> &Arc<Registry> {
        &self.inner.registry
    }

    pub(super) fn config(&self) -> &ChannelsConfig {
        &self.inner.config
    }

    pub(super) fn executor(&self) -> &HttpExecutor {
        &self.inner.executor
    }

    pub(super) fn inbox(&self) -> &Inbox {
        &self.inner.inbox
    }

    fn address(&self, channel: &str) -> Result<String, ChannelsError> {
        self.inner
            .registry
            .channel(channel)
            .ok_or_else(|| ChannelsError::NotFound(channel.to_owned()))
    }

    /// Calls channel operation `O`.
    pub(super) async fn call<O: Operation>(
        &self,
        channel: &str,
        args: &O::Args<'_>,
    ) -> Result<O::Answer, ChannelsError> {
        let address = self.address(channel)?;
        self.inner
            .registry
            .call_typed(&address, O::OP.name(), args)
            .await
            .map_err(|error| ChannelsError::Plugin {
                channel: channel.to_owned(),
                error,
            })
    }

    /// Every running channel.
    pub async fn list(&self) -> Vec<ChannelView> {
        let mut out = Vec::new();
        for (name, plugin) in self.inner.registry.channels() {
            let info: ChannelInfo = self
                .call::<ops::Describe>(&name, &())
                .await
                .unwrap_or_default();
            out.push(ChannelView {
                name,
                plugin,
                buttons: info.buttons,
                polls: info.polls,
            });
        }
        out
    }

    /// Hands an HTTP request to channel `channel`; stores the commands it carried and
    /// answers what the channel says (the commands are handled after).
    pub async fn inbound(
        &self,
        channel: &str,
        request: InboundRequest,
    ) -> Result<HttpResponse, ChannelsError> {
        let Inbound { response, commands } =
            self.call::<ops::HandleInbound>(channel, &request).await?;
        self.receive(channel, commands, None).await?;
        Ok(response)
    }

    /// Stores commands (and a poll's cursor, in the same commit), then handles the new ones
    /// in the background.
    pub(super) async fn receive(
        &self,
        channel: &str,
        commands: Vec<InboundCommand>,
        cursor: Option<String>,
    ) -> Result<(), ChannelsError> {
        if commands.is_empty() && cursor.is_none() {
            return Ok(());
        }
        let this = self.clone();
        let channel = channel.to_owned();
        let fresh = tokio::task::spawn_blocking(move || {
            this.inner
                .inbox
                .receive(&channel, commands, cursor.as_deref())
        })
        .await??;
        if !fresh.is_empty() {
            let this = self.clone();
            tokio::spawn(async move { this.handle_all(fresh).await });
        }
        Ok(())
    }

    /// Runs the setup requests of channel `channel` (Discord: registering the slash
    /// commands).
    pub async fn setup(&self, channel: &str) -> Result<Vec<SetupStep>, ChannelsError> {
        let requests: Vec<HttpRequest> = self.call::<ops::Setup>(channel, &()).await?;
        let timeout = Duration::from_millis(self.inner.config.request_timeout_ms);
        let mut steps = Vec::new();
        for request in &requests {
            let step = match self.inner.executor.send_once(request, timeout).await {
                Ok(r) => SetupStep {
                    method: request.method.clone(),
                    status: r.status,
                    answer: r.body.chars().take(500).collect(),
                },
                Err(e) => SetupStep {
                    method: request.method.clone(),
                    status: 0,
                    answer: e.to_string(),
                },
            };
            tracing::info!(channel, method = %step.method, status = step.status, "channel setup request");
            steps.push(step);
        }
        Ok(steps)
    }

    async fn handle_all(&self, items: Vec<Item>) {
        let _turn = self.inner.handling.lock().await;
        for item in items {
            let answer = self.handle(&item).await;
            let this = self.clone();
            let done = {
                let answer = answer.clone();
                let item = item.clone();
                tokio::task::spawn_blocking(move || this.inner.inbox.done(&item, &answer)).await
            };
            if !matches!(done, Ok(Ok(()))) {
                tracing::error!(channel = %item.channel, id = %item.command.id, "cannot mark a command handled");
            }
        }
    }

    /// Handles one command; returns the answer given.
    async fn handle(&self, item: &Item) -> String {
        let (channel, command) = (&item.channel, &item.command);
        let people = self.inner.outbox.people();
        let Some(person) = people
            .by_address(channel, &command.from)
            .filter(|p| p.commands)
            .cloned()
        else {
            tracing::warn!(%channel, from = %command.from, text = %command.text, "a command from someone not allowed to command was refused");
            self.audit(
                &format!("{channel}:{}", command.from),
                channel,
                command,
                "refused: not a configured person",
            );
            let answer = "You are not allowed to command this swarm.".to_owned();
            self.answer_raw(channel, command, &answer).await;
            return answer;
        };
        let answer = match commands::parse(&command.text) {
            Err(e) => e,
            Ok(parsed) => match self.run(&person, item, &parsed).await {
                Ok(answer) => answer,
                Err(e) => format!("{} failed: {e}", parsed.name()),
            },
        };
        tracing::info!(%channel, person = %person.name, text = %command.text, %answer, "command from a channel");
        self.audit(&person.name, channel, command, &answer);
        self.answer(&person, channel, command, &answer).await;
        answer
    }

    fn audit(&self, actor: &str, channel: &str, command: &InboundCommand, outcome: &str) {
        if let Some(audit) = &self.inner.audit {
            audit.record(
                AuditKind::ChannelCommand,
                actor,
                json!({ "channel": channel, "from": command.from, "id": command.id, "command": command.text, "outcome": outcome }),
            );
        }
    }

    /// Answers a command of `person` where it came from.
    async fn answer(&self, person: &Person, channel: &str, command: &InboundCommand, text: &str) {
        let mut reply = NewMessage::new(person.name.clone(), "host", text);
        reply.channel = channel.to_owned();
        reply.tags = vec!["reply".into()];
        reply.origin = Some(format!("reply:{channel}:{}", command.id));
        reply.reply = Some(command.reply.clone().unwrap_or(serde_json::Value::Null));
        if let Err(e) = self.inner.outbox.file(reply).await {
            tracing::error!(%channel, error = %e, "cannot answer a command");
        }
    }

    /// Answers someone who is not a configured person (at their address on the channel).
    async fn answer_raw(&self, channel: &str, command: &InboundCommand, text: &str) {
        let mut reply = NewMessage::new(command.from.clone(), "host", text);
        reply.channel = channel.to_owned();
        reply.tags = vec!["reply".into()];
        reply.origin = Some(format!("reply:{channel}:{}", command.id));
        reply.reply = Some(command.reply.clone().unwrap_or(serde_json::Value::Null));
        if let Err(e) = self.inner.outbox.file(reply).await {
            tracing::error!(%channel, error = %e, "cannot answer a refused command");
        }
    }

    /// Runs a parsed command for `person`. A task it files has the command as its origin,
    /// so a command handled again after a crash files no second task.
    async fn run(&self, person: &Person, item: &Item, command: &Command) -> Result<String, String> {
        let scheduler = &self.inner.scheduler;
        let channel = item.channel.as_str();
        let origin = Some(format!("channel:{channel}:{}", item.command.id));
        let e = |e: &dyn std::fmt::Display| e.to_string();
        match command {
            Command::Help => Ok(HELP.to_owned()),
            Command::Status => Ok(self.status()),
            Command::Task(text) => {
                let spec = TaskSpec {
                    title: title(text),
                    description: text.clone(),
                    origin,
                    ..TaskSpec::default()
                };
                let id = self.file(person, channel, spec, None).await?;
                Ok(format!(
                    "Filed {id}: \"{}\". Its result will follow here.",
                    title(text)
                ))
            }
            Command::Ask { worker, question } => {
                let name = scheduler
                    .read_snapshot(|s| {
                        s.workers
                            .iter()
                            .find(|w| w.name.eq_ignore_ascii_case(worker))
                            .map(|w| w.name.clone())
                    })
                    .ok_or_else(|| format!("no worker named `{worker}`"))?;
                let spec = TaskSpec {
                    title: format!("Question from {}: {}", person.name, title(question)),
                    description: question.clone(),
                    tags: vec!["question".into()],
                    for_worker: Some(name.clone()),
                    origin,
                    ..TaskSpec::default()
                };
                let id = self.file(person, channel, spec, Some(name.clone())).await?;
                Ok(format!("Asked {name} ({id}); the answer will follow here."))
            }
            Command::Answer { task, text } => {
                scheduler
                    .answer(*task, text.clone())
                    .await
                    .map_err(|x| e(&x))?;
                Ok(format!("{task} has your answer and is ready again."))
            }
            Command::Approve(id) => {
                let a = scheduler
                    .approvals()
                    .approve(*id, &person.name)
                    .await
                    .map_err(|x| e(&x))?;
                Ok(format!("{id} approved: {} runs for {}.", a.tool, a.task))
            }
            Command::Deny { id, reason } => {
                scheduler
                    .approvals()
                    .deny(*id, &person.name, reason.clone())
                    .await
                    .map_err(|x| e(&x))?;
                Ok(format!("{id} denied."))
            }
            Command::Cancel(task) => {
                scheduler.cancel(*task).await.map_err(|x| e(&x))?;
                Ok(format!("{task} cancelled."))
            }
            Command::Retry(task) => {
                scheduler.retry(*task).await.map_err(|x| e(&x))?;
                Ok(format!("{task} will be tried again."))
            }
        }
    }

    /// Files a task for `person` and follows its outcome.
    async fn file(
        &self,
        person: &Person,
        channel: &str,
        spec: TaskSpec,
        worker: Option<String>,
    ) -> Result<TaskId, String> {
        let filed = self
            .inner
            .scheduler
            .file(vec![PlannedTask { key: None, spec }], &person.name)
            .await
            .map_err(|e| e.to_string())?;
        let id = filed.first().map(|f| f.id).ok_or("nothing was filed")?;
        let follow = Follow {
            person: person.name.clone(),
            channel: channel.to_owned(),
            worker,
        };
        let this = self.clone();
        let key = id.to_string();
        let _ = tokio::task::spawn_blocking(move || this.inner.inbox.follow(&key, &follow)).await;
        Ok(id)
    }

    fn status(&self) -> String {
        self.inner.scheduler.read_snapshot(|s| {
            let count = |k: &str| s.counts.by_status.get(k).copied().unwrap_or(0);
            let dollars = |micros: u64| micros as f64 / 1e6;
            let limit = s
                .budget
                .daily_limit_micros
                .map_or("no limit".to_owned(), |l| format!("${:.2}", dollars(l)));
            format!(
                "Tasks: {} ready, {} running, {} waiting on people, {} blocked; {} done and {} failed since start.\n\
                 Workers: {} of {} busy.\nBudget: ${:.2} spent today of {limit}{}.\nBreaker: {}.",
                count("ready"),
                count("running") + count("assigned"),
                count("needs_input"),
                count("blocked"),
                s.counts.completed_since_start,
                s.counts.failed_since_start,
                s.counts.busy_workers,
                s.counts.workers,
                dollars(s.budget.spent_today_micros),
                if s.budget.paused { " (paused)" } else { "" },
                if s.breaker.open { "open" } else { "closed" },
            )
        })
    }

    /// Sends each followed task's outcome to the person who filed it from a channel. The
    /// subscription is durable (`host:channels`) and the message is filed once per task,
    /// so an outcome is neither lost nor sent twice across a crash.
    fn follow_outcomes(&self) {
        let mut events = self.inner.registry.subscribe_durably("channels");
        let weak = self.downgrade();
        tokio::spawn(async move {
            while let Some(batch) = events.next().await {
                for event in batch {
                    let ended = match event.kind.as_str() {
                        "task.completed" | "task.cancelled" => true,
                        "task.failed" => event.payload["retry_at_ms"].is_null(),
                        _ => false,
                    };
                    if let (true, Some(id)) = (ended, event.payload["id"].as_str()) {
                        let Some(this) = weak.upgrade() else { return };
                        this.tell_outcome(id).await;
                    }
                    events.ack(event.id);
                }
            }
        });
    }

    async fn tell_outcome(&self, id: &str) {
        let inbox = |f: fn(&Inbox, &str) -> Result<Option<Follow>, InboxError>| {
            let this = self.clone();
            let key = id.to_owned();
            tokio::task::spawn_blocking(move || f(&this.inner.inbox, &key))
        };
        let Ok(Ok(Some(follow))) = inbox(Inbox::following).await else {
            return;
        };
        let Ok(task_id) = id.parse::<TaskId>() else {
            return;
        };
        let store = self.inner.registry.store().clone();
        let task = match tokio::task::spawn_blocking(move || store.task(task_id)).await {
            Ok(Ok(Some(task))) => task,
            _ => return,
        };
        let completed = task.status == hypernet_model::tasks::TaskStatus::Completed;
        let text = match task.result.as_ref().filter(|_| completed) {
            Some(result) => result.text.clone(),
            None => format!("{id} \"{}\" ended {}.", task.title, task.status),
        };
        let sender = follow
            .worker
            .clone()
            .or(task.worker.clone())
            .unwrap_or_else(|| "host".into());
        let mut message = NewMessage::new(follow.person, sender, text);
        message.channel = follow.channel;
        message.thread = Some(id.to_owned());
        message.subject = Some(format!("{id} {}", task.title));
        message.tags = vec![crate::outbox::record::NOTICE.into(), "result".into()];
        message.origin = Some(format!("outcome:{id}"));
        match self.inner.outbox.file(message).await {
            Ok(_) => {
                let _ = inbox(Inbox::unfollow).await;
            }
            Err(e) => tracing::error!(task = %id, error = %e, "cannot send a task's outcome"),
        }
    }
}

/// A task title from a command's text: its first line, at most 80 characters.
fn title(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default().trim();
    let mut t: String = line.chars().take(80).collect();
    if line.chars().count() > 80 {
        t.push('…');
    }
    t
}
