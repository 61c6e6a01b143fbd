//! The store against real queue state machines: what goes in comes back after a reopen.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use sandbox_services::queue::{Queue, QueueConfig, Queues, SendRequest};

use super::*;
use crate::Committer;

fn restore(store: &Store) -> Queues {
    let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let queues = store
        .load_queues()
        .unwrap()
        .into_iter()
        .map(|l| {
            let q = Queue::restore(l.entry.config, l.head, l.messages, l.dedup, now).unwrap();
            (q, l.entry.meta)
        })
        .collect();
    Queues::restored(queues)
}

fn delta(queues: &mut Queues, catalog: bool) -> Delta {
    Delta {
        catalog: catalog.then(|| queues.catalog()),
        queues: queues.take_changes(),
        ..Delta::default()
    }
}

#[test]
fn queues_and_messages_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let mut queues =
        Queues::new(vec![QueueConfig::new("jobs"), QueueConfig::new("other")]).unwrap();
    queues.start_journal();
    {
        let store = Store::open(dir.path()).unwrap();
        store.write(&[delta(&mut queues, true)]).unwrap();
        for i in 0..5 {
            queues
                .send("jobs", SendRequest::new(format!("m{i}")), now)
                .unwrap();
        }
        let got = queues.receive("jobs", 2, now).unwrap();
        queues
            .delete("jobs", &got.messages[0].receipt_handle)
            .unwrap();
        store.write(&[delta(&mut queues, false)]).unwrap();
        // A queue removed from the catalog goes with its messages.
        queues.send("other", SendRequest::new("x"), now).unwrap();
        let d1 = delta(&mut queues, false);
        queues.delete_queue("other").unwrap();
        let d2 = delta(&mut queues, true);
        store.write(&[d1, d2]).unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    let back = restore(&store);
    assert_eq!(back.names(), ["jobs"]);
    assert_eq!(
        back.peek("jobs", now).unwrap(),
        queues.peek("jobs", now).unwrap()
    );
    assert_eq!(back.peek("jobs", now).unwrap().len(), 4);
}

#[test]
fn a_second_sandbox_on_the_same_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _first = Store::open(dir.path()).unwrap();
    let second = Store::open(dir.path());
    assert!(
        matches!(second, Err(StoreError::Open { .. })),
        "{:?}",
        second.err()
    );
    // The message names the file and says how to fix it.
    let text = second.err().unwrap().to_string();
    assert!(text.contains("sandbox.redb"), "{text}");
    assert!(
        text.contains("another sandbox is using this --state directory"),
        "{text}"
    );
}

#[test]
fn group_commit_writes_every_sender_s_change_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let committer = Arc::new(Committer::start(store.clone()));
    let queues = Arc::new(std::sync::Mutex::new(
        Queues::new(vec![QueueConfig::new("jobs")]).unwrap(),
    ));
    {
        let mut q = queues.lock().unwrap();
        q.start_journal();
        let t = committer.submit(delta(&mut q, true));
        drop(q);
        committer.wait(t).unwrap();
    }
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (queues, committer) = (queues.clone(), committer.clone());
            std::thread::spawn(move || {
                for i in 0..50 {
                    let ticket = {
                        let mut q = queues.lock().unwrap();
                        q.send("jobs", SendRequest::new(format!("{t}-{i}")), now)
                            .unwrap();
                        committer.submit(delta(&mut q, false))
                    };
                    committer.wait(ticket).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    drop(committer);
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(restore(&store).peek("jobs", now).unwrap().len(), 400);
}

#[test]
fn the_manual_clock_position_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let at = Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.clock().unwrap(), None);
        store.save_clock(at).unwrap();
    }
    assert_eq!(Store::open(dir.path()).unwrap().clock().unwrap(), Some(at));
}

