//! End to end: the official Rust SDK for Kinesis (AWS JSON 1.1) against the sandbox's
//! streams, and Kinesis's CBOR protocol (the Java SDK's default) spoken by hand.
//!
//! One world: a record an SDK puts on a manifest stream runs that stream's handler;
//! streams the SDK creates show in `/_sandbox/streams`, take handlers' host-call puts and
//! survive hot reloads; GetRecords readers never move a Lambda consumer.

use crate::common;

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::aws;
use aws_sdk_kinesis::primitives::{Blob, DateTime};
use aws_sdk_kinesis::types::{
    PutRecordsRequestEntry, ShardIteratorType, StreamMode, StreamModeDetails,
};
use aws_sdk_kinesis::Client;
use ciborium::value::Value as Cbor;
use sandbox_testing::Sandbox;
use serde_json::json;

const APP: &str = "aws-kinesis";
const DRAIN: Duration = Duration::from_secs(60);
/// 2^128 - 1, the last hash key.
const MAX_HASH: &str = "340282366920938463463374607431768211455";
/// `common::START` as epoch seconds.
const START_EPOCH: i64 = 1_893_456_000;

#[allow(unused_imports)]
use aws_sdk_kinesis::error::ProvideErrorMetadata as _;

fn start() -> (Sandbox, tokio::runtime::Runtime, Client) {
    let sandbox = common::js(APP, true);
    let client = aws::kinesis(&sandbox);
    (sandbox, aws::runtime(), client)
}

fn create(rt: &tokio::runtime::Runtime, k: &Client, name: &str, shards: i32) {
    rt.block_on(
        k.create_stream()
            .stream_name(name)
            .shard_count(shards)
            .send(),
    )
    .unwrap();
}

fn put(rt: &tokio::runtime::Runtime, k: &Client, stream: &str, key: &str, data: &str) -> String {
    rt.block_on(
        k.put_record()
            .stream_name(stream)
            .partition_key(key)
            .data(Blob::new(data))
            .send(),
    )
    .unwrap()
    .sequence_number
}

fn iterator(
    rt: &tokio::runtime::Runtime,
    k: &Client,
    stream: &str,
    kind: ShardIteratorType,
) -> String {
    rt.block_on(
        k.get_shard_iterator()
            .stream_name(stream)
            .shard_id("shardId-000000000000")
            .shard_iterator_type(kind)
            .send(),
    )
    .unwrap()
    .shard_iterator
    .unwrap()
}

fn data(records: &[aws_sdk_kinesis::types::Record]) -> Vec<String> {
    records
        .iter()
        .map(|r| String::from_utf8(r.data().as_ref().to_vec()).unwrap())
        .collect()
}

