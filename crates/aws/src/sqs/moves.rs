//! Message move tasks (`StartMessageMoveTask`): moving a dead-letter queue's messages
//! back to their source queues, or to a named destination. The sandbox moves them at once
//! (there is no throughput to respect on a laptop), so every task is `COMPLETED` by the
//! time it is listed and none can be cancelled.

use std::sync::Mutex;

use serde_json::{json, Value};

use sandbox_ops::aws::resource_name;

use super::{number, queue_error, required};
use crate::{Aws, AwsError};

/// The tasks started so far, newest last.
#[derive(Default)]
pub(crate) struct MoveTasks(Mutex<Vec<Value>>);

pub(super) fn start(aws: &Aws, input: &Value) -> Result<Value, AwsError> {
    let source_arn = required(input, "SourceArn")?.to_string();
    let source = resource_name(&source_arn).to_string();
    let destination_arn = input["DestinationArn"].as_str().map(str::to_string);
    let rate = number(input, "MaxNumberOfMessagesPerSecond", 1..=500)?;
    let moved = aws
        .triggers()
        .queues()
        .with_queues(|q, now| {
            q.get(&source)?;
            if q.dead_letter_sources(&source)?.is_empty() {
                return Ok(None);
            }
            let moved = match &destination_arn {
                Some(arn) => q.move_messages(&source, resource_name(arn), now)?,
                None => q.redrive(&source, now)?,
            };
            Ok(Some((moved, now)))
        })
        .map_err(AwsError::not_saved)?
        .map_err(|e| match e {
            sandbox_services::queue::Error::UnknownQueue { .. } => AwsError::sender(
                "ResourceNotFoundException",
                "The resource that you specified for the SourceArn parameter doesn't exist.",
            ),
            other => queue_error(other),
        })?;
    let Some((moved, now)) = moved else {
        return Err(AwsError::invalid_parameter_value(
            "Source queue must be configured as a Dead Letter Queue.",
        ));
    };
    let handle = uuid::Uuid::new_v4().to_string();
    let mut task = json!({
        "TaskHandle": handle,
        "Status": "COMPLETED",
        "SourceArn": source_arn,
        "ApproximateNumberOfMessagesMoved": moved,
        "ApproximateNumberOfMessagesToMove": moved,
        "StartedTimestamp": now.timestamp_millis(),
    });
    if let Some(arn) = destination_arn {
        task["DestinationArn"] = json!(arn);
    }
    if let Some(rate) = rate {
        task["MaxNumberOfMessagesPerSecond"] = json!(rate);
    }
    tracing::info!(target: "sandbox::aws", "queue {source}: message move task moved {moved} message(s)");
    aws.moves
        .0
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(task);
    Ok(json!({ "TaskHandle": handle }))
}

pub(super) fn list(aws: &Aws, input: &Value) -> Result<Value, AwsError> {
    let source_arn = required(input, "SourceArn")?;
    let max = number(input, "MaxResults", 1..=10)?.unwrap_or(1) as usize;
    let tasks = aws.moves.0.lock().unwrap_or_else(|p| p.into_inner());
    let results: Vec<Value> = tasks
        .iter()
        .rev()
        .filter(|t| t["SourceArn"] == source_arn)
        .take(max)
        .map(|t| {
            let mut t = t.clone();
            // Only a running task is listed with its handle.
            if let Some(o) = t.as_object_mut() {
                o.remove("TaskHandle");
            }
            t
        })
        .collect();
    Ok(json!({ "Results": results }))
}

pub(super) fn cancel(aws: &Aws, input: &Value) -> Result<Value, AwsError> {
    let handle = required(input, "TaskHandle")?;
    let known = aws
        .moves
        .0
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .any(|t| t["TaskHandle"] == handle);
    Err(AwsError::sender(
        "ResourceNotFoundException",
        if known {
            "The task has already completed: the sandbox moves messages at once, so no task is ever running."
        } else {
            "The task handle does not name a message move task."
        },
    ))
}
