//! End to end: a remote stream read from a scripted Kinesis stand-in: resharding (split
//! and merge, before the consumer began and while it reads, across a restart), the
//! batching window, moves to and after a sequence number, and a move during a batch.
//! The sandbox's own Kinesis API (which tests/remote.rs uses to play AWS) has no
//! SplitShard or MergeShards, so it cannot show a stream after resharding, nor say which
//! calls the consumer made; this stand-in can. It is a plain HTTP/1.1
//! server on loopback speaking the AWS JSON 1.1 protocol of the calls a remote stream's
//! consumer makes (ListShards, GetShardIterator, GetRecords), over shards the test
//! scripts: a closed parent (its sequence range ended; GetRecords at its end answers no
//! next iterator and names its children) and the children it was split into. The app
//! (`fixtures/apps/remote-reshard`, copied so its `endpoint` can name the stand-in's
//! port) reaches it with the official SDK and dummy credentials, as it reaches AWS.

use crate::common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use sandbox_testing::Sandbox;
use serde_json::{json, Value};

const ARN: &str = "arn:aws:kinesis:us-east-1:123456789012:stream/ticks";
const PARENT: &str = "shardId-000000000000";
const LEFT: &str = "shardId-000000000001";
const RIGHT: &str = "shardId-000000000002";

/// One scripted shard.
struct FakeShard {
    id: String,
    parent: Option<String>,
    /// The other parent of a shard made by merging two.
    adjacent: Option<String>,
    /// `(sequence number, data, arrival in epoch seconds)`.
    records: Vec<(String, String, f64)>,
    /// Closed by resharding: no records after these; its children.
    closed: Option<Vec<String>>,
}

#[derive(Default)]
struct State {
    shards: Vec<FakeShard>,
    /// Every call, one line each: `GetShardIterator <shard> <type>`,
    /// `GetRecords <shard> <count>[ end]` (`end`: no next iterator).
    calls: Vec<String>,
}