#[test]
fn streams_are_created_described_listed_and_deleted() {
    let (sandbox, rt, k) = start();
    create(&rt, &k, "made", 3);
    let err = rt
        .block_on(k.create_stream().stream_name("made").shard_count(1).send())
        .unwrap_err();
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_resource_in_use_exception()),
        "{err:?}"
    );
    assert_eq!(
        err.as_service_error().unwrap().meta().message(),
        Some("Stream made under account 123456789012 already exists.")
    );

    let described = rt
        .block_on(k.describe_stream().stream_name("made").send())
        .unwrap()
        .stream_description
        .unwrap();
    assert_eq!(described.stream_status().as_str(), "ACTIVE");
    assert_eq!(
        described.stream_arn(),
        "arn:aws:kinesis:us-east-1:123456789012:stream/made"
    );
    assert_eq!(described.retention_period_hours(), 24);
    assert_eq!(
        described.stream_mode_details().unwrap().stream_mode(),
        &StreamMode::Provisioned
    );
    assert_eq!(
        described.stream_creation_timestamp().secs(),
        START_EPOCH,
        "created on the manual clock"
    );
    let ranges: Vec<(String, String, String)> = described
        .shards()
        .iter()
        .map(|s| {
            let r = s.hash_key_range().unwrap();
            (
                s.shard_id().to_string(),
                r.starting_hash_key().to_string(),
                r.ending_hash_key().to_string(),
            )
        })
        .collect();
    // 2^128 split in three, as AWS splits it.
    assert_eq!(
        ranges,
        [
            (
                "shardId-000000000000".into(),
                "0".into(),
                "113427455640312821154458202477256070484".into()
            ),
            (
                "shardId-000000000001".into(),
                "113427455640312821154458202477256070485".into(),
                "226854911280625642308916404954512140969".into()
            ),
            (
                "shardId-000000000002".into(),
                "226854911280625642308916404954512140970".into(),
                MAX_HASH.into()
            ),
        ]
    );
    // By ARN, one page of shards at a time.
    let page = rt
        .block_on(
            k.describe_stream()
                .stream_arn("arn:aws:kinesis:us-east-1:123456789012:stream/made")
                .limit(2)
                .send(),
        )
        .unwrap()
        .stream_description
        .unwrap();
    assert_eq!(page.shards().len(), 2);
    assert!(page.has_more_shards());
    let summary = rt
        .block_on(k.describe_stream_summary().stream_name("made").send())
        .unwrap()
        .stream_description_summary
        .unwrap();
    assert_eq!(summary.open_shard_count(), 3);

    // ON_DEMAND streams start with four shards.
    rt.block_on(
        k.create_stream()
            .stream_name("elastic")
            .stream_mode_details(
                StreamModeDetails::builder()
                    .stream_mode(StreamMode::OnDemand)
                    .build()
                    .unwrap(),
            )
            .send(),
    )
    .unwrap();

    // ListShards pages with NextToken, or starts after a shard.
    let first = rt
        .block_on(k.list_shards().stream_name("made").max_results(2).send())
        .unwrap();
    assert_eq!(first.shards().len(), 2);
    let rest = rt
        .block_on(
            k.list_shards()
                .next_token(first.next_token().unwrap())
                .send(),
        )
        .unwrap();
    assert_eq!(rest.shards()[0].shard_id(), "shardId-000000000002");
    assert!(rest.next_token().is_none());
    let after = rt
        .block_on(
            k.list_shards()
                .stream_name("elastic")
                .exclusive_start_shard_id("shardId-000000000001")
                .send(),
        )
        .unwrap();
    assert_eq!(after.shards().len(), 2);

    // ListStreams: the manifest's stream and the API's, paged.
    let all = rt.block_on(k.list_streams().send()).unwrap();
    assert_eq!(all.stream_names(), ["clicks", "elastic", "made"]);
    assert!(!all.has_more_streams());
    let modes: Vec<&str> = all
        .stream_summaries()
        .iter()
        .map(|s| s.stream_mode_details().unwrap().stream_mode().as_str())
        .collect();
    assert_eq!(modes, ["PROVISIONED", "ON_DEMAND", "PROVISIONED"]);
    let one = rt.block_on(k.list_streams().limit(1).send()).unwrap();
    assert_eq!(one.stream_names(), ["clicks"]);
    assert!(one.has_more_streams());
    let next = rt
        .block_on(
            k.list_streams()
                .next_token(one.next_token().unwrap())
                .send(),
        )
        .unwrap();
    assert_eq!(next.stream_names(), ["elastic", "made"]);

    // The control API sees the API's streams.
    let listed: Vec<String> = sandbox
        .streams()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, ["clicks", "elastic", "made"]);
    assert_eq!(
        sandbox.stream("elastic").unwrap()["shards"]
            .as_array()
            .unwrap()
            .len(),
        4
    );

    rt.block_on(k.delete_stream().stream_name("made").send())
        .unwrap();
    for err in [
        rt.block_on(k.describe_stream().stream_name("made").send())
            .unwrap_err()
            .into_service_error()
            .meta()
            .clone(),
        rt.block_on(k.delete_stream().stream_name("made").send())
            .unwrap_err()
            .into_service_error()
            .meta()
            .clone(),
    ] {
        assert_eq!(err.code(), Some("ResourceNotFoundException"));
        assert_eq!(
            err.message(),
            Some("Stream made under account 123456789012 not found.")
        );
    }
    assert!(sandbox.stream("made").is_err());
}

