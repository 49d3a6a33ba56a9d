//! The registry: which plugins exist, their state, their running services; publishing
//! events (to the log, subscribers and watchers), queries, and enabling/disabling at run
//! time.

use super::actor::{self, ActorHandle};
use super::host_api::PluginHost;
use super::loader::{self, Library, LoadError};
use super::manifest::{Manifest, PluginSpec};
use crate::bus::{Bus, RETAINED_BYTES};
use crate::delivery::{DEFAULT_RETENTION, Deliveries, DeliveryView, Feed};
use crate::journal::{Journal, Pending};
use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RArc, RStr};
use hypernet_model::tasks::{TaskId, TaskSpec};
use hypernet_plugin_api::abi::HostFfi_TO;
use hypernet_plugin_api::protocol::provider::Operation;
use hypernet_plugin_api::{ErrorCode, Event, NewTask, PluginError, ServiceInfo, ServiceKind};
use hypernet_store::{Store, StoreError, StoreResult};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

/// A plugin's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "state", content = "reason", rename_all = "lowercase")]
pub enum PluginState {
    /// Running: receives events and calls.
    Loaded,
    /// Not running, by configuration or by request.
    Disabled,
    /// Not running because it panicked or failed to start.
    Failed(String),
}

/// How many plugins are in each [`PluginState`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateCounts {
    /// Running.
    pub loaded: usize,
    /// Not running, by configuration or by request.
    pub disabled: usize,
    /// Not running because they panicked or failed to start.
    pub failed: usize,
}

impl PluginState {
    /// `loaded`, `disabled` or `failed`.
    pub fn label(&self) -> &'static str {
        match self {
            PluginState::Loaded => "loaded",
            PluginState::Disabled => "disabled",
            PluginState::Failed(_) => "failed",
        }
    }
}

/// What `plugins list` shows of one plugin.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PluginStatus {
    /// Manifest name.
    pub name: String,
    /// Plugin crate version, once its library has been loaded.
    pub version: Option<String>,
    /// The plugin-api version it was built against.
    pub api_version: Option<String>,
    /// Kinds of its services.
    #[schema(value_type = Vec<hypernet_model::schema::ServiceKind>)]
    pub kinds: Vec<ServiceKind>,
    /// Its services.
    #[schema(value_type = Vec<hypernet_model::schema::ServiceInfo>)]
    pub services: Vec<ServiceInfo>,
    /// State, with the reason when failed.
    #[serde(flatten)]
    pub state: PluginState,
    /// The library file.
    #[schema(value_type = Option<String>)]
    pub path: Option<PathBuf>,
    /// Granted capabilities.
    pub capabilities: Vec<String>,
    /// Plugins it requires.
    pub requires: Vec<String>,
    /// Where each of its subscribing services is in the event log (once it has run).
    pub deliveries: Vec<DeliveryView>,
}

