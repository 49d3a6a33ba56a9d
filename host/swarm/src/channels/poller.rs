//! Polling: for every running channel that polls (Telegram's `getUpdates`), a loop asks the
//! channel for the poll request with the stored cursor, sends it, has the channel read the
//! answer, and stores the commands with the new cursor in one commit before they are
//! handled. A failed poll waits `channels.poll_error_backoff_ms` (or the service's
//! `retry_after`). Channels loaded later are picked up within a second.

use super::inbound::{Channels, WeakChannels};
use hypernet_plugin_api::channel::ChannelInfo;
use hypernet_plugin_api::protocol::channel::{self as ops, PollArgs};
use std::collections::BTreeSet;
use std::time::Duration;

/// Starts the supervisor that keeps one poll loop per polling channel.
pub(super) fn spawn(channels: &Channels) {
    let weak = channels.downgrade();
    tokio::spawn(async move {
        let mut running = BTreeSet::new();
        loop {
            let Some(live) = weak.upgrade() else {
                return;
            };
            for (name, _) in live.registry().channels() {
                if running.contains(&name) {
                    continue;
                }
                let info: ChannelInfo = live
                    .call::<ops::Describe>(&name, &())
                    .await
                    .unwrap_or_default();
                if info.polls {
                    running.insert(name.clone());
                    tokio::spawn(poll_loop(weak.clone(), name));
                }
            }
            drop(live);
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

/// Polls `channel` until the host stops; waits while the channel is disabled or failed.
async fn poll_loop(weak: WeakChannels, channel: String) {
    tracing::info!(%channel, "polling the channel for commands");
    loop {
        let Some(live) = weak.upgrade() else {
            return;
        };
        let wait = if live.registry().channel(&channel).is_none() {
            Some(Duration::from_secs(1))
        } else {
            live.poll_once(&channel).await.err()
        };
        drop(live);
        if let Some(wait) = wait {
            tokio::time::sleep(wait).await;
        }
    }
}

impl Channels {
    /// One poll; an error is how long to wait before the next.
    async fn poll_once(&self, channel: &str) -> Result<(), Duration> {
        let backoff = Duration::from_millis(self.config().poll_error_backoff_ms);
        let inbox_cursor = {
            let this = self.clone();
            let name = channel.to_owned();
            tokio::task::spawn_blocking(move || this.inbox().cursor(&name)).await
        };
        let cursor = match inbox_cursor {
            Ok(Ok(c)) => c,
            _ => return Err(backoff),
        };
        let request = match self.call::<ops::Poll>(channel, &PollArgs { cursor }).await {
            Ok(Some(request)) => request,
            Ok(None) => return Err(Duration::from_secs(60)),
            Err(e) => {
                tracing::warn!(%channel, error = %e, "the channel cannot poll");
                return Err(backoff);
            }
        };
        let timeout = Duration::from_millis(self.config().request_timeout_ms);
        let response = match self.executor().send_once(&request, timeout).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(%channel, error = %e, "a poll failed");
                return Err(backoff);
            }
        };
        let polled = match self.call::<ops::ParsePoll>(channel, &response).await {
            Ok(Ok(polled)) => polled,
            Ok(Err(e)) => {
                tracing::warn!(%channel, error = %e, "a poll was refused");
                return Err(e.retry_after_ms().map_or(backoff, Duration::from_millis));
            }
            Err(e) => {
                tracing::warn!(%channel, error = %e, "the channel cannot read a poll");
                return Err(backoff);
            }
        };
        if let Err(e) = self.receive(channel, polled.commands, polled.cursor).await {
            tracing::error!(%channel, error = %e, "cannot store polled commands");
            return Err(backoff);
        }
        Ok(())
    }
}
