//! The courier: makes each queued delivery through its channel plugin. The channel turns
//! the message into HTTP requests (or delivers it itself, for SMTP); the courier sends them
//! with the host's HTTP client, one part at a time, saving after each part so a retry
//! resumes after the parts already delivered. A transient failure (`rate_limited`,
//! `unavailable`, a channel not loaded) is retried after
//! [`ChannelsConfig::backoff_ms`](crate::channels::ChannelsConfig::backoff_ms); a
//! permanent one, or `max_attempts` transient ones, marks the delivery failed.
//!
//! What holds across a crash: a part is sent again only if the host died after the service
//! took it and before the courier saved that it did — at most once per crash, and only for
//! that part. Channels pass the message id on where the service de-duplicates by it.

use super::record::{FAILED, Message, QUEUED, SENT};
use super::{Detached, Outbox};
use hypernet_llm::HttpExecutor;
use hypernet_model::clock::now_ms;
use hypernet_plugin_api::channel::{
    ChannelError, Delivery as Plan, HttpResponse, Outbound, Receipt, Sender,
};
use hypernet_plugin_api::protocol::channel::{self as ops, Operation, ParseDeliveryArgs};
use serde_json::json;
use std::time::Duration;

/// Starts the courier on the current runtime.
pub(super) fn spawn(outbox: Detached, executor: HttpExecutor) {
    tokio::spawn(async move {
        loop {
            let Some(live) = outbox.upgrade() else {
                return;
            };
            let wait = live.deliver_due(&executor).await;
            drop(live);
            let wake = outbox.wake.clone();
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    });
}

/// How one attempt ended.
enum Attempt {
    Sent(Receipt),
    Failed(ChannelError),
}

impl Outbox {
    /// Makes every delivery that is due; returns how long until the next one is.
    async fn deliver_due(&self, executor: &HttpExecutor) -> Duration {
        let ids: Vec<String> = self
            .pending
            .lock()
            .expect("pending lock")
            .iter()
            .cloned()
            .collect();
        let mut next = u64::MAX;
        for id in ids {
            let message = match self.get(&id) {
                Ok(Some(m)) => m,
                Ok(None) => {
                    self.pending.lock().expect("pending lock").remove(&id);
                    continue;
                }
                Err(e) => {
                    tracing::error!(message = %id, error = %e, "cannot read a queued message");
                    continue;
                }
            };
            for (index, d) in message.deliveries.iter().enumerate() {
                if d.status != QUEUED {
                    continue;
                }
                let now = now_ms();
                if d.next_ms > now {
                    next = next.min(d.next_ms);
                    continue;
                }
                if let Some(at) = self.attempt(executor, &message, index).await {
                    next = next.min(at);
                }
            }
        }
        let now = now_ms();
        Duration::from_millis(next.saturating_sub(now).min(60_000))
    }

    /// One attempt at delivery `index` of `message`; returns when to try again, if it is
    /// to be tried again.
    async fn attempt(
        &self,
        executor: &HttpExecutor,
        message: &Message,
        index: usize,
    ) -> Option<u64> {
        let d = &message.deliveries[index];
        let outbound = Outbound {
            id: message.id.clone(),
            to: d.address.clone(),
            recipient: message.to.clone(),
            sender: Sender {
                name: message.sender.clone(),
                avatar_url: None,
            },
            subject: message.subject.clone(),
            text: message.body.clone(),
            thread: message.thread.clone(),
            in_reply_to: d.in_reply_to.clone(),
            tags: message.tags.clone(),
            buttons: message.buttons.clone(),
            reply: message.reply.clone(),
        };
        let outcome = self
            .send(
                executor,
                &message.id,
                index,
                d.parts_sent,
                &d.channel,
                &outbound,
            )
            .await;
        let config = self.config.clone();
        let this = self.clone();
        let id = message.id.clone();
        let saved = tokio::task::spawn_blocking(move || {
            this.update(&id, |m| {
                let now = now_ms();
                let d = &mut m.deliveries[index];
                d.attempts += 1;
                let again = match outcome {
                    Attempt::Sent(receipt) => {
                        if let Some(handle) = receipt.handle
                            && !d.handles.contains(&handle)
                        {
                            d.handles.push(handle);
                        }
                        d.status = SENT.into();
                        d.done_ms = Some(now);
                        d.detail = receipt.detail;
                        d.error = None;
                        None
                    }
                    Attempt::Failed(error) => {
                        d.error = Some(error.to_string());
                        if error.is_retryable() && d.attempts < config.max_attempts {
                            d.next_ms = now + config.backoff_ms(d.attempts, error.retry_after_ms());
                            Some(d.next_ms)
                        } else {
                            d.status = FAILED.into();
                            d.done_ms = Some(now);
                            None
                        }
                    }
                };
                let view = (
                    d.status.clone(),
                    d.channel.clone(),
                    d.error.clone(),
                    d.attempts,
                );
                m.settle(now);
                (again, view, m.to.clone(), m.sender.clone())
            })
        })
        .await;
        let (again, (status, channel, error, attempts), to, sender) = match saved {
            Ok(Ok(Some(out))) => out,
            Ok(Ok(None)) => return None,
            Ok(Err(e)) => {
                tracing::error!(message = %message.id, error = %e, "cannot record a delivery");
                return Some(now_ms() + self.config.retry_base_ms);
            }
            Err(e) => {
                tracing::error!(message = %message.id, error = %e, "the delivery record task stopped");
                return None;
            }
        };
        let payload = json!({ "id": message.id, "to": to, "channel": channel, "sender": sender, "attempts": attempts, "error": error });
        match status.as_str() {
            SENT => {
                tracing::info!(message = %message.id, %channel, attempts, "message delivered");
                self.registry.announce("message.sent", payload);
            }
            FAILED => {
                tracing::warn!(message = %message.id, %channel, attempts, error = ?error, "message not delivered");
                self.registry.announce("message.failed", payload);
            }
            _ => {
                tracing::info!(message = %message.id, %channel, attempts, error = ?error, "delivery to retry");
            }
        }
        again
    }

    /// Asks the channel how to deliver, and does it, from part `first` on. Each part
    /// delivered is saved before the next is sent.
    async fn send(
        &self,
        executor: &HttpExecutor,
        id: &str,
        index: usize,
        first: usize,
        channel: &str,
        outbound: &Outbound,
    ) -> Attempt {
        let Some(address) = self.registry.channel(channel) else {
            return Attempt::Failed(ChannelError::Unavailable {
                message: format!("no channel `{channel}` is loaded"),
            });
        };
        let plan = match self
            .registry
            .call_typed::<_, <ops::Deliver as Operation>::Answer>(
                &address,
                ops::Deliver::OP.name(),
                outbound,
            )
            .await
        {
            Ok(Ok(plan)) => plan,
            Ok(Err(e)) => return Attempt::Failed(e),
            Err(e) => return Attempt::Failed(plugin_failed(channel, &e)),
        };
        let requests = match plan {
            Plan::Done { receipt } => return Attempt::Sent(receipt),
            Plan::Http { requests } => requests,
        };
        let timeout = Duration::from_millis(self.config.request_timeout_ms);
        let mut last = Receipt::default();
        for (part, request) in requests.iter().enumerate().skip(first) {
            let response = match executor.send_once(request, timeout).await {
                Ok(r) => r,
                Err(e) => {
                    return Attempt::Failed(ChannelError::Unavailable {
                        message: e.to_string(),
                    });
                }
            };
            let receipt = match self.parse(&address, outbound, part, &response).await {
                Ok(receipt) => receipt,
                Err(e) => return Attempt::Failed(e),
            };
            if part + 1 < requests.len() {
                let this = self.clone();
                let (id, handle) = (id.to_owned(), receipt.handle.clone());
                let saved = tokio::task::spawn_blocking(move || {
                    this.update(&id, |m| {
                        let d = &mut m.deliveries[index];
                        d.parts_sent = part + 1;
                        d.handles.extend(handle);
                    })
                })
                .await;
                if !matches!(saved, Ok(Ok(_))) {
                    return Attempt::Failed(ChannelError::Unavailable {
                        message: "cannot record a delivered part".into(),
                    });
                }
            }
            last = receipt;
        }
        Attempt::Sent(last)
    }

    async fn parse(
        &self,
        address: &str,
        outbound: &Outbound,
        part: usize,
        response: &HttpResponse,
    ) -> Result<Receipt, ChannelError> {
        self.registry
            .call_typed::<_, <ops::ParseDelivery as Operation>::Answer>(
                address,
                ops::ParseDelivery::OP.name(),
                &ParseDeliveryArgs::new(outbound, part, response),
            )
            .await
            .unwrap_or_else(|e| Err(plugin_failed(address, &e)))
    }
}

/// A channel plugin that failed or is not running: tried again later.
fn plugin_failed(channel: &str, e: &hypernet_plugin_api::PluginError) -> ChannelError {
    ChannelError::Unavailable {
        message: format!("channel `{channel}`: {e}"),
    }
}
