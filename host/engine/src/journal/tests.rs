use super::*;
use serde_json::json;

fn open(dir: &tempfile::TempDir) -> Journal {
    let store = Store::open(&dir.path().join("h.redb"), &[]).unwrap();
    Journal::open(store).unwrap()
}

fn log(journal: &Journal, kinds: &[&str]) -> Vec<u64> {
    let events = kinds.iter().map(|k| (k.to_string(), json!({}))).collect();
    let ((), stamped) = journal.commit("host", events, |_| Ok(())).unwrap();
    stamped.iter().map(|e| e.event.id).collect()
}

#[test]
fn ids_go_on_across_a_reopen_even_when_the_log_was_trimmed_empty() {
    let dir = tempfile::tempdir().unwrap();
    {
        let journal = open(&dir);
        assert_eq!(log(&journal, &["a", "b"]), [1, 2]);
        journal
            .store()
            .write(|txn| Journal::trim_in(txn, 2))
            .unwrap();
        assert_eq!(journal.on_file().unwrap(), 0);
    }
    let journal = open(&dir);
    assert_eq!(journal.head(), 0, "nothing on file");
    assert_eq!(log(&journal, &["c"]), [3], "no id is handed out twice");
}

#[test]
fn the_write_and_its_events_commit_together() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open(&dir);
    let table: TableDefinition<&str, u64> = TableDefinition::new("t");
    let failed = journal.commit("host", vec![("x".into(), json!({}))], |txn| {
        txn.open_table(table)?.insert("k", 1)?;
        Err::<(), _>(redb::Error::Corrupted("refused".into()))
    });
    assert!(failed.is_err());
    assert_eq!(journal.on_file().unwrap(), 0, "no event without its change");
    assert_eq!(journal.head(), 0);
    assert!(journal.read_after(0, 10).unwrap().is_empty());
}

#[test]
fn readers_get_the_same_events_from_memory_and_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let ids = {
        let journal = open(&dir);
        let ids = log(&journal, &["a", "b", "c"]);
        let from_memory = journal.read_after(1, 10).unwrap();
        assert_eq!(
            from_memory.iter().map(|e| e.id).collect::<Vec<_>>(),
            &ids[1..]
        );
        ids
    };
    // After a reopen the tail is empty: the same events come from the file.
    let journal = open(&dir);
    let from_file = journal.read_after(1, 10).unwrap();
    assert_eq!(
        from_file.iter().map(|e| e.id).collect::<Vec<_>>(),
        &ids[1..]
    );
    let event: Event = serde_json::from_str(&from_file[0].json).unwrap();
    assert_eq!((event.id, event.kind.as_str()), (ids[1], "b"));
    assert_eq!(&*from_file[0].source, "host");
    assert_eq!(journal.read_after(0, 2).unwrap().len(), 2, "limited");
    // New events after the reopen come from memory, older ones still from the file.
    let d = log(&journal, &["d"]);
    let all = journal.read_after(0, 10).unwrap();
    assert_eq!(
        all.iter().map(|e| e.id).collect::<Vec<_>>(),
        [ids.clone(), d].concat()
    );
}

#[test]
fn watcher_ids_leave_gaps_that_readers_pass_over() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open(&dir);
    let a = log(&journal, &["a"])[0];
    let watcher_only = journal.sequence().fetch_add(1, Ordering::SeqCst);
    let b = log(&journal, &["b"])[0];
    assert!(a < watcher_only && watcher_only < b);
    let ids: Vec<u64> = journal
        .read_after(0, 10)
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, [a, b]);
    assert_eq!(journal.count_between(0, b).unwrap(), 2);
}

#[test]
fn the_tail_in_memory_is_bounded_by_bytes_and_older_events_come_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open(&dir);
    let big = "x".repeat(10_000);
    let mut ids = Vec::new();
    for _ in 0..300 {
        let events = vec![("big".to_string(), json!({ "text": big }))];
        let ((), stamped) = journal.commit("host", events, |_| Ok(())).unwrap();
        ids.push(stamped[0].event.id);
        let tail = journal.tail.read().unwrap();
        assert!(tail.bytes <= TAIL_BYTES, "{} bytes in memory", tail.bytes);
        assert_eq!(
            tail.bytes,
            tail.events.iter().map(|e| e.json.len()).sum::<usize>()
        );
    }
    // Events of about 10 kB: as many as fit in the bound, and not all.
    let kept = journal.tail.read().unwrap().events.len();
    let fit = TAIL_BYTES / 10_050;
    assert!(
        kept >= fit - 1 && kept <= fit + 1 && kept < 300,
        "{kept} of 300 in memory"
    );
    let all = journal.read_after(0, 1_000).unwrap();
    assert_eq!(all.iter().map(|e| e.id).collect::<Vec<_>>(), ids);
}
