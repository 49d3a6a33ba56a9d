//! Receiving: this swarm's durable pull consumer delivers every message sent to it, in
//! the stream's order, in chunks of whatever has arrived. Each chunk is applied through
//! the scheduler — filings, withdrawals, answers, each kind in one command, all durable in
//! one batch — and only then acknowledged; a message unacknowledged (a crash, a lost
//! connection) comes again, and applying it again changes nothing. Several chunks are
//! applied at once (their commands sent in the stream's order), so messages arriving while
//! the scheduler writes a batch join its next batch instead of waiting for this one.

use crate::keys;
use crate::outbound::{self, Outgoing};
use crate::status::PeerKeys;
use crate::wire::{self, Delegate, Message, Update};
use async_nats::jetstream::consumer::pull::MessagesError;
use async_nats::jetstream::{self, AckKind};
use futures_util::StreamExt;
use futures_util::future::join3;
use futures_util::stream::FuturesOrdered;
use hypernet_model::tasks::{RemoteOrigin, TaskSpec, TaskStatus};
use hypernet_model::tier::Tier;
use hypernet_swarm::federation::RemoteUpdate;
use hypernet_swarm::scheduler::Scheduler;
use hypernet_swarm::scheduler::core::CoreError;
use std::time::Duration;

/// Messages applied per chunk at most.
const CHUNK: usize = 512;

/// Chunks being applied at once: the next chunks' commands reach the scheduler while the
/// batch holding the previous one's is being written, and share its next batch.
const IN_FLIGHT: usize = 8;

/// What the receiver needs.
pub struct Receiver {
    /// This swarm's name.
    pub me: String,
    /// Whether it runs tasks others delegate.
    pub accept: bool,
    /// The scheduler.
    pub scheduler: Scheduler,
    /// The peers' published keys.
    pub peer_keys: PeerKeys,
    /// Where refusals are published.
    pub js: jetstream::Context,
    /// The key refusals are signed with.
    pub key: std::sync::Arc<crate::keys::HostKey>,
}

/// Why an answer is not applied.
enum Unchecked {
    /// Its sender's key is not known yet (no status seen since this host started, or not
    /// since the key changed): it comes again later.
    KeyUnknown,
    /// It is refused for good.
    Refused(String),
}

impl Receiver {
    /// Applies one chunk; returns the messages to acknowledge and those to deliver again
    /// later (`true`). Its filings, withdrawals and answers are sent to the scheduler
    /// together, in that order, the moment this is first polled.
    async fn apply(&self, chunk: Vec<(Message, usize)>) -> Vec<(usize, bool)> {
        let mut done = Vec::with_capacity(chunk.len());
        let mut delegates = Vec::new();
        let mut withdrawn = Vec::new();
        let mut updates = Vec::new();
        for (message, at) in chunk {
            match message {
                Message::Delegate(d) => delegates.push((d, at)),
                Message::Withdraw(w) => {
                    let key = RemoteOrigin {
                        swarm: w.from,
                        task: w.task,
                        round: w.round,
                        tier: Tier::ReadOnly,
                        model: None,
                    }
                    .key();
                    withdrawn.push((key, at));
                }
                Message::Update(u) => match self.check(&u) {
                    Ok(()) => updates.push((u, at)),
                    Err(Unchecked::KeyUnknown) => {
                        tracing::debug!(from = %u.from, task = %u.task, "an answer waits for its sender's status (its key)");
                        done.push((at, true));
                    }
                    Err(Unchecked::Refused(why)) => {
                        tracing::warn!(from = %u.from, task = %u.task, why = %why, "an answer from another swarm is refused");
                        done.push((at, false));
                    }
                },
            }
        }
        let withdraw = async {
            if withdrawn.is_empty() {
                return Vec::new();
            }
            let (keys, ats): (Vec<String>, Vec<usize>) = withdrawn.into_iter().unzip();
            let again = self.scheduler.cancel_remote(keys).await.is_err();
            ats.into_iter().map(|at| (at, again)).collect()
        };
        let answer = async {
            if updates.is_empty() {
                return Vec::new();
            }
            let (updates, ats): (Vec<Update>, Vec<usize>) = updates.into_iter().unzip();
            let again = self
                .scheduler
                .apply_remote(updates.into_iter().map(remote_update).collect())
                .await
                .is_err();
            ats.into_iter().map(|at| (at, again)).collect()
        };
        // Polled in this order, so the commands reach the scheduler in this order.
        let (filed, withdrawn, answered) = join3(self.file(delegates), withdraw, answer).await;
        done.extend(filed);
        done.extend(withdrawn);
        done.extend(answered);
        done
    }

