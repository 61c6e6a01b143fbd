//! SQS: every operation answered in its JSON form (the JSON 1.0 body, or the Query form
//! read by the model) over the same queues as the control API and handlers.

use serde_json::{json, Value};

use sandbox_ops::aws::resource_name;
use sandbox_ops::queues::SendMessage;

use crate::protocol::Call;
use crate::{unsupported, Aws, AwsError};

pub(crate) async fn call(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    match call.operation.as_str() {
        "GetQueueUrl" => get_queue_url(aws, call),
        "ListQueues" => list_queues(aws, call),
        "SendMessage" => send_message(aws, call),
        _ => Err(unsupported(call)),
    }
}

fn queue_url(aws: &Aws, name: &str) -> String {
    format!("{}/{}/{name}", aws.endpoint(), sandbox_ops::aws::ACCOUNT)
}

fn non_existent(name: &str) -> AwsError {
    AwsError::sender(
        "QueueDoesNotExist",
        format!("The specified queue {name} does not exist."),
    )
    .with_query_code("AWS.SimpleQueueService.NonExistentQueue")
}

fn string<'a>(call: &'a Call, name: &str) -> Result<&'a str, AwsError> {
    call.input[name]
        .as_str()
        .ok_or_else(|| AwsError::missing_parameter(name))
}

/// The queue a call names by `QueueUrl` (or, in the Query protocol, by its path).
fn queue_name(aws: &Aws, call: &Call) -> Result<String, AwsError> {
    let url = match call.input["QueueUrl"].as_str() {
        Some(url) => url,
        None if call.path.len() > 1 => call.path.as_str(),
        None => return Err(AwsError::missing_parameter("QueueUrl")),
    };
    let name = resource_name(url).to_string();
    if aws
        .triggers()
        .queues()
        .with_queues(|q, _| q.get(&name).is_ok())
    {
        Ok(name)
    } else {
        Err(non_existent(&name))
    }
}

fn get_queue_url(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let name = string(call, "QueueName")?;
    if aws
        .triggers()
        .queues()
        .with_queues(|q, _| q.get(name).is_ok())
    {
        Ok(json!({ "QueueUrl": queue_url(aws, name) }))
    } else {
        Err(non_existent(name))
    }
}

fn list_queues(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let prefix = call.input["QueueNamePrefix"].as_str().unwrap_or("");
    let names = aws.triggers().queues().with_queues(|q, _| q.names());
    let urls: Vec<String> = names
        .iter()
        .filter(|n| n.starts_with(prefix))
        .map(|n| queue_url(aws, n))
        .collect();
    Ok(json!({ "QueueUrls": urls }))
}

fn send_message(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let name = queue_name(aws, call)?;
    let mut input = call.input.clone();
    if let Some(object) = input.as_object_mut() {
        object.remove("QueueUrl");
        object.remove("MessageSystemAttributes");
    }
    let op: SendMessage = serde_json::from_value(input)
        .map_err(|e| AwsError::invalid_parameter_value(e.to_string()))?;
    let request = sandbox_triggers::send_request(op, "AIDASANDBOXSDKUSER")
        .map_err(|e| AwsError::invalid_parameter_value(e.message))?;
    let receipt = aws
        .triggers()
        .queues()
        .send(&name, request)
        .map_err(|e| AwsError::invalid_parameter_value(e.message))?;
    let mut out = json!({
        "MessageId": receipt.message_id,
        "MD5OfMessageBody": receipt.md5_of_body,
    });
    if let Some(md5) = receipt.md5_of_message_attributes {
        out["MD5OfMessageAttributes"] = json!(md5);
    }
    if let Some(seq) = receipt.sequence_number {
        out["SequenceNumber"] = json!(seq);
    }
    Ok(out)
}
