//! The one place that builds the host's services, in order, each handed what it needs:
//!
//! 1. the store (opened by the caller, with every table of the swarm),
//! 2. the scheduler's inbox — its command channel, so the services below can send to it,
//! 3. the workers' permissions, restored from the store,
//! 4. the registry, whose plugins file tasks and run host commands through the inbox,
//! 5. the outbox, over the registry, with the people it writes to,
//! 6. the scheduler, given all of the above: it builds the tools and the approval queue
//!    and starts its thread,
//! 7. the channels service, over the scheduler and the outbox: commands from people,
//! 8. the alerts and briefs, over the registry's events, the scheduler and the outbox,
//! 9. federation, when `[federation]` is on: its place in the event log is taken before
//!    the scheduler starts (so nothing the scheduler commits is missed), the service
//!    itself after.
//!
//! Nothing is connected after construction, and no service holds one built after it.

use anyhow::{Result, anyhow};
use hypernet_engine::{Manifest, Registry, RegistryOptions};
use hypernet_store::Store;
use hypernet_swarm::alerts::AlertsParts;
use hypernet_swarm::audit::Audit;
use hypernet_swarm::channels::{Channels, ChannelsParts};
use hypernet_swarm::config::HostConfig;
use hypernet_swarm::outbox::Outbox;
use hypernet_swarm::scheduler::{CallProbe, Inbox, Parts, Scheduler};
use hypernet_swarm::tools::TierPermission;
use std::sync::Arc;

/// What [`compose`] is given.
pub struct Inputs<'a> {
    /// The host config.
    pub config: &'a HostConfig,
    /// Which plugins to load.
    pub manifest: Manifest,
    /// The redb file, opened with every table.
    pub store: Store,
    /// The audit log (none in benchmarks).
    pub audit: Option<Audit>,
    /// The registry's tunables (its task sink is set here).
    pub registry: RegistryOptions,
    /// Told the moment each model call starts (`hypernet bench`).
    pub probe: Option<CallProbe>,
}

/// The running services.
#[derive(Debug)]
pub struct Host {
    /// The plugins.
    pub registry: Arc<Registry>,
    /// The scheduler's handle.
    pub scheduler: Scheduler,
    /// Messages to people.
    pub outbox: Outbox,
    /// Commands from people.
    pub channels: Channels,
    /// Federation, when `[federation]` is on.
    pub federation: Option<hypernet_federation::Service>,
}

/// Builds and starts every service in order (see the module's documentation).
pub async fn compose(inputs: Inputs<'_>) -> Result<Host> {
    let Inputs {
        config,
        manifest,
        store,
        audit,
        registry,
        probe,
    } = inputs;
    let inbox = Inbox::default();
    let permissions = Arc::new(
        TierPermission::new(&config.workers, &config.tools.approval_required)
            .restore(store.clone())
            .map_err(|e| anyhow!(e))?,
    );
    let commands = inbox.host_commands(permissions.clone(), audit.clone());
    let options = RegistryOptions {
        tasks: Some(Arc::new(commands)),
        ..registry
    };
    let registry = Registry::start(manifest, store.clone(), options)?;
    let executor = hypernet_llm::HttpExecutor::new(&config.http)
        .map_err(|e| anyhow!("building the HTTP client for channels: {e}"))?;
    let outbox = Outbox::start(
        registry.clone(),
        hypernet_swarm::people::People::new(config.people.clone()),
        config.channels.clone(),
        executor.clone(),
    );
    let federation_events = config
        .federation
        .enabled
        .then(|| registry.subscribe_durably(hypernet_federation::SUBSCRIPTION));
    let federation_store = store.clone();
    let parts = Parts {
        store,
        registry: registry.clone(),
        inbox,
        permissions,
        audit: audit.clone(),
        outbox: Some(outbox.clone()),
        probe,
    };
    let scheduler = match Scheduler::start(config, parts).await {
        Ok(scheduler) => scheduler,
        Err(e) => {
            registry.shutdown();
            return Err(e.into());
        }
    };
    let audit_for_key = audit.clone();
    let channels = Channels::start(ChannelsParts {
        registry: registry.clone(),
        outbox: outbox.clone(),
        scheduler: scheduler.clone(),
        audit,
        executor,
        config: config.channels.clone(),
    });
    hypernet_swarm::alerts::start(AlertsParts {
        registry: registry.clone(),
        outbox: outbox.clone(),
        scheduler: scheduler.clone(),
        settings: config.alerts.settings().map_err(|e| anyhow!(e))?,
    });
    let federation = match federation_events {
        Some(events) => Some(hypernet_federation::start(hypernet_federation::Parts {
            config: config.federation.clone(),
            scheduler: scheduler.clone(),
            registry: registry.clone(),
            store: federation_store,
            events,
            key: host_key(audit_for_key.as_ref())?,
        })),
        None => None,
    };
    Ok(Host {
        registry,
        scheduler,
        outbox,
        channels,
        federation,
    })
}

/// The key federation signs answers with: derived from the audit keyring's active host key
/// (it rotates with it); a random one for a host without a keyring (benchmarks).
fn host_key(audit: Option<&Audit>) -> Result<hypernet_federation::HostKey> {
    let seed = audit.and_then(|a| {
        a.with_keyring(|k| {
            k.active(hypernet_swarm::security::HOST_ENTITY)
                .map(|key| key.mac_hex(hypernet_federation::keys::SEED_LABEL))
        })
    });
    match seed {
        Some(seed) => hypernet_federation::HostKey::from_seed_hex(&seed).map_err(|e| anyhow!(e)),
        None => Ok(hypernet_federation::HostKey::random()),
    }
}
