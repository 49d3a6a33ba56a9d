//! `hypernet messages`: the running host's messages between workers, newest first.

use super::client::Client;
use super::format::{cell, duration_ms, url_part};
use super::tasks::{Listed, parse};
use anyhow::Result;
use hypernet_model::clock::now_ms;
use hypernet_swarm::bus::{MessageStatus, WorkerMessage, WorkerMessageId};
use std::path::Path;

/// What `hypernet messages` lists.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct MessagesArgs {
    /// Only messages this worker (any case) wrote or received.
    #[arg(long)]
    worker: Option<String>,
    /// Only the messages of this thread (`WM-000001`).
    #[arg(long)]
    thread: Option<WorkerMessageId>,
    /// Only this status: draft, sent, delivered, read or responded.
    #[arg(long)]
    status: Option<MessageStatus>,
    /// At most this many [host default: 100].
    #[arg(long)]
    limit: Option<usize>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// `/api/bus` with the filters of `args`.
fn path(args: &MessagesArgs) -> String {
    let mut query = Vec::new();
    if let Some(worker) = &args.worker {
        query.push(format!("worker={}", url_part(worker)));
    }
    if let Some(thread) = args.thread {
        query.push(format!("thread={thread}"));
    }
    if let Some(status) = args.status {
        query.push(format!("status={status}"));
    }
    if let Some(limit) = args.limit {
        query.push(format!("limit={limit}"));
    }
    if query.is_empty() {
        "/api/bus".into()
    } else {
        format!("/api/bus?{}", query.join("&"))
    }
}

pub(super) async fn list(data_dir: &Path, args: MessagesArgs) -> Result<()> {
    let answer = Client::connect(data_dir)?.get(&path(&args)).await?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&answer)?)?;
    } else {
        let page: Listed<WorkerMessage> = parse(&answer, "a page of worker messages")?;
        outln!("{}", table(&page, now_ms()))?;
    }
    Ok(())
}

/// One row per message: its recipient when delivered, else the `to` as written.
fn table(page: &Listed<WorkerMessage>, now: u64) -> String {
    page.table(
        "no messages",
        &["ID", "FROM", "TO", "THREAD", "STATUS", "AGE", "BODY"],
        |m| {
            vec![
                m.id.to_string(),
                m.from.clone(),
                m.recipient.clone().unwrap_or_else(|| m.to.clone()),
                m.thread.to_string(),
                m.status.to_string(),
                duration_ms(now.saturating_sub(m.created_ms)),
                cell(&m.body, 60),
            ]
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_become_the_query() {
        assert_eq!(path(&MessagesArgs::default()), "/api/bus");
        let args = MessagesArgs {
            worker: Some("Code r".into()),
            thread: Some(WorkerMessageId(3)),
            status: Some(MessageStatus::Read),
            limit: Some(5),
            json: false,
        };
        assert_eq!(
            path(&args),
            "/api/bus?worker=Code%20r&thread=WM-000003&status=read&limit=5"
        );
    }

    #[test]
    fn the_table_shows_the_recipient_or_the_address_written() {
        let m = |id, to: &str, recipient: Option<&str>, status| WorkerMessage {
            id: WorkerMessageId(id),
            from: "Coder".into(),
            to: to.into(),
            recipient: recipient.map(str::to_owned),
            thread: WorkerMessageId(1),
            reply_to: None,
            body: "Please\nreview T-4".into(),
            status,
            created_ms: 1_000,
            updated_ms: 1_000,
        };
        let page = Listed {
            items: vec![
                m(2, "2.1.nobody", None, MessageStatus::Sent),
                m(1, "reviewer", Some("Reviewer"), MessageStatus::Read),
            ],
            total: 2,
            offset: 0,
        };
        assert_eq!(
            table(&page, 43_000),
            "ID         FROM   TO          THREAD     STATUS  AGE  BODY\n\
             WM-000002  Coder  2.1.nobody  WM-000001  sent    42s  Please review T-4\n\
             WM-000001  Coder  Reviewer    WM-000001  read    42s  Please review T-4"
        );
    }
}
