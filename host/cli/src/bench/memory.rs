//! Peak memory of a real `hypernet run` process over a store of finished tasks.

use super::BenchOptions;
use super::child::{ChildHost, mib};
use super::swarm::Swarm;
use anyhow::{Context, Result};
use std::time::Duration;

pub(super) async fn stored_tasks(o: &BenchOptions) -> Result<(String, String, String)> {
    tracing::warn!(tasks = o.stored, "bench: memory (filling the store)");
    let swarm = Swarm::start(64, 0, None, false).await?;
    swarm.file(o.stored, "memory", 1000).await?;
    swarm.wait_finished(o.stored).await;
    let dir = swarm.stop().await;

    let data = dir.path().join("data");
    std::fs::create_dir_all(&data)?;
    std::fs::rename(dir.path().join("hypernet.redb"), data.join("hypernet.redb"))
        .context("moving the filled store into the data directory")?;
    let host = ChildHost::start(
        dir.path(),
        "[[plugin]]\nname = \"provider-sim\"\n",
        "standing = []\n",
    )
    .await?;
    // Let it settle, then read its high-water mark.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let peak = host.stats()?.peak_kib;
    host.stop()?;
    Ok((
        format!(
            "peak RSS of `hypernet run` with {} finished tasks stored",
            o.stored
        ),
        mib(peak),
        "<= 150 MiB".into(),
    ))
}