/// Why the host could not start its plugins.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The library could not be loaded.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The plugin refused its config.
    #[error("plugin `{plugin}`: {message}")]
    Config {
        /// Plugin name.
        plugin: String,
        /// What it said.
        message: String,
    },
    /// The plugin failed to start (it is marked failed; at host start the host goes on).
    #[error("plugin `{plugin}`: {message}")]
    Plugin {
        /// Plugin name.
        plugin: String,
        /// What it said.
        message: String,
    },
    /// The plugin panicked while starting (it is marked failed; the host goes on).
    #[error("plugin `{plugin}`: {message}")]
    Panicked {
        /// Plugin name.
        plugin: String,
        /// The panic message.
        message: String,
    },
    /// The event log or the cursors could not be opened.
    #[error("the event log: {0}")]
    Store(#[from] StoreError),
    /// A service thread could not be created.
    #[error("plugin `{plugin}`: cannot start its thread: {source}")]
    Thread {
        /// Plugin name.
        plugin: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Why the scheduler did not take a plugin's task or host command.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SinkError {
    /// The scheduler has not started yet.
    #[error("the scheduler is not running")]
    NotRunning,
    /// The scheduler has stopped.
    #[error("the scheduler has stopped")]
    Stopped,
    /// The task or command was refused; the message names what is wrong.
    #[error("{0}")]
    Refused(String),
}

impl From<SinkError> for PluginError {
    fn from(e: SinkError) -> Self {
        match e {
            SinkError::NotRunning | SinkError::Stopped => unavailable(e.to_string()),
            SinkError::Refused(message) => PluginError::invalid(message),
        }
    }
}

/// Where tasks filed by plugins go (the scheduler).
pub trait TaskSink: Send + Sync {
    /// Files one task, blocking until it is durable; returns its id.
    fn file_blocking(&self, spec: TaskSpec, filed_by: &str) -> Result<TaskId, SinkError>;
    /// Runs a host command (`budget.set`, ...; see
    /// [`hypernet_plugin_api::protocol::HostCommand`]) on behalf of `plugin`, blocking until
    /// it is durable.
    fn command_blocking(&self, plugin: &str, name: &str, args: Value) -> Result<Value, SinkError>;
}

/// The source of the host's own events, and the plugin part of its subscriptions' addresses.
pub const HOST_SOURCE: &str = "host";

/// Tunables of the registry, and where plugins' tasks and commands go.
#[derive(Clone)]
pub struct RegistryOptions {
    /// How long a call into a plugin may take before the caller gives up.
    pub call_timeout: Duration,
    /// Receives the tasks plugins file and the host commands they run (the scheduler's
    /// link, built before the registry); none: plugins are told the scheduler is not
    /// running.
    pub tasks: Option<Arc<dyn TaskSink>>,
    /// How many events a subscriber that is not running may hold back in the log before
    /// the events it misses are dropped (and counted).
    pub event_retention: u64,
}

impl std::fmt::Debug for RegistryOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryOptions")
            .field("call_timeout", &self.call_timeout)
            .field("tasks", &self.tasks.is_some())
            .field("event_retention", &self.event_retention)
            .finish()
    }
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            call_timeout: Duration::from_secs(30),
            tasks: None,
            event_retention: DEFAULT_RETENTION,
        }
    }
}

struct Running {
    info: ServiceInfo,
    actor: ActorHandle,
    /// A subscriber's place in the event log.
    feed: Option<Arc<Feed>>,
}

struct Entry {
    spec: PluginSpec,
    state: PluginState,
    /// Counts starts, so a panic reported by an earlier instance's thread cannot fail a
    /// later instance.
    generation: u64,
    library: Option<Library>,
    services: Vec<Running>,
}

/// The plugin registry. Shared as `Arc<Registry>`.
pub struct Registry {
    me: Weak<Registry>,
    store: Store,
    manifest: Manifest,
    journal: Arc<Journal>,
    deliveries: Deliveries,
    bus: Bus,
    options: RegistryOptions,
    entries: RwLock<BTreeMap<String, Entry>>,
    libraries: Mutex<HashMap<PathBuf, Library>>,
    /// Serializes enable/disable/fail so a plugin is never started twice.
    toggle: Mutex<()>,
    /// Counts the changes of plugins' states, for those who follow them.
    states: tokio::sync::watch::Sender<u64>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("manifest", &self.manifest.origin)
            .finish()
    }
}

fn unavailable(message: String) -> PluginError {
    PluginError::new(ErrorCode::Unavailable, message)
}

