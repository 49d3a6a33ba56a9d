//! The connection to NATS and the JetStream objects federation uses: the stream of
//! messages (work-queue retention: a message is gone once its reader acknowledged it),
//! the status bucket (its entries expire after `status_ttl_ms`), and this swarm's durable
//! pull consumer. Each is created when missing, the same way by every swarm.

use crate::wire;
use async_nats::jetstream::{self, consumer::pull, kv, stream};
use hypernet_swarm::federation::{self as config, FederationConfig};
use std::time::Duration;

/// A federation failure, naming what failed.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {source}")]
pub struct LinkError {
    /// What was being done.
    pub what: String,
    /// Why it failed.
    #[source]
    pub source: async_nats::Error,
}

/// `Result` with a [`LinkError`].
pub type LinkResult<T> = Result<T, LinkError>;

pub(crate) fn failed<E: Into<async_nats::Error>>(
    what: impl Into<String>,
) -> impl FnOnce(E) -> LinkError {
    let what = what.into();
    move |e| LinkError {
        what,
        source: e.into(),
    }
}

/// The connection options: this swarm's name, credentials from the environment (a token,
/// a user and password, or an nkey seed), and reconnection for ever.
pub fn options(cfg: &FederationConfig) -> async_nats::ConnectOptions {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut options = async_nats::ConnectOptions::new()
        .name(format!("hypernet swarm {}", cfg.swarm))
        .retry_on_initial_connect()
        .max_reconnects(None)
        .connection_timeout(Duration::from_secs(5));
    if let Some(token) = env(config::ENV_TOKEN) {
        options = options.token(token);
    }
    if let (Some(user), Some(password)) = (env(config::ENV_USER), env(config::ENV_PASSWORD)) {
        options = options.user_and_password(user, password);
    }
    if let Some(seed) = env(config::ENV_NKEY) {
        options = options.nkey(seed);
    }
    if cfg.urls.iter().any(|u| u.starts_with("tls://")) {
        options = options.require_tls(true);
    }
    options
}

/// Connects (in the background: the client retries until a server answers).
pub async fn connect(cfg: &FederationConfig) -> LinkResult<async_nats::Client> {
    let addrs: Vec<async_nats::ServerAddr> = cfg
        .urls
        .iter()
        .map(|u| u.parse())
        .collect::<Result<_, _>>()
        .map_err(failed(format!("reading `federation.urls` {:?}", cfg.urls)))?;
    options(cfg)
        .connect(addrs)
        .await
        .map_err(failed("connecting to NATS"))
}

/// The JetStream objects, made when missing.
pub struct Link {
    /// The JetStream context.
    pub js: jetstream::Context,
    /// The status bucket.
    pub bucket: kv::Store,
    /// This swarm's consumer.
    pub consumer: jetstream::consumer::Consumer<pull::Config>,
}

impl Link {
    /// Makes (or finds) the stream, the bucket and this swarm's consumer.
    pub async fn open(client: async_nats::Client, cfg: &FederationConfig) -> LinkResult<Link> {
        let js = jetstream::new(client);
        let stream = js
            .get_or_create_stream(stream::Config {
                name: wire::STREAM.into(),
                subjects: vec![wire::STREAM_SUBJECTS.into()],
                retention: stream::RetentionPolicy::WorkQueue,
                storage: stream::StorageType::File,
                num_replicas: cfg.replicas,
                duplicate_window: wire::DUPLICATE_WINDOW,
                ..Default::default()
            })
            .await
            .map_err(failed(format!("opening the stream {}", wire::STREAM)))?;
        let bucket = open_bucket(&js, cfg).await?;
        let name = wire::consumer(&cfg.swarm);
        let consumer = stream
            .get_or_create_consumer(
                &name,
                pull::Config {
                    durable_name: Some(name.clone()),
                    filter_subject: wire::subject(&cfg.swarm),
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ack_wait: Duration::from_secs(30),
                    max_ack_pending: 20_000,
                    ..Default::default()
                },
            )
            .await
            .map_err(failed(format!("opening the consumer {name}")))?;
        Ok(Link {
            js,
            bucket,
            consumer,
        })
    }
}

/// The status bucket. Its stream is made here rather than by the client's bucket call,
/// which asks for account details older servers describe differently; the settings are
/// those of a key-value bucket (one value per key, its age limited).
async fn open_bucket(js: &jetstream::Context, cfg: &FederationConfig) -> LinkResult<kv::Store> {
    let ttl = Duration::from_millis(cfg.status_ttl_ms);
    js.get_or_create_stream(stream::Config {
        name: format!("KV_{}", wire::BUCKET),
        subjects: vec![format!("$KV.{}.>", wire::BUCKET)],
        max_messages_per_subject: 1,
        max_age: ttl,
        duplicate_window: ttl.min(wire::DUPLICATE_WINDOW),
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: stream::DiscardPolicy::New,
        num_replicas: cfg.replicas,
        storage: stream::StorageType::File,
        ..Default::default()
    })
    .await
    .map_err(failed(format!(
        "opening the status bucket {}",
        wire::BUCKET
    )))?;
    js.get_key_value(wire::BUCKET).await.map_err(failed(format!(
        "opening the status bucket {}",
        wire::BUCKET
    )))
}
