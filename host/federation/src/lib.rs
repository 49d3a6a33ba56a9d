//! Federation: swarms on several machines share status and delegate tasks over NATS
//! JetStream (see `docs/federation.md`). The decisions are the scheduler's
//! (`hypernet_swarm::scheduler::core::delegation`); this crate moves them between swarms.
//!
//! - [`link`]: the connection, the stream, the status bucket, this swarm's consumer.
//! - [`wire`]: the messages, their subjects and stable ids.
//! - [`keys`]: the host key answers are signed with.
//! - [`status`]: publishing this swarm's status and reading its peers'.
//! - [`outbound`]: from the durable event log to JetStream, acknowledged both ways.
//! - [`inbound`]: from this swarm's consumer to the scheduler, applied once.

pub mod inbound;
pub mod keys;
pub mod link;
pub mod outbound;
pub mod status;
pub mod wire;

use hypernet_engine::Registry;
use hypernet_engine::subscription::Subscription;
use hypernet_store::Store;
use hypernet_swarm::federation::FederationConfig;
use hypernet_swarm::scheduler::Scheduler;
use std::sync::Arc;
use std::time::Duration;

pub use keys::HostKey;

/// The name of federation's durable subscription to the event log (`host:federation`).
/// It must be taken before the scheduler starts, so nothing it commits is missed.
pub const SUBSCRIPTION: &str = "federation";

/// What the federation service is given.
pub struct Parts {
    /// `[federation]` (enabled).
    pub config: FederationConfig,
    /// The scheduler.
    pub scheduler: Scheduler,
    /// The plugins (the providers loaded are part of the status).
    pub registry: Arc<Registry>,
    /// The store (answers are read from it).
    pub store: Store,
    /// The event log from federation's cursor (see [`SUBSCRIPTION`]).
    pub events: Subscription,
    /// The key answers are signed with.
    pub key: HostKey,
}

/// The running federation service (see [`start`]).
#[derive(Debug)]
pub struct Service(tokio::task::AbortHandle);

impl Service {
    /// Stops it: status sharing, publishing and receiving end, and its connection closes.
    /// What it had not yet published or acknowledged comes again at the next start.
    pub fn stop(&self) {
        self.0.abort();
    }
}

/// Starts federation in the background: it connects (retrying until a NATS server
/// answers), makes the stream, the bucket and the consumer, then shares status, publishes
/// and receives until the host stops or [`Service::stop`]. Nothing here holds the host's
/// start back.
pub fn start(parts: Parts) -> Service {
    Service(tokio::spawn(run(parts)).abort_handle())
}

async fn run(parts: Parts) {
    let Parts {
        config,
        scheduler,
        registry,
        store,
        events,
        key,
    } = parts;
    let key = Arc::new(key);
    tracing::info!(swarm = %config.swarm, urls = ?config.urls, key = %key.public_hex(), "federation starting");
    let link = loop {
        let opened = match link::connect(&config).await {
            Ok(client) => link::Link::open(client, &config).await,
            Err(e) => Err(e),
        };
        match opened {
            Ok(link) => break link,
            Err(e) => {
                tracing::warn!(error = %e, "federation cannot start yet; retrying");
                scheduler.peers_seen(None);
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    };
    tracing::info!(swarm = %config.swarm, "federation connected");
    let peer_keys = status::PeerKeys::default();
    // Held here, so that stopping this task stops them too.
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(status::run(
        config.clone(),
        link.bucket.clone(),
        scheduler.clone(),
        registry,
        key.clone(),
        peer_keys.clone(),
    ));
    tasks.spawn(outbound::run(
        events,
        outbound::Composer {
            me: config.swarm.clone(),
            store,
            key: key.clone(),
        },
        link.js.clone(),
    ));
    inbound::run(
        inbound::Receiver {
            me: config.swarm.clone(),
            accept: config.accept,
            scheduler,
            peer_keys,
            js: link.js.clone(),
            key: key.clone(),
        },
        link.consumer,
    )
    .await;
}