impl Registry {
    /// Loads and starts every enabled plugin of `manifest`, in dependency order.
    ///
    /// A library that cannot be loaded or a config a plugin rejects is an error; a plugin
    /// that panics while starting is marked failed and the others go on.
    pub fn start(
        manifest: Manifest,
        store: Store,
        options: RegistryOptions,
    ) -> Result<Arc<Registry>, StartError> {
        let entries = manifest
            .plugins
            .iter()
            .map(|spec| {
                (
                    spec.name.clone(),
                    Entry {
                        spec: spec.clone(),
                        state: PluginState::Disabled,
                        generation: 0,
                        library: None,
                        services: Vec::new(),
                    },
                )
            })
            .collect();
        let journal = Arc::new(Journal::open(store.clone())?);
        // `host` keeps the cursors of the host's own subscriptions (`host:<service>`).
        let names: BTreeSet<String> = manifest
            .plugins
            .iter()
            .map(|p| p.name.clone())
            .chain([HOST_SOURCE.to_owned()])
            .collect();
        let deliveries = Deliveries::open(journal.clone(), &names, options.event_retention)?;
        let registry = Arc::new_cyclic(|me| Registry {
            me: me.clone(),
            store,
            manifest,
            bus: Bus::new(journal.sequence(), RETAINED_BYTES),
            journal,
            deliveries,
            options,
            entries: RwLock::new(entries),
            libraries: Mutex::new(HashMap::new()),
            toggle: Mutex::new(()),
            states: tokio::sync::watch::Sender::new(0),
        });
        spawn_cursor_writer(Arc::downgrade(&registry));
        let order: Vec<PluginSpec> = registry.manifest.plugins.clone();
        for spec in order.iter().filter(|s| s.enabled) {
            match registry.start_plugin(&spec.name) {
                Ok(()) => {}
                // A plugin whose start fails at run time (a panic, a missing API key, an
                // unreachable resource) is marked failed; the others go on. A refused
                // config or a library that cannot load stops the host.
                Err(
                    StartError::Panicked { plugin, message }
                    | StartError::Plugin {
                        plugin, message, ..
                    },
                ) => {
                    tracing::error!(plugin, reason = %message, "plugin failed while starting; continuing without it");
                }
                Err(e) => {
                    registry.shutdown();
                    return Err(e);
                }
            }
        }
        Ok(registry)
    }

    /// The store plugins write to.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The event bus.
    pub fn bus(&self) -> &Bus {
        &self.bus
    }

