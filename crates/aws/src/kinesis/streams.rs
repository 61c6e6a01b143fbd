//! Kinesis's stream management: CreateStream, DeleteStream, DescribeStream(Summary),
//! ListStreams, ListShards, retention periods and tags.
//!
//! Streams are ACTIVE as soon as CreateStream answers (nothing here is asynchronous), so
//! SDK waiters return at once. An ON_DEMAND stream gets four shards, as AWS starts one.

use base64::Engine as _;
use serde_json::{json, Value};

use sandbox_ops::aws::{stream_arn, ACCOUNT, REGION};
use sandbox_services::stream::{sequence_string, Stream, MAX_SHARDS};
use sandbox_triggers::streams::CreateError;

use super::{epoch, int, invalid_argument, not_found, stream_name, string, validation};
use crate::protocol::Call;
use crate::{Aws, AwsError};

/// Shards of a new ON_DEMAND stream.
const ON_DEMAND_SHARDS: u32 = 4;
/// Retention bounds, in hours (24 hours to 365 days).
const MIN_RETENTION: i64 = 24;
const MAX_RETENTION: i64 = 8760;
/// Tags one stream may carry.
const MAX_TAGS: usize = 50;

pub(super) fn create(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let name = string(call, "StreamName")?;
    check_name(name)?;
    let mode = call.input["StreamModeDetails"]["StreamMode"].as_str();
    let on_demand = match (mode, int(call, "ShardCount")?) {
        (Some("ON_DEMAND"), _) | (None, None) => true,
        (Some("PROVISIONED") | None, Some(_)) => false,
        (Some("PROVISIONED"), None) => {
            return Err(invalid_argument(
                "ShardCount is required for streams in PROVISIONED mode.",
            ))
        }
        (Some(other), _) => {
            return Err(validation(
                other,
                "streamModeDetails.streamMode",
                "satisfy enum value set: [PROVISIONED, ON_DEMAND]",
            ))
        }
    };
    let shards = match int(call, "ShardCount")? {
        Some(n) if !on_demand => n,
        _ => i64::from(ON_DEMAND_SHARDS),
    };
    if shards < 1 {
        return Err(validation(
            shards,
            "shardCount",
            "have value greater than or equal to 1",
        ));
    }
    if shards > i64::from(MAX_SHARDS) {
        return Err(AwsError::sender(
            "LimitExceededException",
            format!("This request would exceed the shard limit for the account {ACCOUNT} in {REGION}. Current limit of shards is {MAX_SHARDS} and the request requires {shards} shards."),
        ));
    }
    let tags = tag_map(call)?;
    let service = aws.triggers().streams();
    match service.create(name, shards as u32, on_demand) {
        Ok(()) => {}
        Err(CreateError::Exists) => {
            return Err(AwsError::sender(
                "ResourceInUseException",
                format!("Stream {name} under account {ACCOUNT} already exists."),
            ))
        }
        Err(CreateError::Invalid(reason)) => return Err(invalid_argument(reason)),
        Err(CreateError::NotSaved(e)) => return Err(AwsError::not_saved(e)),
    }
    service
        .with_stream(name, |s, _| s.meta_mut().tags.extend(tags))
        .map_err(AwsError::not_saved)?;
    Ok(json!({}))
}

/// Stream names: 1 to 128 of `[a-zA-Z0-9_.-]`.
fn check_name(name: &str) -> Result<(), AwsError> {
    let ok = (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(validation(
            name,
            "streamName",
            "satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
        ))
    }
}

pub(super) fn delete(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let name = stream_name(call)?;
    match aws
        .triggers()
        .streams()
        .delete(&name)
        .map_err(AwsError::not_saved)?
    {
        Some(_) => Ok(json!({})),
        None => Err(not_found(&name)),
    }
}

/// Runs `f` on the named stream, or answers ResourceNotFoundException.
fn with<R>(
    aws: &Aws,
    name: &str,
    f: impl FnOnce(&mut Stream, chrono::DateTime<chrono::Utc>) -> R,
) -> Result<R, AwsError> {
    aws.triggers()
        .streams()
        .with_stream(name, f)
        .map_err(AwsError::not_saved)?
        .ok_or_else(|| not_found(name))
}

fn mode(stream: &Stream) -> Value {
    let mode = if stream.meta().on_demand {
        "ON_DEMAND"
    } else {
        "PROVISIONED"
    };
    json!({ "StreamMode": mode })
}

fn shard_json(stream: &Stream, index: usize) -> Value {
    let shard = &stream.shards()[index];
    json!({
        "ShardId": shard.id,
        "HashKeyRange": {
            "StartingHashKey": shard.starting_hash_key.to_string(),
            "EndingHashKey": shard.ending_hash_key.to_string(),
        },
        "SequenceNumberRange": { "StartingSequenceNumber": sequence_string(0) },
    })
}