    /// Whether an answer is for this swarm and signed by the key its sender publishes.
    fn check(&self, u: &Update) -> Result<(), Unchecked> {
        if u.to != self.me {
            return Err(Unchecked::Refused(format!(
                "it is addressed to swarm {}",
                u.to
            )));
        }
        let keys = self.peer_keys.read().unwrap_or_else(|e| e.into_inner());
        // Not known yet, or not the one it signed with (its key changed with a restart and
        // its new status has not been read yet): asked again later.
        let Some(expected) = keys.get(&u.from).filter(|k| u.signer.as_ref() == Some(*k)) else {
            return Err(Unchecked::KeyUnknown);
        };
        keys::verify(u, Some(expected)).map_err(Unchecked::Refused)
    }

    /// Files delegated tasks. One refused for good is answered as failed, so its origin
    /// does not wait for it; one refused for now (the queue is full) comes again later.
    async fn file(&self, delegates: Vec<(Delegate, usize)>) -> Vec<(usize, bool)> {
        if delegates.is_empty() {
            return Vec::new();
        }
        if !self.accept {
            let refusals: Vec<(Delegate, String)> = delegates
                .iter()
                .map(|(d, _)| {
                    (
                        d.clone(),
                        format!("swarm {} does not accept delegated tasks", self.me),
                    )
                })
                .collect();
            let again = self.refuse(refusals).await;
            return delegates.into_iter().map(|(_, at)| (at, again)).collect();
        }
        let batch = delegates
            .iter()
            .map(|(d, _)| (spec(d), origin(d)))
            .collect();
        let results = match self.scheduler.file_remote(batch).await {
            Ok(results) => results,
            Err(e) => {
                tracing::warn!(error = %e, "cannot file delegated tasks; they come again");
                return delegates.into_iter().map(|(_, at)| (at, true)).collect();
            }
        };
        let mut done = Vec::new();
        let mut refusals = Vec::new();
        for ((d, at), result) in delegates.into_iter().zip(results) {
            match result {
                Ok(_) => done.push((at, false)),
                Err(CoreError::LimitReached(why)) => {
                    tracing::info!(from = %d.from, task = %d.task, why = %why, "a delegated task waits: the queue is full");
                    done.push((at, true));
                }
                Err(e) => {
                    tracing::warn!(from = %d.from, task = %d.task, error = %e, "a delegated task is refused");
                    refusals.push(((d, e.to_string()), at));
                }
            }
        }
        if !refusals.is_empty() {
            let (refusals, ats): (Vec<_>, Vec<usize>) = refusals.into_iter().unzip();
            let again = self.refuse(refusals).await;
            done.extend(ats.into_iter().map(|at| (at, again)));
        }
        done
    }

    /// Tells the origins of `refused` tasks that they failed here; true when that could
    /// not be published (the messages then come again).
    async fn refuse(&self, refused: Vec<(Delegate, String)>) -> bool {
        let out: Vec<Outgoing> = refused
            .into_iter()
            .map(|(d, why)| {
                let mut update = Update {
                    from: self.me.clone(),
                    to: d.from.clone(),
                    task: d.task,
                    round: d.round,
                    remote_task: hypernet_model::tasks::TaskId(0),
                    status: TaskStatus::Failed,
                    last: true,
                    worker: None,
                    result: None,
                    error: Some(why),
                    event: 0,
                    signature: None,
                    signer: None,
                };
                self.key.sign(&mut update);
                Outgoing {
                    subject: wire::subject(&d.from),
                    id: format!("{}.refuse.{}.{}.{}", self.me, d.from, d.task, d.round),
                    message: Message::Update(update),
                }
            })
            .collect();
        outbound::publish(&self.js, &out).await.is_err()
    }
}