    /// The manifest the registry was started from.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    fn library(&self, spec: &PluginSpec) -> Result<Library, LoadError> {
        let path = loader::locate(spec, &self.manifest)?;
        let mut cache = self.libraries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(lib) = cache.get(&path) {
            return Ok(lib.clone());
        }
        let lib = loader::load(&spec.name, &path)?;
        cache.insert(path, lib.clone());
        Ok(lib)
    }

    /// Loads (if needed) and starts every service of one plugin.
    fn start_plugin(&self, name: &str) -> Result<(), StartError> {
        let _toggle = self.toggle.lock().unwrap_or_else(|e| e.into_inner());
        let (spec, generation) = {
            let mut entries = self.entries.write().expect("registry lock");
            let entry = entries.get_mut(name).expect("entry exists");
            if entry.state == PluginState::Loaded {
                // Started meanwhile by a concurrent `enable`.
                return Ok(());
            }
            entry.generation += 1;
            (entry.spec.clone(), entry.generation)
        };
        let fail = |state: PluginState| self.set_state(name, state, None, Vec::new());
        let library = match self.library(&spec) {
            Ok(lib) => lib,
            Err(e) => {
                fail(PluginState::Failed(e.to_string()));
                return Err(e.into());
            }
        };
        let config = spec.config_json();
        let plugin_err = |message: String| StartError::Plugin {
            plugin: name.to_owned(),
            message,
        };
        for service in &library.info.services {
            if let Err(e) = library.check_config(&service.name, &config) {
                fail(PluginState::Failed(e.to_string()));
                return Err(StartError::Config {
                    plugin: name.to_owned(),
                    message: e.to_string(),
                });
            }
        }
        let several = library.info.services.len() > 1;
        let mut running = Vec::new();
        for service in &library.info.services {
            let host = PluginHost::new(
                name,
                spec.capabilities.clone(),
                spec.requires.clone(),
                self.me.clone(),
            );
            let handle = HostFfi_TO::from_ptr(RArc::new(host), TD_Opaque);
            let started = (library.module.start())(
                RStr::from_str(&service.name),
                RStr::from_str(&config),
                handle,
            )
            .into_result()
            .map_err(PluginError::from);
            let service_box = match started {
                Ok(b) => b,
                Err(e) => {
                    stop_all(&running);
                    let message = e.to_string();
                    fail(PluginState::Failed(message.clone()));
                    if e.code() == ErrorCode::Panicked {
                        return Err(StartError::Panicked {
                            plugin: name.to_owned(),
                            message,
                        });
                    }
                    return Err(plugin_err(message));
                }
            };
            let label = if several {
                format!("{name}:{}", service.name)
            } else {
                name.to_owned()
            };
            let me = self.me.clone();
            let plugin = name.to_owned();
            let on_panic = Box::new(move |reason: String| {
                if let Some(registry) = me.upgrade() {
                    registry.mark_failed(&plugin, generation, reason);
                }
            });
            let feed = (service.kind == ServiceKind::Subsystem).then(|| {
                let feed = self.deliveries.feed(&label);
                feed.attach();
                feed
            });
            let subscription = feed.clone().map(|f| (f, self.journal.clone()));
            let actor =
                actor::spawn(label, service_box, subscription, on_panic).map_err(|source| {
                    StartError::Thread {
                        plugin: name.to_owned(),
                        source,
                    }
                })?;
            running.push(Running {
                info: service.clone(),
                actor,
                feed,
            });
        }
        tracing::info!(plugin = name, version = %library.info.version, path = %library.path.display(), services = running.len(), "plugin loaded");
        let replaced = self.set_state(name, PluginState::Loaded, Some(library), running);
        stop_all(&replaced);
        self.publish(HOST_SOURCE, "plugin.enabled", json!({ "plugin": name }));
        Ok(())
    }

    fn set_state(
        &self,
        name: &str,
        state: PluginState,
        library: Option<Library>,
        services: Vec<Running>,
    ) -> Vec<Running> {
        let old = {
            let mut entries = self.entries.write().expect("registry lock");
            let entry = entries.get_mut(name).expect("entry exists");
            entry.state = state;
            if library.is_some() {
                entry.library = library;
            }
            std::mem::replace(&mut entry.services, services)
        };
        self.states.send_modify(|changes| *changes += 1);
        old
    }

    /// Wakes after each change of a plugin's state from now on (started, disabled,
    /// failed): cheaper to wait on than the event bus, which keeps what it carries for its
    /// receivers.
    pub fn watch_states(&self) -> tokio::sync::watch::Receiver<u64> {
        self.states.subscribe()
    }

    /// Marks a plugin failed after a panic in its instance `generation` and stops its
    /// other services; a report from an instance that was since disabled or replaced is
    /// only logged.
    fn mark_failed(&self, name: &str, generation: u64, reason: String) {
        let old = {
            let _toggle = self.toggle.lock().unwrap_or_else(|e| e.into_inner());
            let current = {
                let entries = self.entries.read().expect("registry lock");
                let entry = &entries[name];
                entry.generation == generation && entry.state == PluginState::Loaded
            };
            if !current {
                tracing::warn!(plugin = name, %reason, "a stopped instance of the plugin panicked");
                return;
            }
            tracing::error!(plugin = name, %reason, "plugin panicked; marked failed, the host keeps running");
            self.set_state(name, PluginState::Failed(reason.clone()), None, Vec::new())
        };
        stop_all(&old);
        self.publish(
            HOST_SOURCE,
            "plugin.failed",
            json!({ "plugin": name, "reason": reason }),
        );
    }

    /// Starts a plugin that is disabled or failed (loading its library if needed).
    pub fn enable(&self, name: &str) -> Result<PluginStatus, PluginError> {
        let state = self.state_of(name)?;
        if state != PluginState::Loaded {
            self.start_plugin(name)
                .map_err(|e| PluginError::failed(e.to_string()))?;
        }
        self.status(name)
    }

    /// Stops a plugin; it gets no further events or calls until enabled again.
    pub fn disable(&self, name: &str) -> Result<PluginStatus, PluginError> {
        self.state_of(name)?;
        let old = {
            let _toggle = self.toggle.lock().unwrap_or_else(|e| e.into_inner());
            self.set_state(name, PluginState::Disabled, None, Vec::new())
        };
        if !old.is_empty() {
            stop_all(&old);
            tracing::info!(plugin = name, "plugin disabled");
            self.publish(HOST_SOURCE, "plugin.disabled", json!({ "plugin": name }));
        }
        self.status(name)
    }

    fn state_of(&self, name: &str) -> Result<PluginState, PluginError> {
        self.entries
            .read()
            .expect("registry lock")
            .get(name)
            .map(|e| e.state.clone())
            .ok_or_else(|| {
                PluginError::not_found(format!(
                    "no plugin named `{name}` in {}",
                    self.manifest.origin
                ))
            })
    }

    /// Every plugin's status, in load order.
    pub fn statuses(&self) -> Vec<PluginStatus> {
        self.manifest
            .plugins
            .iter()
            .filter_map(|p| self.status(&p.name).ok())
            .collect()
    }

    /// How many plugins are loaded, without building their statuses.
    pub fn loaded_count(&self) -> usize {
        self.state_counts().loaded
    }

    /// How many plugins are in each state, without building their statuses.
    pub fn state_counts(&self) -> StateCounts {
        let entries = self.entries.read().expect("registry lock");
        let mut counts = StateCounts::default();
        for entry in entries.values() {
            match entry.state {
                PluginState::Loaded => counts.loaded += 1,
                PluginState::Disabled => counts.disabled += 1,
                PluginState::Failed(_) => counts.failed += 1,
            }
        }
        counts
    }

    /// One plugin's status.
    pub fn status(&self, name: &str) -> Result<PluginStatus, PluginError> {
        let entries = self.entries.read().expect("registry lock");
        let entry = entries
            .get(name)
            .ok_or_else(|| PluginError::not_found(format!("no plugin named `{name}`")))?;
        let info = entry.library.as_ref().map(|l| &l.info);
        let services = info.map(|i| i.services.clone()).unwrap_or_default();
        let mut kinds: Vec<ServiceKind> = services.iter().map(|s| s.kind).collect();
        kinds.sort_by_key(|k| k.as_str());
        kinds.dedup();
        Ok(PluginStatus {
            name: name.to_owned(),
            version: info.map(|i| i.version.clone()),
            api_version: info.map(|i| i.api_version.clone()),
            kinds,
            services,
            state: entry.state.clone(),
            path: entry.library.as_ref().map(|l| l.path.clone()),
            capabilities: entry
                .spec
                .capabilities
                .iter()
                .map(|c| c.to_string())
                .collect(),
            requires: entry.spec.requires.clone(),
            deliveries: self.deliveries.views(name),
        })
    }

    /// Publishes an event: logs it (durably, unless the calling thread's writes are
    /// deferred), wakes every running subscriber and announces it to watchers. Returns its
    /// id (0 when it could not be logged: the failure is logged).
    pub fn publish(&self, source: &str, kind: &str, payload: Value) -> u64 {
        match self.commit(source, vec![(kind.to_owned(), payload)], |_| Ok(())) {
            Ok(((), ids)) => ids.first().copied().unwrap_or(0),
            Err(e) => {
                tracing::error!(source, kind, error = %e, "event not published: it could not be logged");
                0
            }
        }
    }

    /// Runs `write` and logs `events` (published by `source`) in one transaction, then
    /// wakes the subscribers and announces the events to watchers. Returns what `write`
    /// returned and the events' ids. The scheduler commits each batch of task changes this
    /// way, so an event exists exactly when the change it announces does.
    pub fn commit<T>(
        &self,
        source: &str,
        events: Vec<Pending>,
        write: impl FnOnce(&redb::WriteTransaction) -> Result<T, redb::Error>,
    ) -> StoreResult<(T, Vec<u64>)> {
        let (out, events) = self.journal.commit(source, events, write)?;
        if events.is_empty() {
            return Ok((out, Vec::new()));
        }
        self.wake_subscribers();
        let ids = events.iter().map(|e| e.event.id).collect();
        for stamped in events {
            self.bus
                .announce_json(Arc::new(stamped.event), stamped.json);
        }
        Ok((out, ids))
    }

    /// Sends a wake-up to every running subscriber that has none on its way.
    fn wake_subscribers(&self) {
        let entries = self.entries.read().expect("registry lock");
        for entry in entries.values() {
            for service in &entry.services {
                if let Some(feed) = &service.feed
                    && feed.wake()
                {
                    service.actor.wake();
                }
            }
        }
    }

    /// Commits every subscriber's cursor (and, with it, their deferred writes) and trims the
    /// log.
    pub fn flush_deliveries(&self) {
        if let Err(e) = self.deliveries.flush() {
            tracing::error!(error = %e, "cannot commit the event cursors");
        }
    }

    /// Waits until every running subscriber has handled every logged event.
    pub async fn wait_delivered(&self) {
        while !self.deliveries.caught_up() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Files a task on behalf of a plugin.
    pub fn create_task(&self, task: NewTask, filed_by: &str) -> Result<TaskId, PluginError> {
        let sink = self.options.tasks.as_ref().ok_or(SinkError::NotRunning)?;
        Ok(sink.file_blocking(task.into(), filed_by)?)
    }

    /// Runs a host command on behalf of `plugin` (granted the `commands` capability).
    pub fn run_command(&self, plugin: &str, name: &str, args: Value) -> Result<Value, PluginError> {
        let sink = self.options.tasks.as_ref().ok_or(SinkError::NotRunning)?;
        tracing::info!(plugin, command = name, %args, "plugin runs a host command");
        Ok(sink.command_blocking(plugin, name, args)?)
    }

    /// Addresses (`plugin` or `plugin:service`) of every running provider service.
    pub fn provider_addresses(&self) -> Vec<String> {
        self.addresses(ServiceKind::Provider)
    }

    /// Addresses (`plugin` or `plugin:service`) of every running subsystem service.
    pub fn subsystem_addresses(&self) -> Vec<String> {
        self.addresses(ServiceKind::Subsystem)
    }

    /// Every running channel service: its service name (the channel's name: `telegram`)
    /// and its address.
    pub fn channels(&self) -> Vec<(String, String)> {
        self.services(ServiceKind::Channel)
    }

    /// The address of the running channel service named `channel`, if any.
    pub fn channel(&self, channel: &str) -> Option<String> {
        self.channels()
            .into_iter()
            .find(|(name, _)| name == channel)
            .map(|(_, address)| address)
    }

    fn addresses(&self, kind: ServiceKind) -> Vec<String> {
        self.services(kind)
            .into_iter()
            .map(|(_, address)| address)
            .collect()
    }

    /// The running services of `kind`: (service name, address — `plugin`, or
    /// `plugin:service` when the plugin has several).
    fn services(&self, kind: ServiceKind) -> Vec<(String, String)> {
        let entries = self.entries.read().expect("registry lock");
        let mut out = Vec::new();
        for (name, entry) in entries.iter() {
            if entry.state != PluginState::Loaded {
                continue;
            }
            let several = entry.services.len() > 1;
            for s in entry.services.iter().filter(|s| s.info.kind == kind) {
                let address = if several {
                    format!("{name}:{}", s.info.name)
                } else {
                    name.clone()
                };
                out.push((s.info.name.clone(), address));
            }
        }
        out
    }

    /// Resolves `plugin` or `plugin:service` to a running service.
    fn resolve(&self, address: &str) -> Result<ActorHandle, PluginError> {
        let (plugin, service) = match address.split_once(':') {
            Some((p, s)) => (p, Some(s)),
            None => (address, None),
        };
        let entries = self.entries.read().expect("registry lock");
        let entry = entries
            .get(plugin)
            .ok_or_else(|| PluginError::not_found(format!("no plugin named `{plugin}`")))?;
        match &entry.state {
            PluginState::Loaded => {}
            PluginState::Disabled => {
                return Err(unavailable(format!("plugin `{plugin}` is disabled")));
            }
            PluginState::Failed(reason) => {
                return Err(unavailable(format!(
                    "plugin `{plugin}` has failed: {reason}"
                )));
            }
        }
        let found = match service {
            Some(s) => entry.services.iter().find(|r| r.info.name == s),
            None if entry.services.len() == 1 => entry.services.first(),
            None => {
                let names: Vec<_> = entry
                    .services
                    .iter()
                    .map(|r| r.info.name.as_str())
                    .collect();
                return Err(PluginError::invalid(format!(
                    "plugin `{plugin}` has several services ({}); address one as `{plugin}:<service>`",
                    names.join(", ")
                )));
            }
        };
        found.map(|r| r.actor.clone()).ok_or_else(|| {
            PluginError::not_found(format!(
                "plugin `{plugin}` has no service `{}`",
                service.unwrap_or_default()
            ))
        })
    }

    /// Calls a named query (or provider operation) of a plugin.
    pub async fn query(
        &self,
        address: &str,
        query: &str,
        args: Value,
    ) -> Result<Value, PluginError> {
        self.call_typed(address, query, &args).await
    }

    /// Calls the provider operation `O` (see
    /// [`hypernet_plugin_api::protocol::provider`]) of the provider at `address`, its
    /// arguments and answer typed by the protocol.
    pub async fn provider_call<O: Operation>(
        &self,
        address: &str,
        args: &O::Args<'_>,
    ) -> Result<O::Answer, PluginError> {
        self.call_payload(address, O::OP.name(), O::encode(args)?)
            .await
    }

    /// Calls a named operation with any serializable argument and decodes the answer into
    /// the expected type, with no intermediate JSON tree (the hot path of model calls).
    pub async fn call_typed<A: Serialize + ?Sized, R: serde::de::DeserializeOwned>(
        &self,
        address: &str,
        op: &str,
        args: &A,
    ) -> Result<R, PluginError> {
        self.call_payload(address, op, serde_json::to_string(args)?)
            .await
    }

    /// Calls a named operation with `payload` as it is and decodes the answer.
    async fn call_payload<R: serde::de::DeserializeOwned>(
        &self,
        address: &str,
        op: &str,
        payload: String,
    ) -> Result<R, PluginError> {
        let actor = self.resolve(address)?;
        let out = actor.call(op, payload, self.options.call_timeout).await?;
        serde_json::from_str(&out).map_err(|e| {
            PluginError::invalid(format!(
                "`{address}` answered `{op}` with unexpected JSON: {e}"
            ))
        })
    }

    /// [`Registry::query`] for callers on plain threads (plugin actors).
    pub fn query_blocking(
        &self,
        address: &str,
        query: &str,
        args: Value,
    ) -> Result<Value, PluginError> {
        let actor = self.resolve(address)?;
        let out = actor.call_blocking(query, args.to_string(), self.options.call_timeout)?;
        Ok(serde_json::from_str(&out)?)
    }

    /// Stops every plugin (each finishes the work already queued).
    pub fn shutdown(&self) {
        let names: Vec<String> = self
            .entries
            .read()
            .expect("registry lock")
            .keys()
            .cloned()
            .collect();
        for name in names {
            let old = {
                let mut entries = self.entries.write().expect("registry lock");
                let entry = entries.get_mut(&name).expect("entry exists");
                std::mem::take(&mut entry.services)
            };
            stop_all(&old);
        }
        self.flush_deliveries();
    }

    /// Publishes a host event with `host` as its source.
    pub fn announce(&self, kind: &str, payload: Value) -> u64 {
        self.publish(HOST_SOURCE, kind, payload)
    }

    /// A durable subscription for the host service `name` (its cursor is `host:<name>`):
    /// every logged event from where it last acknowledged (from the newest event the first
    /// time), at least once across crashes.
    pub fn subscribe_durably(&self, name: &str) -> crate::subscription::Subscription {
        let wake = self.bus.announcements();
        let feed = self.deliveries.feed(&format!("{HOST_SOURCE}:{name}"));
        feed.attach();
        crate::subscription::Subscription {
            feed,
            journal: self.journal.clone(),
            wake,
        }
    }

    /// Follows events from now on.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Arc<Event>> {
        self.bus.subscribe()
    }

    /// The retained events with an id above `after`, then every event from now on.
    pub fn follow(&self, after: Option<u64>) -> crate::bus::Following {
        self.bus.follow(after)
    }
}

fn stop_all(services: &[Running]) {
    for s in services {
        if let Some(feed) = &s.feed {
            feed.detach();
        }
        s.actor.stop();
    }
}

/// How often the subscribers' cursors are committed.
const CURSOR_COMMIT_EVERY: Duration = Duration::from_millis(200);

/// Starts the thread that commits the subscribers' cursors a few times a second, until the
/// registry is gone.
fn spawn_cursor_writer(registry: Weak<Registry>) {
    let spawned = std::thread::Builder::new()
        .name("event cursors".into())
        .spawn(move || {
            loop {
                std::thread::sleep(CURSOR_COMMIT_EVERY);
                match registry.upgrade() {
                    Some(registry) => registry.flush_deliveries(),
                    None => return,
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the event cursor thread; cursors are committed at shutdown only");
    }
}