#[test]
fn invalid_creations_are_refused() {
    let (_sandbox, rt, k) = start();
    let create = |name: &str, shards: i32| {
        aws::code(
            &rt.block_on(
                k.create_stream()
                    .stream_name(name)
                    .shard_count(shards)
                    .send(),
            )
            .unwrap_err(),
        )
    };
    assert_eq!(create("bad name", 1), "ValidationException");
    assert_eq!(create("none", 0), "ValidationException");
    assert_eq!(create("huge", 5000), "LimitExceededException");
    assert_eq!(
        aws::code(&rt.block_on(k.describe_stream_summary().send()).unwrap_err()),
        "InvalidArgumentException"
    );
}

#[test]
fn an_sdk_record_on_a_manifest_stream_runs_its_handler() {
    let (sandbox, rt, k) = start();
    let sequence = put(&rt, &k, "clicks", "user-1", "from the sdk");
    sandbox.drain(DRAIN).unwrap();
    let events = common::events(&sandbox, "streams/clicks/echo");
    assert_eq!(events.len(), 1, "{events:?}");
    let record = &events[0]["Records"][0];
    assert_eq!(record["kinesis"]["partitionKey"], "user-1");
    assert_eq!(record["kinesis"]["sequenceNumber"], sequence);
    assert_eq!(record["kinesis"]["data"], "ZnJvbSB0aGUgc2Rr");
    assert_eq!(
        record["eventSourceARN"],
        "arn:aws:kinesis:us-east-1:123456789012:stream/clicks"
    );
}

#[test]
fn put_records_reports_failures_per_record_and_routes_by_hash_key() {
    let (_sandbox, rt, k) = start();
    let entry = |key: &str, hash: Option<&str>| {
        PutRecordsRequestEntry::builder()
            .partition_key(key)
            .data(Blob::new("x"))
            .set_explicit_hash_key(hash.map(str::to_string))
            .build()
            .unwrap()
    };
    let out = rt
        .block_on(
            k.put_records()
                .stream_name("clicks")
                .records(entry("a", Some("0")))
                .records(entry("b", Some("340282366920938463463374607431768211456")))
                .records(entry("c", Some(MAX_HASH)))
                .send(),
        )
        .unwrap();
    assert_eq!(out.failed_record_count(), Some(1));
    let results = out.records();
    assert_eq!(results[0].shard_id(), Some("shardId-000000000000"));
    assert_eq!(results[1].error_code(), Some("InvalidArgumentException"));
    assert!(results[1].error_message().unwrap().contains("outside"));
    assert_eq!(results[2].shard_id(), Some("shardId-000000000001"));
    assert!(results[0].sequence_number() < results[2].sequence_number());

    // Ordering is what sequence numbers already give; a bad one is refused.
    let ordered = rt
        .block_on(
            k.put_record()
                .stream_name("clicks")
                .partition_key("a")
                .data(Blob::new("y"))
                .sequence_number_for_ordering(results[2].sequence_number().unwrap())
                .send(),
        )
        .unwrap();
    assert!(ordered.sequence_number.as_str() > results[2].sequence_number().unwrap());
    let err = rt
        .block_on(
            k.put_record()
                .stream_name("nope")
                .partition_key("a")
                .data(Blob::new("y"))
                .send(),
        )
        .unwrap_err();
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_resource_not_found_exception()),
        "{err:?}"
    );
    let err = rt
        .block_on(
            k.put_records()
                .stream_name("nope")
                .records(entry("a", None))
                .send(),
        )
        .unwrap_err();
    assert_eq!(aws::code(&err), "ResourceNotFoundException");
}