/// Shards after `exclusive_start` (all when `None`), at most `limit` of them, and whether
/// more follow.
fn shard_page(stream: &Stream, exclusive_start: Option<&str>, limit: usize) -> (Vec<Value>, bool) {
    let from = exclusive_start
        .map(|id| {
            stream
                .shards()
                .iter()
                .take_while(|s| s.id.as_str() <= id)
                .count()
        })
        .unwrap_or(0);
    let indexes: Vec<usize> = (from..stream.shards().len()).collect();
    let page = indexes
        .iter()
        .take(limit)
        .map(|&i| shard_json(stream, i))
        .collect();
    (page, indexes.len() > limit)
}

/// A page size: `default` when absent, 1..=`max` otherwise (the model's bounds).
fn limit(
    call: &Call,
    member: &str,
    field: &str,
    default: usize,
    max: i64,
) -> Result<usize, AwsError> {
    match int(call, member)? {
        None => Ok(default),
        Some(n) if n < 1 => Err(validation(
            n,
            field,
            "have value greater than or equal to 1",
        )),
        Some(n) if n > max => Err(validation(
            n,
            field,
            &format!("have value less than or equal to {max}"),
        )),
        Some(n) => Ok(n as usize),
    }
}

pub(super) fn describe(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let name = stream_name(call)?;
    let limit = limit(call, "Limit", "limit", 100, 10000)?;
    let start = call.input["ExclusiveStartShardId"].as_str();
    with(aws, &name, |stream, _| {
        let (shards, more) = shard_page(stream, start, limit);
        json!({ "StreamDescription": {
            "StreamName": name,
            "StreamARN": stream_arn(&name, REGION),
            "StreamStatus": "ACTIVE",
            "StreamModeDetails": mode(stream),
            "Shards": shards,
            "HasMoreShards": more,
            "RetentionPeriodHours": stream.retention().as_secs() / 3600,
            "StreamCreationTimestamp": epoch(stream.meta().created_at),
            "EnhancedMonitoring": [{ "ShardLevelMetrics": [] }],
            "EncryptionType": "NONE",
        }})
    })
}

pub(super) fn describe_summary(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let name = stream_name(call)?;
    with(aws, &name, |stream, _| {
        json!({ "StreamDescriptionSummary": {
            "StreamName": name,
            "StreamARN": stream_arn(&name, REGION),
            "StreamStatus": "ACTIVE",
            "StreamModeDetails": mode(stream),
            "RetentionPeriodHours": stream.retention().as_secs() / 3600,
            "StreamCreationTimestamp": epoch(stream.meta().created_at),
            "EnhancedMonitoring": [{ "ShardLevelMetrics": [] }],
            "EncryptionType": "NONE",
            "OpenShardCount": stream.shards().len(),
            "ConsumerCount": 0,
        }})
    })
}

fn encode_token(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn decode_token(token: &str) -> Result<String, AwsError> {
    base64::engine::general_purpose::STANDARD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| invalid_argument(format!("Invalid NextToken: {token}")))
}

pub(super) fn list(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    // More than 100 asked: at most 100 answered, as AWS does.
    let limit = limit(call, "Limit", "limit", 100, 10000)?.min(100);
    let after = match call.input["NextToken"].as_str() {
        Some(token) => Some(decode_token(token)?),
        None => call.input["ExclusiveStartStreamName"]
            .as_str()
            .map(str::to_string),
    };
    let (names, summaries, more) = aws.triggers().streams().with_streams(|streams, _| {
        let all: Vec<String> = streams
            .names()
            .into_iter()
            .filter(|n| after.as_ref().is_none_or(|a| n > a))
            .collect();
        let page: Vec<String> = all.iter().take(limit).cloned().collect();
        let summaries: Vec<Value> = page
            .iter()
            .filter_map(|n| streams.get(n).ok())
            .map(|s| {
                json!({
                    "StreamName": s.name(),
                    "StreamARN": stream_arn(s.name(), REGION),
                    "StreamStatus": "ACTIVE",
                    "StreamModeDetails": mode(s),
                    "StreamCreationTimestamp": epoch(s.meta().created_at),
                })
            })
            .collect();
        (page, summaries, all.len() > limit)
    });
    let mut out = json!({
        "StreamNames": names,
        "HasMoreStreams": more,
        "StreamSummaries": summaries,
    });
    if more {
        if let Some(last) = names.last() {
            out["NextToken"] = json!(encode_token(last));
        }
    }
    Ok(out)
}

