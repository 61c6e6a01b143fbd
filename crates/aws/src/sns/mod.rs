//! SNS over the Query protocol: every operation answered in its JSON form (the `query`
//! codec reads the form, `xml` writes the answer) over the same topics as the manifest,
//! the control API and handlers' `topics.Publish`.
//!
//! - [`topics`]: CreateTopic, DeleteTopic, ListTopics, Get/SetTopicAttributes.
//! - [`subscriptions`]: Subscribe, Unsubscribe, ListSubscriptions(ByTopic),
//!   Get/SetSubscriptionAttributes.
//! - [`publish`]: Publish and PublishBatch.
//! - [`tags`]: TagResource, UntagResource, ListTagsForResource.
//!
//! Topics and subscriptions made here are the state machine's own (marked as made by the
//! API so a reload keeps them). Subscriptions deliver to the app's queues (`sqs`) and
//! functions (`lambda`), the only endpoints a local sandbox has.

mod publish;
mod subscriptions;
mod tags;
mod topics;

use serde_json::Value;

use sandbox_ops::aws::{topic_arn, ACCOUNT};

use crate::protocol::Call;
use crate::{unsupported, Aws, AwsError};

pub(crate) async fn call(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    match call.operation.as_str() {
        "CreateTopic" => topics::create(aws, call),
        "DeleteTopic" => topics::delete(aws, call),
        "ListTopics" => topics::list(aws, call),
        "GetTopicAttributes" => topics::get_attributes(aws, call),
        "SetTopicAttributes" => topics::set_attributes(aws, call),
        "Subscribe" => subscriptions::subscribe(aws, call),
        "Unsubscribe" => subscriptions::unsubscribe(aws, call),
        "ListSubscriptions" => subscriptions::list(aws, call),
        "ListSubscriptionsByTopic" => subscriptions::list_by_topic(aws, call),
        "GetSubscriptionAttributes" => subscriptions::get_attributes(aws, call),
        "SetSubscriptionAttributes" => subscriptions::set_attributes(aws, call),
        "Publish" => publish::publish(aws, call),
        "PublishBatch" => publish::publish_batch(aws, call),
        "TagResource" => tags::tag(aws, call),
        "UntagResource" => tags::untag(aws, call),
        "ListTagsForResource" => tags::list(aws, call),
        _ => Err(unsupported(call)),
    }
}

/// How many topics or subscriptions one List call answers, as SNS pages them.
const PAGE: usize = 100;

/// `InvalidParameter`: SNS's answer to most bad input.
fn invalid(message: impl Into<String>) -> AwsError {
    AwsError::sender("InvalidParameterException", message).with_query_code("InvalidParameter")
}

/// `NotFound` (HTTP 404): an unknown topic or subscription.
fn not_found(message: impl Into<String>) -> AwsError {
    AwsError::sender("NotFoundException", message)
        .with_status(404)
        .with_query_code("NotFound")
}

fn topic_not_found() -> AwsError {
    not_found("Topic does not exist")
}

/// A required string parameter.
fn string<'a>(call: &'a Call, name: &str) -> Result<&'a str, AwsError> {
    call.input[name].as_str().ok_or_else(|| {
        invalid(format!(
            "Invalid parameter: {name} Reason: no value for required parameter"
        ))
    })
}

/// The topic a `TopicArn` names: `arn:aws:sns:REGION:ACCOUNT:NAME`.
fn topic_name(arn: &str) -> Result<&str, AwsError> {
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        ["arn", "aws", "sns", _, _, name] if !name.is_empty() => Ok(name),
        _ => Err(invalid(format!("Invalid parameter: TopicArn ({arn})"))),
    }
}

/// The topic and subscription id a `SubscriptionArn` names (`<topic arn>:<id>`).
fn subscription_parts(arn: &str) -> Result<(&str, &str), AwsError> {
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        ["arn", "aws", "sns", _, _, topic, id] if !topic.is_empty() && !id.is_empty() => {
            Ok((topic, id))
        }
        _ => Err(invalid(format!(
            "Invalid parameter: SubscriptionArn ({arn})"
        ))),
    }
}

/// The topic a call's `TopicArn` names, if it exists.
fn existing_topic(aws: &Aws, call: &Call) -> Result<String, AwsError> {
    let name = topic_name(string(call, "TopicArn")?)?.to_string();
    let exists = aws
        .triggers()
        .topics()
        .with_topics(|t, _| t.config(&name).is_some());
    exists.then_some(name).ok_or_else(topic_not_found)
}

/// A page of `items` starting after the token (the key of the page's first item), with
/// the next page's token.
fn page<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    token: Option<&str>,
) -> Result<(Vec<T>, Option<String>), AwsError> {
    let start = match token {
        None => 0,
        Some(token) => items
            .iter()
            .position(|item| key(item) == token)
            .ok_or_else(|| invalid("Invalid parameter: NextToken"))?,
    };
    let mut rest: Vec<T> = items.into_iter().skip(start).collect();
    let next = rest.get(PAGE).map(&key);
    rest.truncate(PAGE);
    Ok((rest, next))
}

/// SNS's answer for a topic's default access policy.
fn default_policy(topic: &str) -> String {
    serde_json::json!({
        "Version": "2008-10-17",
        "Id": "__default_policy_ID",
        "Statement": [{
            "Sid": "__default_statement_ID",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": [
                "SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission",
                "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe",
                "SNS:ListSubscriptionsByTopic", "SNS:Publish"
            ],
            "Resource": topic_arn(topic),
            "Condition": {"StringEquals": {"AWS:SourceOwner": ACCOUNT}}
        }]
    })
    .to_string()
}