#[test]
fn get_records_pages_through_iterators_without_moving_the_consumer() {
    let (sandbox, rt, k) = start();
    create(&rt, &k, "solo", 1);
    let seqs: Vec<String> = (0..5)
        .map(|i| put(&rt, &k, "solo", "k", &format!("r{i}")))
        .collect();
    sandbox.advance("2s").unwrap();
    let mut it = iterator(&rt, &k, "solo", ShardIteratorType::TrimHorizon);
    let mut pages = Vec::new();
    loop {
        let out = rt
            .block_on(k.get_records().shard_iterator(&it).limit(2).send())
            .unwrap();
        pages.push((data(out.records()), out.millis_behind_latest()));
        it = out.next_shard_iterator.unwrap();
        if out.records.is_empty() {
            break;
        }
    }
    assert_eq!(
        pages,
        [
            (vec!["r0".into(), "r1".into()], Some(2000)),
            (vec!["r2".into(), "r3".into()], Some(2000)),
            (vec!["r4".into()], Some(0)),
            (vec![], Some(0)),
        ]
    );
    // The iterator after the end reads what arrives next.
    put(&rt, &k, "solo", "k", "r5");
    let out = rt
        .block_on(k.get_records().shard_iterator(&it).send())
        .unwrap();
    assert_eq!(data(out.records()), ["r5"]);
    let record = &out.records()[0];
    assert_eq!(record.partition_key(), Some("k"));
    assert_eq!(
        record.approximate_arrival_timestamp().unwrap().secs(),
        START_EPOCH + 2
    );

    let at = |kind: ShardIteratorType, seq: &str| {
        let it = rt
            .block_on(
                k.get_shard_iterator()
                    .stream_name("solo")
                    .shard_id("shardId-000000000000")
                    .shard_iterator_type(kind)
                    .starting_sequence_number(seq)
                    .send(),
            )
            .unwrap()
            .shard_iterator
            .unwrap();
        let out = rt
            .block_on(k.get_records().shard_iterator(it).limit(1).send())
            .unwrap();
        data(out.records())
    };
    assert_eq!(at(ShardIteratorType::AtSequenceNumber, &seqs[3]), ["r3"]);
    assert_eq!(at(ShardIteratorType::AfterSequenceNumber, &seqs[3]), ["r4"]);
    let latest = iterator(&rt, &k, "solo", ShardIteratorType::Latest);
    put(&rt, &k, "solo", "k", "r6");
    let out = rt
        .block_on(k.get_records().shard_iterator(latest).send())
        .unwrap();
    assert_eq!(data(out.records()), ["r6"]);

    // Reading the manifest stream leaves its consumer where it was.
    put(&rt, &k, "clicks", "user-1", "seen twice");
    let clicks = rt
        .block_on(
            k.get_shard_iterator()
                .stream_name("clicks")
                .shard_id("shardId-000000000000")
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send(),
        )
        .unwrap()
        .shard_iterator
        .unwrap();
    let clicks_1 = rt
        .block_on(
            k.get_shard_iterator()
                .stream_name("clicks")
                .shard_id("shardId-000000000001")
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send(),
        )
        .unwrap()
        .shard_iterator
        .unwrap();
    let read: usize = [clicks, clicks_1]
        .into_iter()
        .map(|it| {
            rt.block_on(k.get_records().shard_iterator(it).send())
                .unwrap()
                .records
                .len()
        })
        .sum();
    assert_eq!(read, 1);
    sandbox.drain(DRAIN).unwrap();
    assert_eq!(common::events(&sandbox, "streams/clicks/echo").len(), 1);
}