#[test]
fn streams_records_cursors_and_schedules_survive_a_reopen() {
    use sandbox_services::schedule::StoredSchedule;
    use sandbox_services::stream::{ConsumerConfig, Stream, StreamConfig, Streams};

    let dir = tempfile::tempdir().unwrap();
    let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let mut config = StreamConfig::new("events");
    config.shards = 2;
    config.consumers = vec![ConsumerConfig::new("echo")];
    let mut streams = Streams::new(vec![config.clone()]).unwrap();
    streams.insert(Stream::new(StreamConfig::new("gone")).unwrap());
    streams.start_journal();
    let declared = |name: &str| name == "events";
    let stream_delta = |streams: &mut Streams, catalog: bool| Delta {
        streams: crate::StreamsDelta {
            catalog: catalog.then(|| streams.catalog(declared)),
            streams: streams.take_changes(),
        },
        ..Delta::default()
    };
    let schedule = StoredSchedule {
        expression: "rate(1 hour)".into(),
        timezone: None,
        anchor: now,
        last_fire: Some(now),
    };
    {
        let store = Store::open(dir.path()).unwrap();
        let mut first = stream_delta(&mut streams, true);
        // Written whole the first time (the journal started on a stored copy elsewhere).
        first.streams.streams = streams
            .names()
            .into_iter()
            .map(|n| (n.clone(), streams.get(&n).unwrap().image()))
            .collect();
        store.write(&[first]).unwrap();
        for i in 0..4u8 {
            streams
                .put("events", format!("k{i}"), vec![i], None, now)
                .unwrap();
        }
        streams.put("gone", "k", vec![9], None, now).unwrap();
        let ready = streams.next_batches(now);
        for batch in ready.batches {
            streams
                .complete(
                    &batch.stream,
                    batch.id,
                    sandbox_services::stream::Outcome::Success,
                    now,
                )
                .unwrap();
        }
        let d1 = stream_delta(&mut streams, false);
        streams.remove("gone");
        let mut d2 = stream_delta(&mut streams, true);
        d2.schedules = Some([("hourly".to_string(), schedule.clone())].into());
        store.write(&[d1, d2]).unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    let loaded = store.load_streams().unwrap();
    assert_eq!(loaded.len(), 1, "a stream gone from the catalog goes");
    let l = loaded.into_iter().next().unwrap();
    assert!(l.entry.declared);
    assert_eq!(l.records.len(), 4);
    let back =
        Stream::restore(l.entry.config, l.entry.meta, l.head, l.records, l.consumers).unwrap();
    let was = streams.get("events").unwrap();
    assert_eq!(back.describe(now), was.describe(now));
    assert_eq!(back.lag("echo").unwrap(), 0, "the checkpoints came back");
    assert_eq!(store.load_schedules().unwrap()["hourly"], schedule);
}

#[test]
fn a_damaged_file_is_refused_naming_it_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let mut queues = Queues::new(vec![QueueConfig::new("jobs")]).unwrap();
    queues.start_journal();
    {
        let store = Store::open(dir.path()).unwrap();
        store.write(&[delta(&mut queues, true)]).unwrap();
        for i in 0..50 {
            queues
                .send("jobs", SendRequest::new(format!("m{i}")), now)
                .unwrap();
        }
        store.write(&[delta(&mut queues, false)]).unwrap();
    }
    let file = dir.path().join(FILE);
    let named = file.display().to_string();
    let good = std::fs::read(&file).unwrap();
    let refused = |bytes: &[u8]| {
        std::fs::write(&file, bytes).unwrap();
        let error = Store::open(dir.path())
            .err()
            .expect("a damaged file is refused")
            .to_string();
        assert!(
            error.contains(&named) && error.contains("move it aside"),
            "{error}"
        );
    };
    // Cut short (a full disk, a copy that stopped), at several lengths.
    for len in [100, 4096, good.len() / 2] {
        refused(&good[..len]);
    }
    // Overwritten at the start: not a store at all.
    let mut overwritten = good.clone();
    overwritten[..16].fill(0x5a);
    refused(&overwritten);
    // A row that does not decode opens, and is refused when it is read at start.
    std::fs::write(&file, &good).unwrap();
    let store = Store::open(dir.path()).unwrap();
    let tx = store.db.begin_write().unwrap();
    tx.open_table(TableDefinition::<&str, &[u8]>::new("queue_heads"))
        .unwrap()
        .insert("jobs", b"{not json".as_slice())
        .unwrap();
    tx.commit().unwrap();
    let error = store.load_queues().unwrap_err().to_string();
    assert!(
        error.contains(&named)
            && error.contains("a stored queue head does not read back")
            && error.contains("move it aside"),
        "{error}"
    );
}
