//! Making, finding, listing, configuring, tagging and removing queues.

use base64::Engine as _;
use serde_json::{json, Value};

use super::{admin_error, number, queue_error, queue_url, required, string_list, string_map};
use crate::{Aws, AwsError};

/// Every queue attribute GetQueueAttributes may name.
const ATTRIBUTE_NAMES: [&str; 21] = [
    "All",
    "Policy",
    "VisibilityTimeout",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "QueueArn",
    "ApproximateNumberOfMessagesDelayed",
    "DelaySeconds",
    "ReceiveMessageWaitTimeSeconds",
    "RedrivePolicy",
    "FifoQueue",
    "ContentBasedDeduplication",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "RedriveAllowPolicy",
];

pub(super) fn create(aws: &Aws, input: &Value) -> Result<Value, AwsError> {
    let name = required(input, "QueueName")?.to_string();
    let attributes = string_map(input, "Attributes")?;
    let tags = string_map(input, "tags")?;
    let created = aws
        .triggers()
        .queues()
        .with_queues(|q, now| q.create(&name, &attributes, tags, now))
        .map_err(AwsError::not_saved)?
        .map_err(admin_error)?;
    if created {
        tracing::info!(target: "sandbox::aws", "queue {name} created through the SQS API");
    }
    Ok(json!({ "QueueUrl": queue_url(aws, &name) }))
}

pub(super) fn get_url(aws: &Aws, input: &Value) -> Result<Value, AwsError> {
    let name = required(input, "QueueName")?;
    aws.triggers()
        .queues()
        .read_queues(|q, _| q.get(name).map(|_| ()))
        .map_err(queue_error)?;
    Ok(json!({ "QueueUrl": queue_url(aws, name) }))
}

pub(super) fn list(aws: &Aws, input: &Value) -> Result<Value, AwsError> {
    let prefix = input["QueueNamePrefix"].as_str().unwrap_or("");
    let names = aws.triggers().queues().read_queues(|q, _| q.names());
    let names = names
        .into_iter()
        .filter(|n| n.starts_with(prefix))
        .collect();
    let (page, next) = paginate(names, input)?;
    let urls: Vec<String> = page.iter().map(|n| queue_url(aws, n)).collect();
    let mut out = json!({ "QueueUrls": urls });
    if let Some(token) = next {
        out["NextToken"] = json!(token);
    }
    Ok(out)
}

pub(super) fn delete(aws: &Aws, name: &str) -> Result<Value, AwsError> {
    let held = aws
        .triggers()
        .queues()
        .with_queues(|q, _| q.delete_queue(name))
        .map_err(AwsError::not_saved)?
        .map_err(queue_error)?;
    tracing::info!(target: "sandbox::aws", "queue {name} deleted through the SQS API with {held} message(s)");
    Ok(json!({}))
}

pub(super) fn get_attributes(aws: &Aws, name: &str, input: &Value) -> Result<Value, AwsError> {
    let wanted = string_list(input, "AttributeNames");
    if let Some(bad) = wanted
        .iter()
        .find(|n| !ATTRIBUTE_NAMES.contains(&n.as_str()))
    {
        return Err(AwsError::sender(
            "InvalidAttributeName",
            format!("Unknown Attribute {bad}."),
        ));
    }
    let all = aws
        .triggers()
        .queues()
        .read_queues(|q, now| q.attributes(name, now))
        .map_err(queue_error)?;
    let every = wanted.iter().any(|n| n == "All");
    let attributes: serde_json::Map<String, Value> = all
        .into_iter()
        .filter(|(k, _)| every || wanted.contains(k))
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    if attributes.is_empty() {
        return Ok(json!({}));
    }
    Ok(json!({ "Attributes": attributes }))
}

pub(super) fn set_attributes(aws: &Aws, name: &str, input: &Value) -> Result<Value, AwsError> {
    let attributes = string_map(input, "Attributes")?;
    aws.triggers()
        .queues()
        .with_queues(|q, now| q.set_attributes(name, &attributes, now))
        .map_err(AwsError::not_saved)?
        .map_err(admin_error)?;
    Ok(json!({}))
}

pub(super) fn tag(aws: &Aws, name: &str, input: &Value) -> Result<Value, AwsError> {
    let tags = string_map(input, "Tags")?;
    aws.triggers()
        .queues()
        .with_queues(|q, now| q.tag(name, tags, now))
        .map_err(AwsError::not_saved)?
        .map_err(queue_error)?;
    Ok(json!({}))
}

pub(super) fn untag(aws: &Aws, name: &str, input: &Value) -> Result<Value, AwsError> {
    let keys = string_list(input, "TagKeys");
    aws.triggers()
        .queues()
        .with_queues(|q, now| q.untag(name, &keys, now))
        .map_err(AwsError::not_saved)?
        .map_err(queue_error)?;
    Ok(json!({}))
}

pub(super) fn tags(aws: &Aws, name: &str) -> Result<Value, AwsError> {
    let tags = aws
        .triggers()
        .queues()
        .read_queues(|q, _| q.meta(name).map(|m| m.tags.clone()).unwrap_or_default());
    if tags.is_empty() {
        return Ok(json!({}));
    }
    Ok(json!({ "Tags": tags }))
}

pub(super) fn purge(aws: &Aws, name: &str) -> Result<Value, AwsError> {
    let purged = aws
        .triggers()
        .queues()
        .with_queues(|q, _| q.purge(name))
        .map_err(AwsError::not_saved)?
        .map_err(queue_error)?;
    tracing::info!(target: "sandbox::aws", "queue {name}: purged {purged} message(s) through the SQS API");
    Ok(json!({}))
}

pub(super) fn dead_letter_sources(aws: &Aws, dlq: &str, input: &Value) -> Result<Value, AwsError> {
    let sources = aws
        .triggers()
        .queues()
        .read_queues(|q, _| q.dead_letter_sources(dlq))
        .map_err(queue_error)?;
    let (page, next) = paginate(sources, input)?;
    let urls: Vec<String> = page.iter().map(|n| queue_url(aws, n)).collect();
    let mut out = json!({ "queueUrls": urls });
    if let Some(token) = next {
        out["NextToken"] = json!(token);
    }
    Ok(out)
}

/// SQS's paging: without `MaxResults` up to 1000 names and no token; with it, a page and
/// a `NextToken` (the last name given, opaque to the caller) when more remain.
fn paginate(names: Vec<String>, input: &Value) -> Result<(Vec<String>, Option<String>), AwsError> {
    let max = number(input, "MaxResults", 1..=1000)?;
    let after = match input["NextToken"].as_str() {
        Some(token) => Some(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(token)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| AwsError::invalid_parameter_value("Invalid NextToken value."))?,
        ),
        None => None,
    };
    let mut rest: Vec<String> = names
        .into_iter()
        .filter(|n| after.as_ref().is_none_or(|a| n > a))
        .collect();
    let limit = max.unwrap_or(1000) as usize;
    let more = rest.len() > limit;
    rest.truncate(limit);
    let next = (more && max.is_some()).then(|| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(rest.last().cloned().unwrap_or_default())
    });
    Ok((rest, next))
}
