//! SQS: every operation answered in its JSON form (the JSON 1.0 body, or the Query form
//! read by the model) over the same queues as the control API and handlers' host calls.
//!
//! - `queues`: making, finding, listing, configuring, tagging and removing queues.
//! - `messages`: sending, receiving (with long polling), deleting and visibility.
//! - `moves`: message move tasks (redrive from a dead-letter queue).
//!
//! Errors carry SQS's JSON shape name and, for the Query protocol and the
//! `x-amzn-query-error` header, SQS's older code (`AWS.SimpleQueueService.NonExistentQueue`).

mod messages;
mod moves;
mod queues;

use serde_json::Value;

use sandbox_ops::aws::resource_name;
use sandbox_services::queue::{AdminError, DeleteError, Error, SendError, VisibilityError};

use crate::protocol::Call;
use crate::{unsupported, Aws, AwsError};

pub(crate) use moves::MoveTasks;

pub(crate) async fn call(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let input = &call.input;
    match call.operation.as_str() {
        "CreateQueue" => queues::create(aws, input),
        "GetQueueUrl" => queues::get_url(aws, input),
        "ListQueues" => queues::list(aws, input),
        "DeleteQueue" => queues::delete(aws, &queue(aws, call)?),
        "GetQueueAttributes" => queues::get_attributes(aws, &queue(aws, call)?, input),
        "SetQueueAttributes" => queues::set_attributes(aws, &queue(aws, call)?, input),
        "TagQueue" => queues::tag(aws, &queue(aws, call)?, input),
        "UntagQueue" => queues::untag(aws, &queue(aws, call)?, input),
        "ListQueueTags" => queues::tags(aws, &queue(aws, call)?),
        "PurgeQueue" => queues::purge(aws, &queue(aws, call)?),
        "ListDeadLetterSourceQueues" => queues::dead_letter_sources(aws, &queue(aws, call)?, input),
        "SendMessage" => messages::send(aws, &queue(aws, call)?, input),
        "SendMessageBatch" => messages::send_batch(aws, &queue(aws, call)?, input),
        "ReceiveMessage" => messages::receive(aws, &queue(aws, call)?, input).await,
        "DeleteMessage" => messages::delete(aws, &queue(aws, call)?, input),
        "DeleteMessageBatch" => messages::delete_batch(aws, &queue(aws, call)?, input),
        "ChangeMessageVisibility" => messages::change_visibility(aws, &queue(aws, call)?, input),
        "ChangeMessageVisibilityBatch" => {
            messages::change_visibility_batch(aws, &queue(aws, call)?, input)
        }
        "StartMessageMoveTask" => moves::start(aws, input),
        "ListMessageMoveTasks" => moves::list(aws, input),
        "CancelMessageMoveTask" => moves::cancel(aws, input),
        _ => Err(unsupported(call)),
    }
}

/// `http://127.0.0.1:PORT/123456789012/NAME`.
pub(crate) fn queue_url(aws: &Aws, name: &str) -> String {
    format!("{}/{}/{name}", aws.endpoint(), sandbox_ops::aws::ACCOUNT)
}

/// The existing queue a call names by `QueueUrl` (or, in the Query protocol, by the
/// request path, as older clients post to the queue's URL).
fn queue(aws: &Aws, call: &Call) -> Result<String, AwsError> {
    let url = match call.input["QueueUrl"].as_str() {
        Some(url) => url,
        None if call.path.len() > 1 => call.path.as_str(),
        None => return Err(AwsError::missing_parameter("QueueUrl")),
    };
    let name = resource_name(url).to_string();
    if aws
        .triggers()
        .queues()
        .read_queues(|q, _| q.get(&name).is_ok())
    {
        Ok(name)
    } else {
        Err(non_existent())
    }
}

/// A string parameter the operation cannot do without.
fn required<'a>(input: &'a Value, name: &str) -> Result<&'a str, AwsError> {
    input[name]
        .as_str()
        .ok_or_else(|| AwsError::missing_parameter(name))
}