/// The filing of a delegated task.
fn spec(d: &Delegate) -> TaskSpec {
    TaskSpec {
        title: d.title.clone(),
        description: d.description.clone(),
        priority: d.priority,
        tags: d.tags.clone(),
        complexity: d.complexity,
        max_attempts: Some(d.max_attempts.max(1)),
        ..TaskSpec::default()
    }
}

/// Where a delegated task came from.
fn origin(d: &Delegate) -> RemoteOrigin {
    RemoteOrigin {
        swarm: d.from.clone(),
        task: d.task,
        round: d.round,
        tier: Tier::try_from(d.tier).unwrap_or(Tier::ReadOnly),
        model: (!d.model.is_empty()).then(|| d.model.clone()),
    }
}

fn remote_update(u: Update) -> RemoteUpdate {
    RemoteUpdate {
        signature: u.signature.zip(u.signer),
        from: u.from,
        task: u.task,
        round: u.round,
        remote_task: u.remote_task,
        status: u.status,
        last: u.last,
        worker: u.worker,
        result: u.result,
        error: u.error,
    }
}

/// Reads this swarm's messages for ever (re-opening the stream of them after an error).
pub async fn run(
    receiver: Receiver,
    consumer: jetstream::consumer::Consumer<jetstream::consumer::pull::Config>,
) {
    loop {
        match consumer.messages().await {
            Ok(messages) => follow(&receiver, messages.ready_chunks(CHUNK)).await,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read this swarm's messages; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        }
        tracing::warn!("this swarm's message stream ended; re-opening it");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Applies the chunks as they come, up to [`IN_FLIGHT`] at a time, and acknowledges each
/// chunk's messages once it is applied, chunk after chunk; returns when the stream ends.
async fn follow(
    receiver: &Receiver,
    mut chunks: impl futures_util::Stream<Item = Vec<Result<jetstream::Message, MessagesError>>> + Unpin,
) {
    let mut applying = FuturesOrdered::new();
    let mut open = true;
    while open || !applying.is_empty() {
        tokio::select! {
            // Biased: a chunk pushed is first polled (its commands sent) before the next
            // one is read, so the scheduler gets them in the stream's order.
            biased;
            Some((received, done)) = applying.next(), if !applying.is_empty() => {
                acknowledge(received, done).await;
            }
            chunk = chunks.next(), if open && applying.len() < IN_FLIGHT => match chunk {
                Some(chunk) => {
                    let (received, parsed) = decode(chunk).await;
                    applying.push_back(async move { (received, receiver.apply(parsed).await) });
                }
                None => open = false,
            },
        }
    }
}

/// The chunk's messages and those of them that decode, each with its place among them;
/// one that does not decode is dropped (acknowledged).
async fn decode(
    chunk: Vec<Result<jetstream::Message, MessagesError>>,
) -> (Vec<jetstream::Message>, Vec<(Message, usize)>) {
    let mut received = Vec::with_capacity(chunk.len());
    let mut parsed = Vec::with_capacity(chunk.len());
    for item in chunk {
        match item {
            Ok(m) => {
                match serde_json::from_slice::<Message>(&m.payload) {
                    Ok(message) => parsed.push((message, received.len())),
                    Err(e) => {
                        tracing::warn!(subject = %m.subject, error = %e, "a message from another swarm does not decode; dropped");
                        let _ = m.ack().await;
                        continue;
                    }
                }
                received.push(m);
            }
            Err(e) => tracing::warn!(error = %e, "reading this swarm's messages"),
        }
    }
    (received, parsed)
}

/// Acknowledges the messages applied, and asks for those to deliver again (`true`) later.
async fn acknowledge(received: Vec<jetstream::Message>, done: Vec<(usize, bool)>) {
    for (at, again) in done {
        let m = &received[at];
        let acked = if again {
            m.ack_with(AckKind::Nak(Some(Duration::from_secs(2)))).await
        } else {
            m.ack().await
        };
        if let Err(e) = acked {
            tracing::warn!(error = %e, "cannot acknowledge a message; it will come again");
        }
    }
}
