use super::*;
use hypernet_store::Store;
use serde_json::json;

fn open(dir: &tempfile::TempDir) -> Arc<Journal> {
    let store = Store::open(&dir.path().join("h.redb"), &[]).unwrap();
    Arc::new(Journal::open(store).unwrap())
}

fn plugins(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

fn log(journal: &Journal, n: usize) -> u64 {
    let events = (0..n).map(|i| (format!("e{i}"), json!({}))).collect();
    journal.commit("host", events, |_| Ok(())).unwrap();
    journal.head()
}

#[test]
fn a_new_subscriber_starts_at_the_newest_event_and_its_cursor_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let journal = open(&dir);
        log(&journal, 3);
        let deliveries = Deliveries::open(journal.clone(), &plugins(&["p"]), 100).unwrap();
        let feed = deliveries.feed("p");
        assert_eq!(feed.acked(), 3, "no history for a newcomer");
        log(&journal, 2);
        feed.ack(4);
        deliveries.flush().unwrap();
    }
    let journal = open(&dir);
    let deliveries = Deliveries::open(journal, &plugins(&["p"]), 100).unwrap();
    assert_eq!(deliveries.feed("p").acked(), 4, "the committed cursor");
}

#[test]
fn the_log_is_trimmed_below_the_slowest_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open(&dir);
    let deliveries = Deliveries::open(journal.clone(), &plugins(&["fast", "slow"]), 100).unwrap();
    let (fast, slow) = (deliveries.feed("fast"), deliveries.feed("slow"));
    fast.attach();
    slow.attach();
    log(&journal, 10);
    fast.ack(10);
    slow.ack(4);
    deliveries.flush().unwrap();
    assert_eq!(
        journal.oldest().unwrap(),
        Some(5),
        "kept from the slow cursor on"
    );
    slow.ack(10);
    deliveries.flush().unwrap();
    assert_eq!(journal.on_file().unwrap(), 0);
    assert!(deliveries.caught_up());
}

#[test]
fn a_stopped_subscriber_holds_the_log_back_only_up_to_the_retention_and_its_loss_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open(&dir);
    let deliveries = Deliveries::open(journal.clone(), &plugins(&["up", "down"]), 5).unwrap();
    let (up, down) = (deliveries.feed("up"), deliveries.feed("down"));
    up.attach();
    log(&journal, 12);
    up.ack(12);
    deliveries.flush().unwrap();
    assert_eq!(down.acked(), 7, "moved up to the newest five");
    assert_eq!(down.dropped(), 7);
    assert_eq!(journal.on_file().unwrap(), 5);
    let view = &deliveries.views("down")[0];
    assert_eq!((view.cursor, view.behind, view.dropped), (7, 5, 7));
    // A running subscriber is never dropped, however far behind.
    down.attach();
    log(&journal, 20);
    deliveries.flush().unwrap();
    assert_eq!((down.acked(), down.dropped()), (7, 7));
    assert!(!deliveries.caught_up());
}

#[test]
fn cursors_of_plugins_no_longer_in_the_manifest_are_forgotten() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open(&dir);
    {
        let deliveries =
            Deliveries::open(journal.clone(), &plugins(&["gone", "kept"]), 100).unwrap();
        deliveries.feed("gone");
        deliveries.feed("kept:svc");
        deliveries.flush().unwrap();
    }
    log(&journal, 3);
    let deliveries = Deliveries::open(journal.clone(), &plugins(&["kept"]), 100).unwrap();
    assert!(deliveries.views("gone").is_empty());
    assert_eq!(deliveries.views("kept")[0].address, "kept:svc");
    deliveries.flush().unwrap();
    assert_eq!(journal.on_file().unwrap(), 3, "held by `kept:svc` alone");
}