#[test]
fn bad_and_expired_iterators_are_refused() {
    let (sandbox, rt, k) = start();
    let code = |it: &str| {
        aws::code(
            &rt.block_on(k.get_records().shard_iterator(it).send())
                .unwrap_err(),
        )
    };
    assert_eq!(code("not-an-iterator"), "InvalidArgumentException");
    let it = iterator(&rt, &k, "clicks", ShardIteratorType::TrimHorizon);
    sandbox.advance("6m").unwrap();
    let err = rt
        .block_on(k.get_records().shard_iterator(&it).send())
        .unwrap_err();
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_expired_iterator_exception()),
        "{err:?}"
    );
    assert!(err
        .into_service_error()
        .meta()
        .message()
        .unwrap()
        .starts_with(
            "Iterator expired. The iterator was created at time Tue Jan 01 00:00:00 UTC 2030"
        ));

    // An iterator of a deleted stream does not read its successor.
    create(&rt, &k, "brief", 1);
    let old = iterator(&rt, &k, "brief", ShardIteratorType::TrimHorizon);
    rt.block_on(k.delete_stream().stream_name("brief").send())
        .unwrap();
    create(&rt, &k, "brief", 1);
    assert_eq!(code(&old), "ResourceNotFoundException");

    let shard_err = rt
        .block_on(
            k.get_shard_iterator()
                .stream_name("clicks")
                .shard_id("shardId-000000000009")
                .shard_iterator_type(ShardIteratorType::Latest)
                .send(),
        )
        .unwrap_err();
    assert_eq!(aws::code(&shard_err), "ResourceNotFoundException");
    let seq_err = rt
        .block_on(
            k.get_shard_iterator()
                .stream_name("clicks")
                .shard_id("shardId-000000000000")
                .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
                .starting_sequence_number("12345")
                .send(),
        )
        .unwrap_err();
    assert_eq!(aws::code(&seq_err), "InvalidArgumentException");
    let limit_err = rt
        .block_on(k.get_records().shard_iterator(&old).limit(0).send())
        .unwrap_err();
    assert_eq!(aws::code(&limit_err), "InvalidArgumentException");
}

#[test]
fn at_timestamp_reads_from_the_manual_clock() {
    let (sandbox, rt, k) = start();
    create(&rt, &k, "timed", 1);
    put(&rt, &k, "timed", "k", "early");
    sandbox.advance("1h").unwrap();
    put(&rt, &k, "timed", "k", "late");
    let from = |seconds: i64| {
        let it = rt
            .block_on(
                k.get_shard_iterator()
                    .stream_name("timed")
                    .shard_id("shardId-000000000000")
                    .shard_iterator_type(ShardIteratorType::AtTimestamp)
                    .timestamp(DateTime::from_secs(seconds))
                    .send(),
            )
            .unwrap()
            .shard_iterator
            .unwrap();
        data(
            rt.block_on(k.get_records().shard_iterator(it).send())
                .unwrap()
                .records(),
        )
    };
    assert_eq!(from(START_EPOCH), ["early", "late"]);
    assert_eq!(from(START_EPOCH + 1800), ["late"]);
    assert_eq!(from(START_EPOCH + 3600), ["late"]);
    assert!(from(START_EPOCH + 3601).is_empty());
}

#[test]
fn retention_periods_change_and_apply() {
    let (sandbox, rt, k) = start();
    create(&rt, &k, "kept", 1);
    let retention = || {
        rt.block_on(k.describe_stream_summary().stream_name("kept").send())
            .unwrap()
            .stream_description_summary
            .unwrap()
            .retention_period_hours()
    };
    rt.block_on(
        k.increase_stream_retention_period()
            .stream_name("kept")
            .retention_period_hours(48)
            .send(),
    )
    .unwrap();
    assert_eq!(retention(), 48);
    let shorter = rt
        .block_on(
            k.increase_stream_retention_period()
                .stream_name("kept")
                .retention_period_hours(36)
                .send(),
        )
        .unwrap_err();
    assert_eq!(
        message(shorter),
        "InvalidArgumentException: Requested retention period (36 hours) for stream kept can not be shorter than existing retention period (48 hours). Use DecreaseRetentionPeriod API."
    );
    let too_short = rt
        .block_on(
            k.decrease_stream_retention_period()
                .stream_name("kept")
                .retention_period_hours(12)
                .send(),
        )
        .unwrap_err();
    assert_eq!(
        message(too_short),
        "InvalidArgumentException: Minimum allowed retention period is 24 hours. Requested retention period (12 hours) is too short."
    );
    let missing = rt
        .block_on(
            k.decrease_stream_retention_period()
                .stream_name("gone")
                .retention_period_hours(24)
                .send(),
        )
        .unwrap_err();
    assert!(message(missing).starts_with("ResourceNotFoundException"));
    rt.block_on(
        k.decrease_stream_retention_period()
            .stream_name("kept")
            .retention_period_hours(24)
            .send(),
    )
    .unwrap();
    assert_eq!(retention(), 24);

    put(&rt, &k, "kept", "k", "old");
    sandbox.advance("25h").unwrap();
    put(&rt, &k, "kept", "k", "new");
    let it = iterator(&rt, &k, "kept", ShardIteratorType::TrimHorizon);
    let out = rt
        .block_on(k.get_records().shard_iterator(it).send())
        .unwrap();
    assert_eq!(data(out.records()), ["new"]);
}

