//! Event buses: create, describe, list, update (the description), delete. Names follow AWS's rules; `default` always
//! exists and cannot be deleted. Deleting a bus removes its rules and archives with it.

use serde_json::{json, Value};

use sandbox_ops::aws::bus_arn;
use sandbox_services::bus::BusInfo;

use super::{admin, compact, epoch, listed, optional, page, string, validation};
use crate::protocol::Call;
use crate::{Aws, AwsError};

/// AWS's bus name rule: 1 to 256 of letters, digits, `.`, `-`, `_` and `/`.
fn valid_name(name: &str) -> bool {
    name.len() <= 256
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/'))
}

pub(super) fn create(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let name = string(call, "Name")?;
    if !valid_name(name) {
        return Err(validation(format!(
            "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [/\\.\\-_A-Za-z0-9]+"
        )));
    }
    if optional(call, "EventSourceName").is_some() {
        return Err(validation(
            "Partner event sources are not available in the sandbox.",
        ));
    }
    let description = optional(call, "Description").map(str::to_string);
    aws.triggers()
        .buses()
        .create_bus(name, description.clone())
        .map_err(AwsError::not_saved)?
        .map_err(admin)?;
    tracing::info!("bus {name}: created through the AWS API");
    Ok(compact(json!({
        "EventBusArn": bus_arn(name),
        "Description": description,
    })))
}

fn describe_bus(info: &BusInfo) -> Value {
    compact(json!({
        "Name": info.name,
        "Arn": bus_arn(&info.name),
        "Description": info.description,
        "CreationTime": info.created_at.map(epoch),
        "LastModifiedTime": info.created_at.map(epoch),
    }))
}

pub(super) fn describe(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let name = optional(call, "Name")
        .map(|n| sandbox_ops::aws::resource_name(n).to_string())
        .unwrap_or_else(|| "default".to_string());
    let info = aws
        .triggers()
        .buses()
        .with_buses(|b, _| b.bus_info(&name))
        .map_err(admin)?;
    Ok(describe_bus(&info))
}

pub(super) fn list(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let prefix = optional(call, "NamePrefix").unwrap_or("");
    let infos: Vec<BusInfo> = aws.triggers().buses().with_buses(|b, _| {
        b.names()
            .iter()
            .filter(|n| n.starts_with(prefix))
            .filter_map(|n| b.bus_info(n).ok())
            .collect()
    });
    let (infos, next) = page(call, infos)?;
    Ok(listed(
        "EventBuses",
        infos.iter().map(describe_bus).collect(),
        next,
    ))
}

pub(super) fn delete(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let name = string(call, "Name")?;
    let existed = aws
        .triggers()
        .buses()
        .change_buses(|b, _| b.delete_bus(name))
        .map_err(AwsError::not_saved)?
        .map_err(admin)?;
    if existed {
        tracing::info!("bus {name}: deleted through the AWS API (with its rules and archives)");
    }
    Ok(json!({}))
}

pub(super) fn update(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let name = optional(call, "Name")
        .map(|n| sandbox_ops::aws::resource_name(n).to_string())
        .unwrap_or_else(|| "default".to_string());
    let description = optional(call, "Description").map(str::to_string);
    aws.triggers()
        .buses()
        .change_buses(|b, _| b.set_bus_description(&name, description.clone()))
        .map_err(AwsError::not_saved)?
        .map_err(admin)?;
    Ok(compact(json!({
        "Arn": bus_arn(&name),
        "Name": name,
        "Description": description,
    })))
}
