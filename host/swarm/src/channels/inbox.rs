//! Commands received from channels, stored before they are handled. Each is kept under its
//! channel's id for it (a Telegram update id, a Discord interaction id), so one that
//! arrives twice — a webhook sent again, a poll repeated after a crash — is handled once.
//! A poll's cursor is written in the same commit as the commands it brought: a crash loses
//! both (the poll is made again) or neither. A command stays `pending` until handled; the
//! host handles pending ones when it starts.

use hypernet_model::clock::now_ms;
use hypernet_plugin_api::channel::InboundCommand;
use hypernet_store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;

/// The store namespace (no plugin can be named like this).
const NAMESPACE: &str = "host:channels";

/// Not handled yet.
pub const PENDING: &str = "pending";
/// Handled; `answer` says how.
pub const DONE: &str = "done";

/// One received command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// The channel it came from.
    pub channel: String,
    /// What the channel read.
    pub command: InboundCommand,
    /// When it was stored.
    pub received_ms: u64,
    /// `pending` or `done`.
    pub status: String,
    /// The answer given (after handling).
    #[serde(default)]
    pub answer: Option<String>,
}

/// A person waiting for a task's outcome, told on the channel they filed it from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Follow {
    /// The person.
    pub person: String,
    /// The channel.
    pub channel: String,
    /// The worker asked, for `ask` (the answer comes from them).
    #[serde(default)]
    pub worker: Option<String>,
}

impl Item {
    fn key(&self) -> String {
        key(&self.channel, &self.command.id)
    }
}

fn key(channel: &str, id: &str) -> String {
    format!("in/{channel}/{id}")
}

fn cursor_key(channel: &str) -> String {
    format!("cursor/{channel}")
}

/// Why the inbox failed.
#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A record does not decode.
    #[error("inbox record `{key}`: {source}")]
    Record {
        /// Its key.
        key: String,
        /// Why.
        source: serde_json::Error,
    },
}

/// The inbox over the store.
#[derive(Debug)]
pub struct Inbox {
    store: Store,
    /// Serializes receipts, so two copies of one command arriving together are one.
    receiving: Mutex<()>,
}

impl Inbox {
    /// The inbox in `store`.
    pub fn new(store: Store) -> Inbox {
        Inbox {
            store,
            receiving: Mutex::new(()),
        }
    }

    /// Stores the commands not seen before, and `cursor` for `channel` when given, in one
    /// commit; returns the new ones.
    pub fn receive(
        &self,
        channel: &str,
        commands: Vec<InboundCommand>,
        cursor: Option<&str>,
    ) -> Result<Vec<Item>, InboxError> {
        let _guard = self.receiving.lock().unwrap_or_else(|e| e.into_inner());
        let mut fresh = Vec::new();
        let mut pairs = Vec::new();
        for command in commands {
            let key = key(channel, &command.id);
            if self.store.kv_get(NAMESPACE, &key)?.is_some()
                || fresh.iter().any(|i: &Item| i.command.id == command.id)
            {
                tracing::info!(channel, id = %command.id, "a command received again is handled once");
                continue;
            }
            let item = Item {
                channel: channel.to_owned(),
                command,
                received_ms: now_ms(),
                status: PENDING.into(),
                answer: None,
            };
            pairs.push((key, encode(&item)));
            fresh.push(item);
        }
        if let Some(cursor) = cursor {
            pairs.push((cursor_key(channel), encode(&cursor)));
        }
        if !pairs.is_empty() {
            self.store.kv_put_all(NAMESPACE, &pairs)?;
        }
        Ok(fresh)
    }

    /// The cursor of `channel`'s polls, if one was stored.
    pub fn cursor(&self, channel: &str) -> Result<Option<String>, InboxError> {
        self.read(&cursor_key(channel))
    }

    /// Marks `item` handled, with its answer.
    pub fn done(&self, item: &Item, answer: &str) -> Result<(), InboxError> {
        let mut item = item.clone();
        item.status = DONE.into();
        item.answer = Some(answer.to_owned());
        self.store.kv_put(NAMESPACE, &item.key(), &encode(&item))?;
        Ok(())
    }

    /// Remembers that `person` wants task `task`'s outcome on `channel`.
    pub fn follow(&self, task: &str, follow: &Follow) -> Result<(), InboxError> {
        self.store
            .kv_put(NAMESPACE, &format!("follow/{task}"), &encode(follow))?;
        Ok(())
    }

    /// Who follows task `task`, if anyone.
    pub fn following(&self, task: &str) -> Result<Option<Follow>, InboxError> {
        self.read(&format!("follow/{task}"))
    }

    /// Who follows task `task`, forgetting them.
    pub fn unfollow(&self, task: &str) -> Result<Option<Follow>, InboxError> {
        let key = format!("follow/{task}");
        let follow = self.read(&key)?;
        if follow.is_some() {
            self.store.kv_delete(NAMESPACE, &key)?;
        }
        Ok(follow)
    }

    /// Every command not handled yet, oldest first.
    pub fn pending(&self) -> Result<Vec<Item>, InboxError> {
        let mut out = Vec::new();
        for key in self.store.kv_list(NAMESPACE, "in/")? {
            if let Some(item) = self.read::<Item>(&key)?
                && item.status == PENDING
            {
                out.push(item);
            }
        }
        out.sort_by_key(|i| i.received_ms);
        Ok(out)
    }

    fn read<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>, InboxError> {
        match self.store.kv_get(NAMESPACE, key)? {
            Some(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|source| InboxError::Record {
                        key: key.to_owned(),
                        source,
                    })
            }
            None => Ok(None),
        }
    }
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("inbox records encode")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(id: &str) -> InboundCommand {
        InboundCommand {
            id: id.into(),
            from: "42".into(),
            text: format!("task {id}"),
            reply: None,
        }
    }

    #[test]
    fn a_command_is_kept_once_with_its_cursor_and_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.redb");
        {
            let inbox = Inbox::new(Store::open(&path, &[]).unwrap());
            let new = inbox
                .receive(
                    "telegram",
                    vec![command("1"), command("2"), command("1")],
                    Some("3"),
                )
                .unwrap();
            assert_eq!(new.len(), 2);
            assert!(
                inbox
                    .receive("telegram", vec![command("2")], Some("3"))
                    .unwrap()
                    .is_empty()
            );
            // The same id on another channel is another command.
            assert_eq!(
                inbox
                    .receive("discord", vec![command("2")], None)
                    .unwrap()
                    .len(),
                1
            );
            inbox.done(&new[0], "filed T-1").unwrap();
        }
        let inbox = Inbox::new(Store::open(&path, &[]).unwrap());
        assert_eq!(inbox.cursor("telegram").unwrap().as_deref(), Some("3"));
        assert_eq!(inbox.cursor("discord").unwrap(), None);
        let pending: Vec<_> = inbox
            .pending()
            .unwrap()
            .into_iter()
            .map(|i| (i.channel, i.command.id))
            .collect();
        assert_eq!(pending.len(), 2);
        assert!(pending.contains(&("telegram".into(), "2".into())));
        assert!(pending.contains(&("discord".into(), "2".into())));
    }
}