#[test]
fn tags_are_added_listed_and_removed() {
    let (_sandbox, rt, k) = start();
    rt.block_on(
        k.create_stream()
            .stream_name("tagged")
            .shard_count(1)
            .tags("team", "data")
            .send(),
    )
    .unwrap();
    rt.block_on(
        k.add_tags_to_stream()
            .stream_name("tagged")
            .tags("env", "dev")
            .tags("tier", "1")
            .send(),
    )
    .unwrap();
    let page = rt
        .block_on(
            k.list_tags_for_stream()
                .stream_name("tagged")
                .limit(2)
                .send(),
        )
        .unwrap();
    let keys: Vec<&str> = page.tags().iter().map(|t| t.key()).collect();
    assert_eq!(keys, ["env", "team"]);
    assert!(page.has_more_tags());
    let rest = rt
        .block_on(
            k.list_tags_for_stream()
                .stream_name("tagged")
                .exclusive_start_tag_key("team")
                .send(),
        )
        .unwrap();
    assert_eq!(rest.tags()[0].value(), Some("1"));
    assert!(!rest.has_more_tags());
    rt.block_on(
        k.remove_tags_from_stream()
            .stream_name("tagged")
            .tag_keys("env")
            .send(),
    )
    .unwrap();

    let arn = "arn:aws:kinesis:us-east-1:123456789012:stream/tagged";
    rt.block_on(
        k.tag_resource()
            .resource_arn(arn)
            .tags("owner", "me")
            .send(),
    )
    .unwrap();
    rt.block_on(k.untag_resource().resource_arn(arn).tag_keys("tier").send())
        .unwrap();
    let tags = rt
        .block_on(k.list_tags_for_resource().resource_arn(arn).send())
        .unwrap();
    let pairs: Vec<(&str, Option<&str>)> =
        tags.tags().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(pairs, [("owner", Some("me")), ("team", Some("data"))]);
    let err = rt
        .block_on(k.list_tags_for_stream().stream_name("nope").send())
        .unwrap_err();
    assert_eq!(aws::code(&err), "ResourceNotFoundException");
}

#[test]
fn handlers_host_calls_reach_streams_the_api_created() {
    let (sandbox, rt, k) = start();
    create(&rt, &k, "made", 1);
    let answer = sandbox
        .post_json(
            "/put",
            &json!({"stream": "made", "key": "h", "data": "from a handler"}),
        )
        .unwrap()
        .ok_json()
        .unwrap();
    assert_eq!(answer["shardId"], "shardId-000000000000", "{answer}");
    let it = iterator(&rt, &k, "made", ShardIteratorType::TrimHorizon);
    let out = rt
        .block_on(k.get_records().shard_iterator(it).send())
        .unwrap();
    assert_eq!(data(out.records()), ["from a handler"]);
    assert_eq!(out.records()[0].sequence_number(), answer["sequenceNumber"]);
    let records = sandbox.stream_records("made").unwrap();
    assert_eq!(records[0]["partitionKey"], "h");
}

