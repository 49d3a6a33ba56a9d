//! The outbox over a real store and registry: one filing per origin, thread links, the
//! questions a needs-input event calls for filed once when the event comes again.

use super::*;
use crate::people::{Person, Receives};
use hypernet_engine::{Manifest, RegistryOptions};
use std::path::Path;

fn outbox(dir: &Path, people: Vec<Person>) -> Outbox {
    let store = crate::persist::open_store(&dir.join("h.redb")).unwrap();
    let manifest = Manifest::parse("", "test manifest", dir).unwrap();
    let registry = Registry::start(manifest, store, RegistryOptions::default()).unwrap();
    let executor = hypernet_llm::HttpExecutor::new(&Default::default()).unwrap();
    Outbox::start(
        registry,
        People::new(people),
        ChannelsConfig::default(),
        executor,
    )
}

fn ada() -> Person {
    Person {
        name: "ada".into(),
        channels: [("telegram".to_owned(), "42".to_owned())]
            .into_iter()
            .collect(),
        receives: Receives::ALL.to_vec(),
        commands: true,
        alerts_off: Vec::new(),
    }
}

#[tokio::test]
async fn a_message_of_one_origin_is_filed_once() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox(dir.path(), vec![]);
    let mut m = NewMessage::new("ops", "host", "deploy done");
    m.origin = Some("event:7:ops".into());
    let first = outbox.file(m.clone()).await.unwrap();
    let again = outbox.file(m).await.unwrap();
    assert_eq!(first.id, again.id);
    assert_eq!(outbox.all().unwrap().len(), 1);
    let other = outbox
        .file(NewMessage::new("ops", "host", "deploy done"))
        .await
        .unwrap();
    assert_ne!(
        other.id, first.id,
        "without an origin every filing is a message"
    );
}

#[tokio::test]
async fn a_threads_messages_link_to_the_one_before_on_each_channel() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox(dir.path(), vec![ada()]);
    let threaded = |body: &str| {
        let mut m = NewMessage::new("ada", "Coder", body);
        m.thread = Some("T-4".into());
        m
    };
    let first = outbox.file(threaded("one")).await.unwrap();
    let second = outbox.file(threaded("two")).await.unwrap();
    assert_eq!(first.deliveries[0].in_reply_to, None);
    assert_eq!(
        (
            second.deliveries[0].channel.as_str(),
            second.deliveries[0].in_reply_to.as_deref()
        ),
        ("telegram", Some(first.id.as_str()))
    );
    assert_eq!(
        second.status,
        record::QUEUED,
        "stored, waiting for the channel"
    );
}

#[tokio::test]
async fn a_question_is_filed_once_for_each_person_even_when_its_event_comes_again() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox(dir.path(), vec![ada()]);
    let payload = json!({"id": "T-2", "title": "Paint", "worker": "Coder", "filed_by": "ada", "question": "Which wall?", "approval": null});
    let event = hypernet_plugin_api::Event {
        id: 41,
        kind: "task.needs_input".into(),
        source: "host".into(),
        at_ms: 0,
        payload,
    };
    notify::handle(&outbox, &event).await;
    notify::handle(&outbox, &event).await;
    let all = outbox.all().unwrap();
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(
        (all[0].to.as_str(), all[0].sender.as_str()),
        ("ada", "Coder")
    );
    assert!(all[0].body.contains("Which wall?"));
}
