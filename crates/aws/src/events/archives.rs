//! Archives and replays. Archive and replay names are unique across buses (AWS names them
//! per account and region); an archive records the events of the bus its
//! `EventSourceArn` names, and a replay sends an archive's events back to that same bus
//! (`Destination.Arn`), all at once (see `sandbox_services::bus::buses`).

use serde_json::{json, Value};

use sandbox_ops::aws::{archive_arn, bus_arn, replay_arn, resource_name, rule_arn};
use sandbox_services::bus::{
    ArchiveConfig, ArchiveDetail, ArchiveUpdate, ReplayInfo, ReplayRequest,
};

use super::{
    admin, compact, epoch, listed, not_found, optional, page, pattern, string, time_member,
    validation,
};
use crate::protocol::Call;
use crate::{Aws, AwsError};

/// AWS's archive and replay name rule: 1 to 64 of letters, digits, `.`, `-` and `_`.
fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

fn name_member<'a>(call: &'a Call, member: &str) -> Result<&'a str, AwsError> {
    let name = string(call, member)?;
    if valid_name(name) {
        Ok(name)
    } else {
        Err(validation(format!(
            "Parameter {member} is not valid: 1 to 64 letters, digits, `.`, `-` or `_`."
        )))
    }
}

/// `RetentionDays`: absent or 0 keeps events forever.
fn retention(call: &Call) -> Option<u32> {
    call.input["RetentionDays"]
        .as_u64()
        .filter(|d| *d > 0)
        .map(|d| d.min(u64::from(u32::MAX)) as u32)
}

fn archive_json(a: &ArchiveDetail) -> Value {
    compact(json!({
        "ArchiveArn": archive_arn(&a.info.name),
        "ArchiveName": a.info.name,
        "EventSourceArn": bus_arn(&a.info.bus),
        "Description": a.description,
        "EventPattern": a.pattern_text,
        "State": "ENABLED",
        "RetentionDays": a.info.retention_days.unwrap_or(0),
        "SizeBytes": a.info.size_bytes,
        "EventCount": a.info.event_count,
        "CreationTime": a.created_at.map(epoch),
    }))
}

pub(super) fn create(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let name = name_member(call, "ArchiveName")?;
    let bus = resource_name(string(call, "EventSourceArn")?).to_string();
    let text = optional(call, "EventPattern");
    let config = ArchiveConfig {
        pattern: text.map(pattern).transpose()?,
        pattern_text: text.map(str::to_string),
        description: optional(call, "Description").map(str::to_string),
        retention_days: retention(call),
        ..ArchiveConfig::new(name)
    };
    let detail = aws
        .triggers()
        .buses()
        .change_buses(|b, now| {
            b.create_archive(&bus, config, now)?;
            b.archive_detail(name, now)
        })
        .map_err(AwsError::not_saved)?
        .map_err(admin)?;
    tracing::info!("bus {bus}: archive {name} created through the AWS API");
    Ok(compact(json!({
        "ArchiveArn": archive_arn(name),
        "State": "ENABLED",
        "CreationTime": detail.created_at.map(epoch),
    })))
}

pub(super) fn describe(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let name = string(call, "ArchiveName")?;
    let detail = aws
        .triggers()
        .buses()
        .with_buses(|b, now| b.archive_detail(name, now))
        .map_err(admin)?;
    Ok(archive_json(&detail))
}

pub(super) fn list(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let prefix = optional(call, "NamePrefix").unwrap_or("");
    let source = optional(call, "EventSourceArn").map(resource_name);
    let state = optional(call, "State");
    let all = aws
        .triggers()
        .buses()
        .with_buses(|b, now| b.archive_details(now));
    let archives: Vec<Value> = all
        .iter()
        .filter(|a| a.info.name.starts_with(prefix))
        .filter(|a| source.is_none_or(|bus| a.info.bus == bus))
        .filter(|_| state.is_none_or(|s| s == "ENABLED"))
        .map(archive_json)
        .collect();
    let (archives, next) = page(call, archives)?;
    Ok(listed("Archives", archives, next))
}

pub(super) fn update(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let name = string(call, "ArchiveName")?;
    let text = optional(call, "EventPattern");
    let update = ArchiveUpdate {
        pattern: text
            .map(|t| pattern(t).map(|p| (p, t.to_string())))
            .transpose()?,
        description: optional(call, "Description").map(str::to_string),
        retention_days: (!call.input["RetentionDays"].is_null()).then(|| retention(call)),
    };
    let detail = aws
        .triggers()
        .buses()
        .change_buses(|b, now| {
            b.update_archive(name, update)?;
            b.archive_detail(name, now)
        })
        .map_err(AwsError::not_saved)?
        .map_err(admin)?;
    Ok(compact(json!({
        "ArchiveArn": archive_arn(name),
        "State": "ENABLED",
        "CreationTime": detail.created_at.map(epoch),
    })))
}