/// The Kinesis stand-in: its state and its address.
struct Kinesis {
    state: Arc<Mutex<State>>,
    url: String,
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

impl Kinesis {
    fn start(shards: Vec<FakeShard>) -> Kinesis {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            shards,
            calls: Vec::new(),
        }));
        let shared = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let state = shared.clone();
                std::thread::spawn(move || serve(conn, &state));
            }
        });
        Kinesis { state, url }
    }

    /// Appends a record to an open shard; its sequence number.
    fn put(&self, shard: &str, data: &str) -> String {
        let mut state = self.state.lock().unwrap();
        let index = state.shards.iter().position(|s| s.id == shard).unwrap();
        let s = &mut state.shards[index];
        assert!(s.closed.is_none(), "{shard} is closed");
        let seq = sequence(index, s.records.len());
        s.records.push((seq.clone(), data.to_string(), now()));
        seq
    }

    /// Splits open shard `parent` in two, as SplitShard does: it is closed, and two new
    /// shards name it their parent. Their ids.
    fn split(&self, parent: &str) -> [String; 2] {
        let mut state = self.state.lock().unwrap();
        let first = state.shards.len();
        let ids = [first, first + 1].map(|i| format!("shardId-{i:012}"));
        let s = state.shards.iter_mut().find(|s| s.id == parent).unwrap();
        assert!(s.closed.is_none(), "{parent} is closed");
        s.closed = Some(ids.to_vec());
        for i in [first, first + 1] {
            state.shards.push(shard(i, Some(parent), &[], None));
        }
        ids
    }

    fn calls(&self) -> Vec<String> {
        self.state.lock().unwrap().calls.clone()
    }

    /// Waits (bounded) until a call line starting with `prefix` was made after the first
    /// `after` calls; the number of calls by then.
    fn await_call(&self, after: usize, prefix: &str) -> usize {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let calls = self.calls();
            if calls[after.min(calls.len())..]
                .iter()
                .any(|c| c.starts_with(prefix))
            {
                return calls.len();
            }
            assert!(Instant::now() < deadline, "no `{prefix}` call: {calls:#?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Kinesis-looking sequence numbers, increasing within a shard and unique across them.
fn sequence(shard: usize, n: usize) -> String {
    format!("4959{shard:04}{n:08}")
}

fn shard(
    index: usize,
    parent: Option<&str>,
    data: &[&str],
    children: Option<&[&str]>,
) -> FakeShard {
    FakeShard {
        id: format!("shardId-{index:012}"),
        parent: parent.map(str::to_string),
        adjacent: None,
        records: data
            .iter()
            .enumerate()
            .map(|(n, d)| (sequence(index, n), d.to_string(), now()))
            .collect(),
        closed: children.map(|c| c.iter().map(|s| s.to_string()).collect()),
    }
}

/// One connection: HTTP/1.1 requests, kept alive, answered in order.
fn serve(conn: TcpStream, state: &Mutex<State>) {
    let mut writer = conn.try_clone().unwrap();
    let mut reader = BufReader::new(conn);
    loop {
        let mut target = String::new();
        let mut length = 0;
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                match name.trim().to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap_or(0),
                    "x-amz-target" => target = value.trim().to_string(),
                    _ => {}
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let input: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let operation = target.rsplit('.').next().unwrap_or("").to_string();
        let (status, answer) = match call(&mut state.lock().unwrap(), &operation, &input) {
            Ok(answer) => ("200 OK", answer),
            Err((kind, message)) => (
                "400 Bad Request",
                json!({"__type": kind, "message": message}),
            ),
        };
        let answer = answer.to_string();
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-RequestId: test\r\nContent-Length: {}\r\n\r\n{answer}",
            answer.len()
        );
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

type Answer = Result<Value, (&'static str, String)>;

fn call(state: &mut State, operation: &str, input: &Value) -> Answer {
    let invalid = |m: String| ("InvalidArgumentException", m);
    match operation {
        "ListShards" => {
            let shards: Vec<Value> = state
                .shards
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let mut range = json!({"StartingSequenceNumber": sequence(i, 0)});
                    if s.closed.is_some() {
                        range["EndingSequenceNumber"] =
                            json!(s.records.last().map_or(sequence(i, 0), |r| r.0.clone()));
                    }
                    let mut shard = json!({
                        "ShardId": s.id,
                        "HashKeyRange": {"StartingHashKey": "0", "EndingHashKey": "340282366920938463463374607431768211455"},
                        "SequenceNumberRange": range,
                    });
                    if let Some(parent) = &s.parent {
                        shard["ParentShardId"] = json!(parent);
                    }
                    if let Some(adjacent) = &s.adjacent {
                        shard["AdjacentParentShardId"] = json!(adjacent);
                    }
                    shard
                })
                .collect();
            state.calls.push("ListShards".into());
            Ok(json!({"Shards": shards}))
        }
        "GetShardIterator" => {
            let id = input["ShardId"].as_str().unwrap_or("");
            let kind = input["ShardIteratorType"].as_str().unwrap_or("");
            let shard = state
                .shards
                .iter()
                .find(|s| s.id == id)
                .ok_or(("ResourceNotFoundException", format!("no shard {id}")))?;
            let find = |seq: &str| {
                shard
                    .records
                    .iter()
                    .position(|r| r.0 == seq)
                    .ok_or_else(|| {
                        invalid(format!(
                            "Invalid StartingSequenceNumber {seq}: not in shard {id}"
                        ))
                    })
            };
            let seq = input["StartingSequenceNumber"].as_str().unwrap_or("");
            let at = match kind {
                "TRIM_HORIZON" | "AT_TIMESTAMP" => 0,
                "LATEST" => shard.records.len(),
                "AT_SEQUENCE_NUMBER" => find(seq)?,
                "AFTER_SEQUENCE_NUMBER" => find(seq)? + 1,
                other => return Err(invalid(format!("iterator type {other}"))),
            };
            let line = match kind {
                "AT_SEQUENCE_NUMBER" | "AFTER_SEQUENCE_NUMBER" => {
                    format!("GetShardIterator {id} {kind} {seq}")
                }
                _ => format!("GetShardIterator {id} {kind}"),
            };
            state.calls.push(line);
            Ok(json!({"ShardIterator": format!("{id}/{at}")}))
        }
        "GetRecords" => {
            let iterator = input["ShardIterator"].as_str().unwrap_or("");
            let limit = input["Limit"].as_u64().unwrap_or(10_000) as usize;
            let (id, at) = iterator
                .split_once('/')
                .ok_or_else(|| invalid(format!("bad iterator {iterator}")))?;
            let at: usize = at.parse().map_err(|_| invalid(iterator.into()))?;
            let shard = state.shards.iter().find(|s| s.id == id).unwrap();
            let records: Vec<Value> = shard
                .records
                .iter()
                .skip(at)
                .take(limit)
                .map(|(seq, data, arrival)| {
                    json!({
                        "SequenceNumber": seq,
                        "ApproximateArrivalTimestamp": arrival,
                        "Data": base64::engine::general_purpose::STANDARD.encode(data),
                        "PartitionKey": "k",
                    })
                })
                .collect();
            let next = at + records.len();
            let mut answer = json!({"Records": records, "MillisBehindLatest": 0});
            let end = match &shard.closed {
                Some(children) if next >= shard.records.len() && records.is_empty() => {
                    answer["ChildShards"] = json!(children
                        .iter()
                        .map(|c| json!({
                            "ShardId": c,
                            "ParentShards": [id],
                            "HashKeyRange": {"StartingHashKey": "0", "EndingHashKey": "1"},
                        }))
                        .collect::<Vec<_>>());
                    true
                }
                _ => {
                    answer["NextShardIterator"] = json!(format!("{id}/{next}"));
                    false
                }
            };
            state.calls.push(format!(
                "GetRecords {id} {}{}",
                records.len(),
                if end { " end" } else { "" }
            ));
            Ok(answer)
        }
        other => Err((
            "UnknownOperationException",
            format!("{other} is not scripted"),
        )),
    }
}

/// The fixture copied to a temporary directory, its stream pointed at `kinesis` and its
/// consumer given `settings` (indented property lines).
fn app(kinesis: &Kinesis, settings: &str) -> (Sandbox, tempfile::TempDir) {
    app_with(kinesis, settings, None)
}

/// [`app`], with `--state` when given.
fn app_with(
    kinesis: &Kinesis,
    settings: &str,
    state: Option<&std::path::Path>,
) -> (Sandbox, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let fixture = common::fixture("remote-reshard");
    let handler = "src/streams/ticks/log";
    std::fs::create_dir_all(dir.path().join(handler)).unwrap();
    std::fs::copy(
        fixture.join(handler).join("index.js"),
        dir.path().join(handler).join("index.js"),
    )
    .unwrap();
    let arc = format!(
        "@app\nremote-reshard\n\n@streams\nticks\n  remote {ARN}\n  endpoint {}\n  consumers log\n{settings}",
        kinesis.url
    );
    std::fs::write(dir.path().join("app.arc"), arc).unwrap();
    let mut builder = Sandbox::builder(dir.path()).bin(env!("CARGO_BIN_EXE_sandbox"));
    if let Some(state) = state {
        builder = builder.state(state);
    }
    let sandbox = builder
        .arg("--cache-dir")
        .arg(common::shared_cache())
        .env("AWS_ACCESS_KEY_ID", "AKIDRESHARDTEST")
        .env("AWS_SECRET_ACCESS_KEY", "reshard-test-secret")
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .start()
        .unwrap();
    (sandbox, dir)
}

/// The handler's `tick …` lines: `(data, shard, batch size)`, in order.
fn ticks(app: &Sandbox) -> Vec<(String, String, usize)> {
    app.output()
        .lines()
        .filter_map(|l| {
            let words: Vec<&str> = l[l.find("tick ")?..].split(' ').collect();
            match words.as_slice() {
                ["tick", data, "shard", shard, "batch", n, ..] => {
                    Some((data.to_string(), shard.to_string(), n.parse().ok()?))
                }
                _ => None,
            }
        })
        .collect()
}

/// Waits (bounded) until the handler logged `data`.
fn await_tick(app: &Sandbox, data: &str) -> Vec<(String, String, usize)> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ticks = ticks(app);
        if ticks.iter().any(|t| t.0 == data) {
            return ticks;
        }
        assert!(
            Instant::now() < deadline,
            "tick {data} never came:\n{}",
            app.output()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The consumer's view: shard id → `(checkpoint, finished)`.
fn checkpoints(app: &Sandbox) -> HashMap<String, (Value, bool)> {
    let view = app
        .get("/_sandbox/streams/ticks/consumers/log")
        .unwrap()
        .ok_json()
        .unwrap();
    view["shards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["shardId"].as_str().unwrap().to_string(),
                (s["checkpoint"].clone(), s["finished"] == true),
            )
        })
        .collect()
}

/// Waits (bounded) until `check` holds for the consumer's checkpoints.
fn await_checkpoints(app: &Sandbox, check: impl Fn(&HashMap<String, (Value, bool)>) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = checkpoints(app);
        if check(&now) {
            return;
        }
        assert!(Instant::now() < deadline, "{now:#?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn data(ticks: &[(String, String, usize)], shard: &str) -> Vec<String> {
    ticks
        .iter()
        .filter(|t| t.1 == shard)
        .map(|t| t.0.clone())
        .collect()
}

#[test]
fn a_resharded_remote_stream_is_read_parent_first_then_children_in_order() {
    // Shard 0 was split into 1 and 2; each child already holds records.
    let kinesis = Kinesis::start(vec![
        shard(
            0,
            None,
            &["p0", "p1", "p2", "p3", "p4"],
            Some(&[LEFT, RIGHT]),
        ),
        shard(1, Some(PARENT), &["l0", "l1", "l2"], None),
        shard(2, Some(PARENT), &["r0", "r1", "r2"], None),
    ]);
    let (app, _dir) = app(&kinesis, "  startingPosition TRIM_HORIZON\n  batchSize 2\n");
    await_tick(&app, "l2");
    let ticks = await_tick(&app, "r2");
    let order: Vec<&str> = ticks.iter().map(|t| t.0.as_str()).collect();
    // Every parent record before any child record, each shard in order.
    let first_child = order.iter().position(|d| !d.starts_with('p')).unwrap();
    assert_eq!(
        &order[..first_child],
        ["p0", "p1", "p2", "p3", "p4"],
        "{order:?}"
    );
    assert_eq!(data(&ticks, PARENT), ["p0", "p1", "p2", "p3", "p4"]);
    assert_eq!(data(&ticks, LEFT), ["l0", "l1", "l2"], "{order:?}");
    assert_eq!(data(&ticks, RIGHT), ["r0", "r1", "r2"], "{order:?}");
    assert_eq!(order.len(), 11, "each record once: {order:?}");
    // No child was asked for an iterator before the parent was read to its end, and the
    // children were read from their start.
    let calls = kinesis.calls();
    let end = calls
        .iter()
        .position(|c| c == &format!("GetRecords {PARENT} 0 end"))
        .unwrap_or_else(|| panic!("{calls:#?}"));
    let child_call = |c: &String| c.contains(LEFT) || c.contains(RIGHT);
    assert!(!calls[..end].iter().any(child_call), "{calls:#?}");
    for child in [LEFT, RIGHT] {
        let asked: Vec<&String> = calls
            .iter()
            .filter(|c| c.starts_with(&format!("GetShardIterator {child}")))
            .collect();
        assert_eq!(
            asked,
            [&format!("GetShardIterator {child} TRIM_HORIZON")],
            "{calls:#?}"
        );
    }
    // Checkpoints: the parent finished at its last record, each child at its last.
    await_checkpoints(&app, |c| {
        c.get(PARENT) == Some(&(json!(sequence(0, 4)), true))
            && c.get(LEFT) == Some(&(json!(sequence(1, 2)), false))
            && c.get(RIGHT) == Some(&(json!(sequence(2, 2)), false))
    });
    // New records in a child are read on from its checkpoint; the parent is not read again.
    let parent_reads = calls.iter().filter(|c| c.contains(PARENT)).count();
    let seq = kinesis.put(LEFT, "l3");
    let ticks = await_tick(&app, "l3");
    assert_eq!(data(&ticks, LEFT), ["l0", "l1", "l2", "l3"]);
    await_checkpoints(&app, |c| c.get(LEFT) == Some(&(json!(seq), false)));
    let calls = kinesis.calls();
    assert_eq!(
        calls.iter().filter(|c| c.contains(PARENT)).count(),
        parent_reads,
        "{calls:#?}"
    );
}

#[test]
fn a_remote_consumer_gathers_records_for_its_batch_window() {
    let only = "shardId-000000000000";
    let kinesis = Kinesis::start(vec![shard(0, None, &[], None)]);
    let (app, _dir) = app(
        &kinesis,
        "  startingPosition TRIM_HORIZON\n  batchSize 10\n  batchWindow 5\n",
    );
    // Each record is put once the consumer has read the one before: without the window
    // each would be a batch of its own.
    let mut seen = kinesis.await_call(0, &format!("GetRecords {only} 0"));
    let first = Instant::now();
    for d in ["w0", "w1", "w2"] {
        kinesis.put(only, d);
        seen = kinesis.await_call(seen, &format!("GetRecords {only} 1"));
    }
    let ticks = await_tick(&app, "w2");
    let waited = first.elapsed();
    assert_eq!(
        ticks,
        ["w0", "w1", "w2"].map(|d| (d.to_string(), only.to_string(), 3)),
        "{}",
        app.output()
    );
    assert!(waited >= Duration::from_millis(4500), "{waited:?}");
}

#[test]
fn a_full_remote_batch_goes_without_waiting_for_its_window() {
    let only = "shardId-000000000000";
    let kinesis = Kinesis::start(vec![shard(0, None, &[], None)]);
    // A window far longer than the bound below, so the bound holds on a loaded machine
    // and still fails if a full batch waited for its window.
    let (app, _dir) = app(
        &kinesis,
        "  startingPosition TRIM_HORIZON\n  batchSize 10\n  batchWindow 120\n",
    );
    kinesis.await_call(0, &format!("GetRecords {only} 0"));
    let full = Instant::now();
    for i in 0..10 {
        kinesis.put(only, &format!("f{i}"));
    }
    let ticks = await_tick(&app, "f9");
    assert!(
        full.elapsed() < Duration::from_secs(60),
        "{:?}",
        full.elapsed()
    );
    assert!(ticks.iter().all(|t| t.2 == 10), "{ticks:?}");
}

/// Moves the consumer; the answer.
fn move_to(app: &Sandbox, position: Value) -> sandbox_testing::Response {
    app.post_json("/_sandbox/streams/ticks/consumers/log/position", &position)
        .unwrap()
}

/// Waits (bounded) until the handler has logged `data` `times` times.
fn await_times(app: &Sandbox, data: &str, times: usize) -> Vec<(String, String, usize)> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ticks = ticks(app);
        if ticks.iter().filter(|t| t.0 == data).count() >= times {
            return ticks;
        }
        assert!(
            Instant::now() < deadline,
            "tick {data} never came {times} times:\n{}",
            app.output()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_remote_consumer_moves_to_and_after_a_sequence_number_in_its_shard() {
    let (first, second) = ("shardId-000000000000", "shardId-000000000001");
    let kinesis = Kinesis::start(vec![
        shard(0, None, &["s0", "s1", "s2", "s3"], None),
        shard(1, None, &["t0", "t1", "t2"], None),
    ]);
    let (app, _dir) = app(
        &kinesis,
        "  startingPosition TRIM_HORIZON\n  batchSize 10\n",
    );
    await_tick(&app, "s3");
    await_tick(&app, "t2");
    await_checkpoints(&app, |c| {
        c.get(first) == Some(&(json!(sequence(0, 3)), false))
            && c.get(second) == Some(&(json!(sequence(1, 2)), false))
    });
    let count = |ticks: &[(String, String, usize)], data: &str| {
        ticks.iter().filter(|t| t.0 == data).count()
    };
    // AT_SEQUENCE_NUMBER: the shard holding it is read again from that record; the other
    // shard stays where it was.
    let moved = move_to(
        &app,
        json!({"position": "AT_SEQUENCE_NUMBER", "sequenceNumber": sequence(0, 1)}),
    );
    assert_eq!(moved.status, 200, "{}", moved.text());
    let ticks = await_times(&app, "s3", 2);
    assert_eq!(
        ["s0", "s1", "s2", "s3"].map(|d| count(&ticks, d)),
        [1, 2, 2, 2],
        "{ticks:?}"
    );
    assert!(
        kinesis.calls().contains(&format!(
            "GetShardIterator {first} AT_SEQUENCE_NUMBER {}",
            sequence(0, 1)
        )),
        "{:#?}",
        kinesis.calls()
    );
    await_checkpoints(&app, |c| {
        c.get(first) == Some(&(json!(sequence(0, 3)), false))
    });
    // AFTER_SEQUENCE_NUMBER: from the record after it.
    let moved = move_to(
        &app,
        json!({"position": "AFTER_SEQUENCE_NUMBER", "sequenceNumber": sequence(1, 0)}),
    );
    assert_eq!(moved.status, 200, "{}", moved.text());
    let ticks = await_times(&app, "t2", 2);
    assert_eq!(
        ["t0", "t1", "t2"].map(|d| count(&ticks, d)),
        [1, 2, 2],
        "{ticks:?}"
    );
    await_checkpoints(&app, |c| {
        c.get(first) == Some(&(json!(sequence(0, 3)), false))
            && c.get(second) == Some(&(json!(sequence(1, 2)), false))
    });
    // A sequence number no shard holds is refused, and nothing moves.
    let refused = move_to(
        &app,
        json!({"position": "AT_SEQUENCE_NUMBER", "sequenceNumber": "49599999000000"}),
    );
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert!(refused.text().contains("no shard"), "{}", refused.text());
    let missing = move_to(&app, json!({"position": "AFTER_SEQUENCE_NUMBER"}));
    assert_eq!(missing.status, 400, "{}", missing.text());
    let now = checkpoints(&app);
    assert_eq!(
        now.get(first),
        Some(&(json!(sequence(0, 3)), false)),
        "{now:#?}"
    );
}

#[test]
fn a_shard_split_while_it_is_read_is_followed_into_its_children_from_their_start() {
    let only = "shardId-000000000000";
    let kinesis = Kinesis::start(vec![shard(0, None, &[], None)]);
    let (app, _dir) = app(&kinesis, "  startingPosition LATEST\n  batchSize 10\n");
    let seen = kinesis.await_call(0, &format!("GetRecords {only} 0"));
    // Split while the consumer reads the shard at its tip, and written to at once: the
    // children's first records came after everything the consumer read, so they are
    // read from the children's start although the consumer started at LATEST.
    let [left, right] = kinesis.split(only);
    kinesis.put(&left, "l0");
    kinesis.put(&right, "r0");
    kinesis.await_call(seen, &format!("GetRecords {only} 0 end"));
    let ticks = await_tick(&app, "l0");
    let ticks = if ticks.iter().any(|t| t.0 == "r0") {
        ticks
    } else {
        await_tick(&app, "r0")
    };
    assert_eq!(ticks.len(), 2, "{ticks:?}");
    let calls = kinesis.calls();
    for child in [&left, &right] {
        assert!(
            calls.contains(&format!("GetShardIterator {child} TRIM_HORIZON")),
            "{calls:#?}"
        );
    }
    await_checkpoints(&app, |c| {
        c.get(only) == Some(&(Value::Null, true))
            && c.get(&left) == Some(&(json!(sequence(1, 0)), false))
            && c.get(&right) == Some(&(json!(sequence(2, 0)), false))
    });
}

#[test]
fn latest_on_a_stream_resharded_before_the_consumer_began_starts_at_the_childrens_tips() {
    let kinesis = Kinesis::start(vec![
        shard(0, None, &["p0", "p1"], Some(&[LEFT, RIGHT])),
        shard(1, Some(PARENT), &["l0", "l1"], None),
        shard(2, Some(PARENT), &["r0"], None),
    ]);
    let (app, _dir) = app(&kinesis, "  startingPosition LATEST\n  batchSize 10\n");
    // The parent's tip is its end; then each child is read from its tip, not replayed.
    let mut seen = 0;
    for child in [LEFT, RIGHT] {
        seen = seen.max(kinesis.await_call(0, &format!("GetRecords {child} 0")));
    }
    let calls = kinesis.calls();
    for child in [LEFT, RIGHT] {
        assert!(
            calls.contains(&format!("GetShardIterator {child} LATEST")),
            "{calls:#?}"
        );
    }
    kinesis.put(LEFT, "l2");
    let ticks = await_tick(&app, "l2");
    assert_eq!(
        ticks,
        [("l2".to_string(), LEFT.to_string(), 1)],
        "{}",
        app.output()
    );
    assert!(seen > 0);
}

#[test]
fn a_merged_shard_waits_for_both_its_parents() {
    // Shards 0 and 1 were merged into 2; shard 1 has more to read than shard 0.
    let merged = "shardId-000000000002";
    let mut child = shard(2, Some(PARENT), &["m0", "m1"], None);
    child.adjacent = Some(LEFT.to_string());
    let kinesis = Kinesis::start(vec![
        shard(0, None, &["a0", "a1"], Some(&[merged])),
        shard(1, None, &["b0", "b1", "b2", "b3", "b4"], Some(&[merged])),
        child,
    ]);
    let (app, _dir) = app(&kinesis, "  startingPosition TRIM_HORIZON\n  batchSize 1\n");
    let ticks = await_tick(&app, "m1");
    let order: Vec<&str> = ticks.iter().map(|t| t.0.as_str()).collect();
    let first_merged = order.iter().position(|d| d.starts_with('m')).unwrap();
    let mut parents = order[..first_merged].to_vec();
    parents.sort();
    assert_eq!(
        parents,
        ["a0", "a1", "b0", "b1", "b2", "b3", "b4"],
        "{order:?}"
    );
    assert_eq!(&order[first_merged..], ["m0", "m1"], "{order:?}");
}

#[test]
fn a_finished_parent_stays_finished_across_a_restart_with_state() {
    let kinesis = Kinesis::start(vec![
        shard(0, None, &["p0", "p1"], Some(&[LEFT])),
        shard(1, Some(PARENT), &["l0"], None),
    ]);
    let state = tempfile::tempdir().unwrap();
    let settings = "  startingPosition TRIM_HORIZON\n  batchSize 10\n";
    let (mut first, _dir) = app_with(&kinesis, settings, Some(state.path()));
    await_tick(&first, "l0");
    await_checkpoints(&first, |c| {
        c.get(PARENT) == Some(&(json!(sequence(0, 1)), true))
            && c.get(LEFT) == Some(&(json!(sequence(1, 0)), false))
    });
    first.kill().unwrap();
    let before = kinesis.calls().len();
    kinesis.put(LEFT, "l1");
    let (second, _dir) = app_with(&kinesis, settings, Some(state.path()));
    let ticks = await_tick(&second, "l1");
    assert_eq!(ticks.len(), 1, "{ticks:?}");
    let calls = kinesis.calls();
    assert!(
        !calls[before..].iter().any(|c| c.contains(PARENT)),
        "{:#?}",
        &calls[before..]
    );
    assert!(
        calls[before..].contains(&format!(
            "GetShardIterator {LEFT} AFTER_SEQUENCE_NUMBER {}",
            sequence(1, 0)
        )),
        "{:#?}",
        &calls[before..]
    );
}

#[test]
fn a_batch_running_when_the_consumer_moves_checkpoints_nothing() {
    let only = "shardId-000000000000";
    let kinesis = Kinesis::start(vec![shard(0, None, &["slow0", "x1", "x2"], None)]);
    let (app, _dir) = app(
        &kinesis,
        "  startingPosition TRIM_HORIZON\n  batchSize 1\n  timeout 10\n",
    );
    // slow0 was read (its handler's output shows only when it ends).
    kinesis.await_call(0, &format!("GetRecords {only} 1"));
    // Moved to LATEST while slow0's batch runs: when it ends it must not checkpoint, or
    // the consumer would go on after slow0 (x1, x2) instead of at the tip.
    let moved = move_to(&app, json!({"position": "LATEST"}));
    assert_eq!(moved.status, 200, "{}", moved.text());
    app.await_output("done slow0");
    kinesis.await_call(0, &format!("GetShardIterator {only} LATEST"));
    kinesis.put(only, "y");
    let ticks = await_tick(&app, "y");
    assert_eq!(data(&ticks, only), ["slow0", "y"], "{}", app.output());
}