fn non_existent() -> AwsError {
    AwsError::sender(
        "QueueDoesNotExist",
        "The specified queue does not exist for this wsdl version.",
    )
    .with_query_code("AWS.SimpleQueueService.NonExistentQueue")
}

/// SQS's code for an error of the queue state machines.
fn queue_error(error: Error) -> AwsError {
    match error {
        Error::UnknownQueue { .. } => non_existent(),
        Error::Send(e) => send_error(e),
        Error::Delete { source, .. } => delete_error(source),
        Error::Visibility { source, .. } => match source {
            VisibilityError::Handle(e) => delete_error(e),
            VisibilityError::NotInFlight { message_id } => AwsError::sender(
                "MessageNotInflight",
                format!("Message {message_id} is not in flight."),
            )
            .with_query_code("AWS.SimpleQueueService.MessageNotInflight"),
            e @ VisibilityError::TooLong { .. } => AwsError::invalid_parameter_value(format!(
                "Value for parameter VisibilityTimeout is invalid. Reason: {e}."
            )),
        },
    }
}

fn send_error(error: SendError) -> AwsError {
    match &error {
        SendError::EmptyBody { .. } => AwsError::missing_parameter("MessageBody"),
        SendError::MissingGroupId { .. } => AwsError::missing_parameter("MessageGroupId"),
        SendError::InvalidCharacter { .. } => AwsError::sender(
            "InvalidMessageContents",
            format!("Invalid characters found. {error}"),
        ),
        _ => AwsError::invalid_parameter_value(error.to_string()),
    }
}

fn delete_error(error: DeleteError) -> AwsError {
    match error {
        DeleteError::Invalid { handle } => AwsError::sender(
            "ReceiptHandleIsInvalid",
            format!("The input receipt handle \"{handle}\" is not a valid receipt handle."),
        ),
        other => AwsError::invalid_parameter_value(format!(
            "Value for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired ({other})."
        )),
    }
}

fn admin_error(error: AdminError) -> AwsError {
    match error {
        AdminError::Queue(e) => queue_error(e),
        e @ AdminError::NameExists { .. } => {
            AwsError::sender("QueueNameExists", e.to_string()).with_query_code("QueueAlreadyExists")
        }
        e @ AdminError::InvalidAttributeName(_) => {
            AwsError::sender("InvalidAttributeName", e.to_string())
        }
        e @ AdminError::InvalidAttributeValue { .. } => {
            AwsError::sender("InvalidAttributeValue", e.to_string())
        }
        e @ (AdminError::InvalidName(_) | AdminError::Config(_)) => {
            AwsError::invalid_parameter_value(e.to_string())
        }
    }
}

/// A string-to-string map parameter (`Attributes`, `Tags`).
fn string_map(
    input: &Value,
    name: &str,
) -> Result<std::collections::BTreeMap<String, String>, AwsError> {
    let Some(map) = input.get(name).filter(|v| !v.is_null()) else {
        return Ok(Default::default());
    };
    let map = map.as_object().ok_or_else(|| {
        AwsError::invalid_parameter_value(format!("{name} must be a map of strings"))
    })?;
    map.iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k.clone(), s.clone())),
            Value::Number(n) => Ok((k.clone(), n.to_string())),
            Value::Bool(b) => Ok((k.clone(), b.to_string())),
            _ => Err(AwsError::invalid_parameter_value(format!(
                "{name}.{k} must be a string"
            ))),
        })
        .collect()
}

/// A list-of-strings parameter.
fn string_list(input: &Value, name: &str) -> Vec<String> {
    input[name]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// An optional whole-number parameter, checked against a range.
fn number(
    input: &Value,
    name: &str,
    range: std::ops::RangeInclusive<i64>,
) -> Result<Option<i64>, AwsError> {
    let value = match &input[name] {
        Value::Null => return Ok(None),
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    match value {
        Some(n) if range.contains(&n) => Ok(Some(n)),
        _ => Err(AwsError::invalid_parameter_value(format!(
            "Value {} for parameter {name} is invalid. Reason: Must be between {} and {}.",
            input[name],
            range.start(),
            range.end()
        ))),
    }
}