/// A CBOR call as the Java SDK makes it; answers the status and the decoded body.
fn cbor_call(sandbox: &Sandbox, operation: &str, body: Vec<(&str, Cbor)>) -> (u16, Cbor) {
    let map = Cbor::Map(
        body.into_iter()
            .map(|(k, v)| (Cbor::Text(k.into()), v))
            .collect(),
    );
    let mut bytes = Vec::new();
    ciborium::into_writer(&map, &mut bytes).unwrap();
    let target = format!("Kinesis_20131202.{operation}");
    let response = sandbox
        .request(
            "POST",
            "/",
            &[
                ("x-amz-target", target.as_str()),
                ("content-type", "application/x-amz-cbor-1.1"),
            ],
            &bytes,
        )
        .unwrap();
    assert_eq!(
        response.header("content-type"),
        Some("application/x-amz-cbor-1.1")
    );
    (
        response.status,
        ciborium::from_reader(response.body.as_slice()).unwrap(),
    )
}

fn field(value: &Cbor, key: &str) -> Cbor {
    value
        .as_map()
        .and_then(|m| m.iter().find(|(k, _)| k.as_text() == Some(key)))
        .map(|(_, v)| v.clone())
        .unwrap_or(Cbor::Null)
}

fn text(s: &str) -> Cbor {
    Cbor::Text(s.into())
}

#[test]
fn cbor_puts_and_gets_records_with_byte_strings() {
    let sandbox = common::js(APP, true);
    let (status, put) = cbor_call(
        &sandbox,
        "PutRecord",
        vec![
            ("StreamName", text("clicks")),
            ("PartitionKey", text("user-1")),
            ("Data", Cbor::Bytes(vec![0, 1, 254, 255])),
        ],
    );
    assert_eq!(status, 200, "{put:?}");
    let shard = field(&put, "ShardId");
    let sequence = field(&put, "SequenceNumber");
    assert!(
        sequence.as_text().is_some_and(|s| s.starts_with("49")),
        "{put:?}"
    );

    let (status, it) = cbor_call(
        &sandbox,
        "GetShardIterator",
        vec![
            ("StreamName", text("clicks")),
            ("ShardId", shard),
            ("ShardIteratorType", text("AT_TIMESTAMP")),
            // Epoch milliseconds under tag 1, as the Java SDK writes timestamps.
            (
                "Timestamp",
                Cbor::Tag(1, Box::new(Cbor::Integer((START_EPOCH * 1000).into()))),
            ),
        ],
    );
    assert_eq!(status, 200, "{it:?}");
    let (status, got) = cbor_call(
        &sandbox,
        "GetRecords",
        vec![
            ("ShardIterator", field(&it, "ShardIterator")),
            ("Limit", Cbor::Integer(10.into())),
        ],
    );
    assert_eq!(status, 200, "{got:?}");
    let records = field(&got, "Records");
    let record = &records.as_array().unwrap()[0];
    assert_eq!(field(record, "Data"), Cbor::Bytes(vec![0, 1, 254, 255]));
    assert_eq!(field(record, "SequenceNumber"), sequence);
    assert_eq!(
        field(record, "ApproximateArrivalTimestamp"),
        Cbor::Tag(1, Box::new(Cbor::Integer((START_EPOCH * 1000).into())))
    );
    assert_eq!(field(&got, "MillisBehindLatest"), Cbor::Integer(0.into()));
    assert!(field(&got, "NextShardIterator").as_text().is_some());

    // Errors come back as CBOR too; the consumer got the CBOR put like any other.
    let (status, error) = cbor_call(
        &sandbox,
        "DescribeStreamSummary",
        vec![("StreamName", text("nope"))],
    );
    assert_eq!(status, 400);
    assert_eq!(field(&error, "__type"), text("ResourceNotFoundException"));
    sandbox.drain(DRAIN).unwrap();
    let events = common::events(&sandbox, "streams/clicks/echo");
    assert_eq!(events[0]["Records"][0]["kinesis"]["data"], "AAH+/w==");
}

