//! Topic tags: TagResource, UntagResource, ListTagsForResource (and CreateTopic's
//! `Tags`). Stored on the topic and kept across reloads; the sandbox does not act on them.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{string, topic_name};
use crate::protocol::Call;
use crate::{Aws, AwsError};

/// SNS's most tags on one topic.
const MAX_TAGS: usize = 50;

fn resource_not_found() -> AwsError {
    AwsError::sender("ResourceNotFoundException", "Resource does not exist")
        .with_status(404)
        .with_query_code("ResourceNotFound")
}

/// A `Tags` list (`[{Key, Value}]`) as a map.
pub(super) fn read(tags: &Value) -> BTreeMap<String, String> {
    tags.as_array()
        .map(|list| {
            list.iter()
                .filter_map(|t| {
                    Some((
                        t["Key"].as_str()?.to_string(),
                        t["Value"].as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn limit(tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
    if tags.len() > MAX_TAGS {
        return Err(AwsError::sender(
            "TagLimitExceededException",
            format!(
                "Could not complete request: tag quota of per resource exceeded ({} > {MAX_TAGS})",
                tags.len()
            ),
        )
        .with_query_code("TagLimitExceeded"));
    }
    Ok(())
}

/// Changes a topic's tags with `f`, refusing more than SNS allows.
fn change(
    aws: &Aws,
    call: &Call,
    f: impl FnOnce(&mut BTreeMap<String, String>),
) -> Result<Value, AwsError> {
    let name = topic_name(string(call, "ResourceArn")?)?.to_string();
    aws.triggers()
        .topics()
        .change_topics(|topics, _| {
            let config = topics.config_mut(&name).ok_or_else(resource_not_found)?;
            let mut tags = config.tags.clone();
            f(&mut tags);
            limit(&tags)?;
            config.tags = tags;
            Ok(json!({}))
        })
        .map_err(AwsError::not_saved)?
}

pub(super) fn tag(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let added = read(&call.input["Tags"]);
    change(aws, call, |tags| tags.extend(added))
}

pub(super) fn untag(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let keys: Vec<String> = call.input["TagKeys"]
        .as_array()
        .map(|keys| {
            keys.iter()
                .filter_map(|k| k.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    change(aws, call, |tags| {
        for key in &keys {
            tags.remove(key);
        }
    })
}

pub(super) fn list(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let name = topic_name(string(call, "ResourceArn")?)?.to_string();
    let tags = aws
        .triggers()
        .topics()
        .with_topics(|topics, _| topics.config(&name).map(|c| c.tags.clone()))
        .ok_or_else(resource_not_found)?;
    let tags: Vec<Value> = tags
        .iter()
        .map(|(k, v)| json!({ "Key": k, "Value": v }))
        .collect();
    Ok(json!({ "Tags": tags }))
}

/// CreateTopic's `Tags`: checked against SNS's limit before the topic is made.
pub(super) fn for_create(call: &Call) -> Result<BTreeMap<String, String>, AwsError> {
    let tags = read(&call.input["Tags"]);
    limit(&tags)?;
    Ok(tags)
}