pub(super) fn list_shards(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let limit = limit(call, "MaxResults", "maxResults", 1000, 10000)?.min(1000);
    let (name, start) = match call.input["NextToken"].as_str() {
        Some(_) if call.input["StreamName"].is_string() || call.input["StreamARN"].is_string() => {
            return Err(invalid_argument(
                "NextToken and StreamName/StreamARN cannot be provided together.",
            ))
        }
        Some(token) => {
            let text = decode_token(token)?;
            let (name, shard) = text
                .split_once('\n')
                .ok_or_else(|| invalid_argument(format!("Invalid NextToken: {token}")))?;
            (name.to_string(), Some(shard.to_string()))
        }
        None => (
            stream_name(call)?,
            call.input["ExclusiveStartShardId"]
                .as_str()
                .map(str::to_string),
        ),
    };
    with(aws, &name, |stream, _| {
        let (shards, more) = shard_page(stream, start.as_deref(), limit);
        let mut out = json!({ "Shards": shards });
        if more {
            if let Some(last) = shards.last().and_then(|s| s["ShardId"].as_str()) {
                out["NextToken"] = json!(encode_token(&format!("{name}\n{last}")));
            }
        }
        out
    })
}

/// Increase- (`increase`) or DecreaseStreamRetentionPeriod.
pub(super) fn retention(aws: &Aws, call: &Call, increase: bool) -> Result<Value, AwsError> {
    let name = stream_name(call)?;
    let hours = int(call, "RetentionPeriodHours")?
        .ok_or_else(|| validation("null", "retentionPeriodHours", "not be null"))?;
    if hours < MIN_RETENTION {
        return Err(invalid_argument(format!("Minimum allowed retention period is {MIN_RETENTION} hours. Requested retention period ({hours} hours) is too short.")));
    }
    if hours > MAX_RETENTION {
        return Err(invalid_argument(format!("Maximum allowed retention period is {MAX_RETENTION} hours. Requested retention period ({hours} hours) is too long.")));
    }
    with(aws, &name, |stream, _| {
        let current = (stream.retention().as_secs() / 3600) as i64;
        if increase && hours < current {
            return Err(invalid_argument(format!("Requested retention period ({hours} hours) for stream {name} can not be shorter than existing retention period ({current} hours). Use DecreaseRetentionPeriod API.")));
        }
        if !increase && hours > current {
            return Err(invalid_argument(format!("Requested retention period ({hours} hours) for stream {name} can not be longer than existing retention period ({current} hours). Use IncreaseRetentionPeriod API.")));
        }
        stream.set_retention(std::time::Duration::from_secs(hours as u64 * 3600));
        Ok(json!({}))
    })?
}

/// `Tags` as a map of strings (CreateStream, AddTagsToStream, TagResource).
fn tag_map(call: &Call) -> Result<Vec<(String, String)>, AwsError> {
    let Some(tags) = call.input["Tags"].as_object() else {
        return Ok(Vec::new());
    };
    if tags.len() > MAX_TAGS {
        return Err(invalid_argument(format!(
            "A stream cannot have more than {MAX_TAGS} tags; the request has {}.",
            tags.len()
        )));
    }
    Ok(tags
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect())
}

pub(super) fn add_tags(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let name = stream_name(call)?;
    let tags = tag_map(call)?;
    with(aws, &name, |stream, _| {
        let tags_now = &mut stream.meta_mut().tags;
        let added = tags
            .iter()
            .filter(|(k, _)| !tags_now.contains_key(k))
            .count();
        if tags_now.len() + added > MAX_TAGS {
            return Err(invalid_argument(format!("Failed to add tags to stream {name} under account {ACCOUNT} because a given stream cannot have more than {MAX_TAGS} tags.")));
        }
        tags_now.extend(tags);
        Ok(json!({}))
    })?
}

pub(super) fn remove_tags(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let name = stream_name(call)?;
    let keys: Vec<String> = call.input["TagKeys"]
        .as_array()
        .ok_or_else(|| validation("null", "tagKeys", "not be null"))?
        .iter()
        .filter_map(|k| k.as_str().map(str::to_string))
        .collect();
    with(aws, &name, |stream, _| {
        for key in &keys {
            stream.meta_mut().tags.remove(key);
        }
        json!({})
    })
}

fn tag_list<'a>(tags: impl Iterator<Item = (&'a String, &'a String)>) -> Vec<Value> {
    tags.map(|(k, v)| json!({ "Key": k, "Value": v })).collect()
}

pub(super) fn list_tags_for_stream(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let name = stream_name(call)?;
    let limit = limit(call, "Limit", "limit", 50, 50)?;
    let start = call.input["ExclusiveStartTagKey"]
        .as_str()
        .map(str::to_string);
    with(aws, &name, |stream, _| {
        let after: Vec<(&String, &String)> = stream
            .meta()
            .tags
            .iter()
            .filter(|(k, _)| start.as_ref().is_none_or(|s| *k > s))
            .collect();
        json!({
            "Tags": tag_list(after.iter().take(limit).copied()),
            "HasMoreTags": after.len() > limit,
        })
    })
}

pub(super) fn list_tags_for_resource(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let name = stream_name(call)?;
    with(
        aws,
        &name,
        |stream, _| json!({ "Tags": tag_list(stream.meta().tags.iter()) }),
    )
}
