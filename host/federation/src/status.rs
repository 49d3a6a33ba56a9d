//! Status sharing: every `status_every_ms` this swarm puts what it can serve and how busy
//! it is into the status bucket under its name, then reads every peer's entry and tells the
//! scheduler who is there. An entry expires `status_ttl_ms` after its last renewal, so a
//! swarm that dies disappears; the scheduler takes its tasks back after `peer_timeout_ms`.

use crate::keys::HostKey;
use async_nats::jetstream::kv;
use futures_util::StreamExt;
use hypernet_engine::Registry;
use hypernet_swarm::federation::{FederationConfig, PeerStatus};
use hypernet_swarm::scheduler::Scheduler;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// The peers' published keys, by swarm (answers are checked against them).
pub type PeerKeys = Arc<RwLock<HashMap<String, String>>>;

/// This swarm's status now.
pub fn own_status(
    cfg: &FederationConfig,
    scheduler: &Scheduler,
    registry: &Registry,
    key: &HostKey,
) -> PeerStatus {
    let (workers, busy, queue) = scheduler.read_snapshot(|s| {
        let queue = ["pending", "blocked", "ready"]
            .iter()
            .filter_map(|k| s.counts.by_status.get(*k))
            .sum();
        (s.counts.workers, s.counts.busy_workers, queue)
    });
    PeerStatus {
        swarm: cfg.swarm.clone(),
        models: scheduler.served_models().to_vec(),
        providers: registry.provider_addresses(),
        workers,
        free: workers.saturating_sub(busy),
        queue,
        accepts: cfg.accept,
        version: env!("CARGO_PKG_VERSION").into(),
        key: key.public_hex(),
        updated_ms: hypernet_model::clock::now_ms(),
    }
}

/// Publishes this swarm's status and reads the peers', once.
pub async fn exchange(
    bucket: &kv::Store,
    own: &PeerStatus,
) -> Result<Vec<PeerStatus>, async_nats::Error> {
    bucket
        .put(&own.swarm, serde_json::to_vec(own)?.into())
        .await?;
    let mut names = Vec::new();
    let mut keys = bucket.keys().await?;
    while let Some(k) = keys.next().await {
        names.push(k?);
    }
    let mut peers = Vec::with_capacity(names.len());
    for name in names {
        if name == own.swarm {
            continue;
        }
        let Some(bytes) = bucket.get(&name).await? else {
            continue;
        };
        match serde_json::from_slice::<PeerStatus>(&bytes) {
            Ok(p) if p.swarm == name => peers.push(p),
            Ok(p) => {
                tracing::warn!(key = %name, swarm = %p.swarm, "a status names another swarm than its key; ignored")
            }
            Err(e) => tracing::warn!(key = %name, error = %e, "a peer's status does not decode"),
        }
    }
    Ok(peers)
}

/// The longest one exchange may take before it counts as failed: the status' time to live,
/// and at least the JetStream requests' own 5 s. Reading the keys follows a consumer that
/// a lost connection can leave waiting with no end; bounded, the next exchange starts anew.
fn exchange_limit(cfg: &FederationConfig) -> Duration {
    Duration::from_millis(cfg.status_ttl_ms).max(Duration::from_secs(5))
}

/// Runs the exchange every `status_every_ms` for ever.
pub async fn run(
    cfg: FederationConfig,
    bucket: kv::Store,
    scheduler: Scheduler,
    registry: Arc<Registry>,
    key: Arc<HostKey>,
    peer_keys: PeerKeys,
) {
    let mut every = tokio::time::interval(Duration::from_millis(cfg.status_every_ms));
    let limit = exchange_limit(&cfg);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        every.tick().await;
        let own = own_status(&cfg, &scheduler, &registry, &key);
        let exchanged = tokio::time::timeout(limit, exchange(&bucket, &own))
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {limit:?}").into()));
        match exchanged {
            Ok(peers) => {
                if failing {
                    tracing::info!("federation status exchange works again");
                    failing = false;
                }
                {
                    let mut keys = peer_keys.write().unwrap_or_else(|e| e.into_inner());
                    for p in &peers {
                        keys.insert(p.swarm.clone(), p.key.clone());
                    }
                }
                scheduler.peers_seen(Some(peers));
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "cannot exchange status with the other swarms");
                    failing = true;
                }
                scheduler.peers_seen(None);
            }
        }
    }
}