pub(super) fn delete(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let name = string(call, "ArchiveName")?;
    aws.triggers()
        .buses()
        .change_buses(|b, _| b.delete_archive(name))
        .map_err(AwsError::not_saved)?
        .map_err(admin)?;
    Ok(json!({}))
}

fn replay_json(r: &ReplayInfo) -> Value {
    let state = serde_json::to_value(r.state).unwrap_or(Value::Null);
    compact(json!({
        "ReplayName": r.name,
        "ReplayArn": replay_arn(&r.name),
        "State": state,
        "EventSourceArn": archive_arn(&r.archive),
        "Destination": compact(json!({
            "Arn": bus_arn(&r.bus),
            "FilterArns": r.rules.as_ref().map(|rules| {
                rules.iter().map(|rule| rule_arn(&r.bus, rule)).collect::<Vec<_>>()
            }),
        })),
        "EventStartTime": epoch(r.from),
        "EventEndTime": epoch(r.to),
        "EventLastReplayedTime": r.last_event_time.map(epoch),
        "ReplayStartTime": epoch(r.started_at),
        "ReplayEndTime": r.ended_at.map(epoch),
    }))
}

/// The replay `StartReplay` asks for, on the bus of its archive.
fn read_replay(aws: &Aws, call: &Call) -> Result<(String, ReplayRequest), AwsError> {
    let name = name_member(call, "ReplayName")?;
    let archive = resource_name(string(call, "EventSourceArn")?).to_string();
    let destination = call.input["Destination"]["Arn"]
        .as_str()
        .ok_or_else(|| validation("Parameter Destination.Arn must be specified."))?;
    let from = time_member(call, "EventStartTime")?
        .ok_or_else(|| validation("Parameter EventStartTime must be specified."))?;
    let to = time_member(call, "EventEndTime")?
        .ok_or_else(|| validation("Parameter EventEndTime must be specified."))?;
    let (bus, existing) = aws.triggers().buses().with_buses(|b, now| {
        (
            b.archive_detail(&archive, now).map(|a| a.info.bus),
            b.find_replay(name),
        )
    });
    let bus = bus.map_err(admin)?;
    if existing.is_some() {
        return Err(AwsError::sender(
            "ResourceAlreadyExistsException",
            format!("Replay {name} already exists."),
        ));
    }
    if resource_name(destination) != bus {
        return Err(validation(format!(
            "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted (archive {archive} is of bus {bus})."
        )));
    }
    let rules = call.input["Destination"]["FilterArns"]
        .as_array()
        .map(|arns| {
            arns.iter()
                .filter_map(|a| a.as_str())
                .map(|a| a.rsplit('/').next().unwrap_or(a).to_string())
                .collect()
        });
    Ok((
        bus,
        ReplayRequest {
            name: name.to_string(),
            archive,
            from,
            to,
            rules,
        },
    ))
}

pub(super) fn start_replay(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let (bus, request) = read_replay(aws, call)?;
    let triggers = aws.triggers();
    let info = triggers
        .buses()
        .replay(triggers.topics(), &bus, request)
        .map_err(|e| match e.status {
            404 => not_found(e.message),
            409 => AwsError::sender("ResourceAlreadyExistsException", e.message),
            _ => validation(e.message),
        })?;
    Ok(json!({
        "ReplayArn": replay_arn(&info.name),
        "State": serde_json::to_value(info.state).unwrap_or(Value::Null),
        "ReplayStartTime": epoch(info.started_at),
    }))
}

fn find(aws: &Aws, name: &str) -> Result<ReplayInfo, AwsError> {
    aws.triggers()
        .buses()
        .with_buses(|b, _| b.find_replay(name))
        .ok_or_else(|| not_found(format!("Replay {name} does not exist.")))
}

pub(super) fn describe_replay(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    Ok(replay_json(&find(aws, string(call, "ReplayName")?)?))
}

pub(super) fn list_replays(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let prefix = optional(call, "NamePrefix").unwrap_or("");
    let state = optional(call, "State");
    let source = optional(call, "EventSourceArn").map(resource_name);
    let all = aws.triggers().buses().with_buses(|b, _| b.all_replays());
    let replays: Vec<Value> = all
        .iter()
        .filter(|r| r.name.starts_with(prefix))
        .filter(|r| source.is_none_or(|a| r.archive == a))
        .map(replay_json)
        .filter(|r| state.is_none_or(|s| r["State"] == s))
        .collect();
    let (replays, next) = page(call, replays)?;
    Ok(listed("Replays", replays, next))
}

pub(super) fn cancel_replay(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let name = string(call, "ReplayName")?;
    aws.triggers()
        .buses()
        .change_buses(|b, now| b.cancel_replay(name, now))
        .map_err(AwsError::not_saved)?
        .map_err(admin)?;
    tracing::info!("replay {name}: cancelled through the AWS API");
    Ok(json!({ "ReplayArn": replay_arn(name), "State": "CANCELLED" }))
}