/// `Code: message` of a failed SDK call.
fn message<E, R>(e: aws_sdk_kinesis::error::SdkError<E, R>) -> String
where
    E: aws_sdk_kinesis::error::ProvideErrorMetadata,
{
    match e {
        aws_sdk_kinesis::error::SdkError::ServiceError(e) => format!(
            "{}: {}",
            e.err().code().unwrap_or_default(),
            e.err().message().unwrap_or_default()
        ),
        _ => "<not a service error>".to_string(),
    }
}

fn write_app(dir: &Path, manifest: &str) {
    std::fs::write(dir.join("app.arc"), manifest).unwrap();
}

/// Polls `/_sandbox/streams` until `ready` holds (a reload finished), or panics.
fn await_streams(sandbox: &Sandbox, ready: impl Fn(&[serde_json::Value]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let streams = sandbox.streams().unwrap();
        if ready(&streams) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the reload never showed: {streams:?}\n{}",
            sandbox.output()
        );
        std::thread::yield_now();
    }
}

#[test]
fn api_streams_survive_reloads_and_the_manifest_can_adopt_them() {
    let dir = tempfile::tempdir().unwrap();
    let echo = common::fixture(APP).join("src/streams/clicks/echo/handler.wat");
    for stream in ["clicks", "made"] {
        let consumer = dir.path().join(format!("src/streams/{stream}/echo"));
        std::fs::create_dir_all(&consumer).unwrap();
        std::fs::copy(&echo, consumer.join("handler.wat")).unwrap();
    }
    write_app(
        dir.path(),
        "@app\nreloading\n@streams\nclicks\n  consumers echo\n",
    );
    let sandbox = Sandbox::builder(dir.path())
        .bin(env!("CARGO_BIN_EXE_sandbox"))
        .manual_clock()
        .start()
        .unwrap();
    let rt = aws::runtime();
    let k = aws::kinesis(&sandbox);
    create(&rt, &k, "made", 1);
    put(&rt, &k, "made", "k", "before the reload");

    // A manifest change keeps the API's stream and its records.
    write_app(
        dir.path(),
        "@app\nreloading\n@streams\nclicks\n  consumers echo\nother\n",
    );
    await_streams(&sandbox, |s| s.iter().any(|s| s["name"] == "other"));
    assert_eq!(sandbox_names(&sandbox), ["clicks", "made", "other"]);
    assert_eq!(sandbox.stream("made").unwrap()["records"], 1);

    // Declared by the manifest with a consumer, it keeps its records and the consumer
    // reads them from the trim horizon.
    write_app(
        dir.path(),
        "@app\nreloading\n@streams\nclicks\n  consumers echo\nother\nmade\n  consumers echo\n",
    );
    await_streams(&sandbox, |s| {
        s.iter()
            .any(|s| s["name"] == "made" && !s["consumers"].as_array().unwrap().is_empty())
    });
    sandbox.drain(DRAIN).unwrap();
    let events = common::events(&sandbox, "streams/made/echo");
    assert_eq!(events.len(), 1, "{}", sandbox.output());
    assert_eq!(
        events[0]["Records"][0]["kinesis"]["data"],
        "YmVmb3JlIHRoZSByZWxvYWQ="
    );

    // Deleted through the API, a manifest stream comes back with its handler.
    rt.block_on(k.delete_stream().stream_name("clicks").send())
        .unwrap();
    create(&rt, &k, "clicks", 1);
    put(&rt, &k, "clicks", "k", "again");
    sandbox.drain(DRAIN).unwrap();
    let events = common::events(&sandbox, "streams/clicks/echo");
    assert_eq!(events.len(), 1, "{}", sandbox.output());
}

fn sandbox_names(sandbox: &Sandbox) -> Vec<String> {
    sandbox
        .streams()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}
