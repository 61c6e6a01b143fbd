//! Rules and their targets (and `ListRuleNamesByTarget`). A rule has an `EventPattern`, a `ScheduleExpression` or both
//! (schedules only on the default bus, as AWS); a schedule rule sends the "Scheduled
//! Event" to its targets at every tick on the sandbox clock (`sandbox_services::bus`'s
//! timers). `PutRule` on an existing rule replaces its settings and keeps its targets, as
//! AWS does.
//!
//! Targets are the app's own resources: Lambda function ARNs
//! (`arn:aws:lambda:us-east-1:123456789012:function:<path with / as ->`), queue ARNs and
//! topic ARNs. An ARN naming anything else fails that entry (`FailedEntries`), the other
//! entries are still put.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use sandbox_ops::aws::{
    function_arn, queue_arn, resource_name, rule_arn, topic_arn, ACCOUNT, REGION,
};
use sandbox_services::bus::{BusTarget, Origin, RuleConfig, RuleTargetConfig, TargetInput};
use sandbox_services::schedule::ScheduleExpr;

use super::{admin, bus_name, compact, listed, optional, page, pattern, string, validation};
use crate::protocol::Call;
use crate::{Aws, AwsError};

/// Most targets one `PutTargets` or `RemoveTargets` call may carry.
const MAX_PER_CALL: usize = 10;

/// AWS's rule and target id rule: 1 to 64 of letters, digits, `.`, `-` and `_`.
fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

fn state(enabled: bool) -> &'static str {
    if enabled {
        "ENABLED"
    } else {
        "DISABLED"
    }
}

fn rule_json(bus: &str, rule: &RuleConfig) -> Value {
    compact(json!({
        "Name": rule.name,
        "Arn": rule_arn(bus, &rule.name),
        "EventPattern": rule.pattern_text,
        "ScheduleExpression": rule.schedule,
        "State": state(rule.enabled),
        "Description": rule.description,
        "EventBusName": bus,
    }))
}

/// The rule `PutRule` describes (without targets).
fn read_rule(call: &Call, bus: &str) -> Result<RuleConfig, AwsError> {
    let name = string(call, "Name")?;
    if !valid_name(name) {
        return Err(validation(format!(
            "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+"
        )));
    }
    let text = optional(call, "EventPattern");
    let schedule = optional(call, "ScheduleExpression");
    if text.is_none() && schedule.is_none() {
        return Err(validation(
            "Parameter(s) EventPattern or ScheduleExpression must be specified.",
        ));
    }
    let compiled = text.map(pattern).transpose()?;
    if let Some(expression) = schedule {
        if bus != "default" {
            return Err(validation(
                "ScheduleExpression is supported only on the default event bus.",
            ));
        }
        ScheduleExpr::parse(expression)
            .map_err(|e| validation(format!("Parameter ScheduleExpression is not valid. ({e})")))?;
    }
    let enabled = match optional(call, "State") {
        None | Some("ENABLED") | Some("ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS") => true,
        Some("DISABLED") => false,
        Some(other) => {
            return Err(validation(format!(
                "1 validation error detected: Value '{other}' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]"
            )))
        }
    };
    Ok(RuleConfig {
        name: name.to_string(),
        pattern: compiled,
        pattern_text: text.map(str::to_string),
        schedule: schedule.map(str::to_string),
        description: optional(call, "Description").map(str::to_string),
        enabled,
        targets: Vec::new(),
        origin: Origin::Api,
    })
}

pub(super) fn put(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let bus = bus_name(call);
    let rule = read_rule(call, &bus)?;
    let name = rule.name.clone();
    aws.triggers()
        .buses()
        .change_buses(|b, now| b.put_rule(&bus, rule, now))
        .map_err(AwsError::not_saved)?
        .map_err(admin)?;
    Ok(json!({ "RuleArn": rule_arn(&bus, &name) }))
}

pub(super) fn describe(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let bus = bus_name(call);
    let name = string(call, "Name")?;
    let rule = aws
        .triggers()
        .buses()
        .with_buses(|b, _| b.rule(&bus, name))
        .map_err(admin)?;
    let mut out = rule_json(&bus, &rule);
    out["CreatedBy"] = json!(ACCOUNT);
    Ok(out)
}

pub(super) fn list(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let bus = bus_name(call);
    let prefix = optional(call, "NamePrefix").unwrap_or("");
    let rules = aws
        .triggers()
        .buses()
        .with_buses(|b, _| b.rules(&bus))
        .map_err(admin)?;
    let rules: Vec<Value> = rules
        .iter()
        .filter(|r| r.name.starts_with(prefix))
        .map(|r| rule_json(&bus, r))
        .collect();
    let (rules, next) = page(call, rules)?;
    Ok(listed("Rules", rules, next))
}

pub(super) fn delete(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let bus = bus_name(call);
    let name = string(call, "Name")?;
    aws.triggers()
        .buses()
        .change_buses(|b, _| b.delete_rule(&bus, name))
        .map_err(AwsError::not_saved)?
        .map_err(admin)?;
    Ok(json!({}))
}

pub(super) fn enable(aws: &Aws, call: &Call, enabled: bool) -> Result<Value, AwsError> {
    let bus = bus_name(call);
    let name = string(call, "Name")?;
    aws.triggers()
        .buses()
        .change_buses(|b, _| b.set_rule_enabled(&bus, name, enabled))
        .map_err(AwsError::not_saved)?
        .map_err(admin)?;
    Ok(json!({}))
}

/// The app resource a target ARN names, or the entry's error code and message.
fn resolve(aws: &Aws, arn: &str) -> Result<BusTarget, (&'static str, String)> {
    let parts: Vec<&str> = arn.split(':').collect();
    let missing = |what: &str, known: String| {
        (
            "ResourceNotFoundException",
            format!("Target {arn} does not name a {what} of the app ({what}s: {known})."),
        )
    };
    match parts.as_slice() {
        ["arn", "aws", "lambda", _, _, "function", name, ..] => {
            aws.triggers().buses().function_named(name).map(BusTarget::Function).ok_or_else(|| {
                missing("function", "its Lambda names are the function paths with `/` as `-`".into())
            })
        }
        ["arn", "aws", "sqs", _, _, name] => {
            let names = aws.triggers().queues().read_queues(|q, _| q.names());
            if names.iter().any(|n| n == name) {
                Ok(BusTarget::Queue(name.to_string()))
            } else {
                Err(missing("queue", names.join(", ")))
            }
        }
        ["arn", "aws", "sns", _, _, name] => {
            let names = aws.triggers().topics().names();
            if names.iter().any(|n| n == name) {
                Ok(BusTarget::Topic(name.to_string()))
            } else {
                Err(missing("topic", names.join(", ")))
            }
        }
        _ => Err((
            "ValidationException",
            format!("Target {arn} is not supported by the sandbox: targets are the app's Lambda functions, SQS queues and SNS topics."),
        )),
    }
}

/// A target's input settings as the call writes them.
fn written(target: &Value) -> TargetInput {
    let text = |name: &str| target[name].as_str().map(str::to_string);
    let transformer = &target["InputTransformer"];
    TargetInput {
        input: text("Input"),
        input_path: text("InputPath"),
        input_transformer: transformer["InputTemplate"].as_str().map(|template| {
            let paths: BTreeMap<String, String> = transformer["InputPathsMap"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default();
            (paths, template.to_string())
        }),
    }
}

fn failed(id: &str, code: &str, message: String) -> Value {
    json!({ "TargetId": id, "ErrorCode": code, "ErrorMessage": message })
}

fn targets_member(call: &Call, name: &str) -> Result<Vec<Value>, AwsError> {
    let items = call.input[name].as_array().cloned().unwrap_or_default();
    if items.is_empty() || items.len() > MAX_PER_CALL {
        return Err(validation(format!(
            "1 validation error detected: Value at '{}' failed to satisfy constraint: Member must have length between 1 and {MAX_PER_CALL}",
            super::lower_first(name)
        )));
    }
    Ok(items)
}

pub(super) fn put_targets(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let bus = bus_name(call);
    let rule = string(call, "Rule")?;
    // The rule first: an unknown rule fails the whole call.
    aws.triggers()
        .buses()
        .with_buses(|b, _| b.rule(&bus, rule))
        .map_err(admin)?;
    let mut accepted = Vec::new();
    let mut failures = Vec::new();
    for target in targets_member(call, "Targets")? {
        let id = target["Id"].as_str().unwrap_or("");
        if !valid_name(id) {
            return Err(validation(format!("Parameter Id of target `{id}` is not valid: 1 to 64 letters, digits, `.`, `-` or `_`.")));
        }
        let arn = target["Arn"].as_str().unwrap_or("");
        let kind = match resolve(aws, arn) {
            Ok(kind) => kind,
            Err((code, message)) => {
                failures.push(failed(id, code, message));
                continue;
            }
        };
        let config = RuleTargetConfig::compile(id, kind, written(&target))
            .map_err(|e| validation(format!("Target {id}: {e}")))?;
        accepted.push(RuleTargetConfig {
            origin: Origin::Api,
            ..config
        });
    }
    if !accepted.is_empty() {
        aws.triggers()
            .buses()
            .change_buses(|b, _| b.put_targets(&bus, rule, accepted))
            .map_err(AwsError::not_saved)?
            .map_err(admin)?;
    }
    Ok(json!({ "FailedEntryCount": failures.len(), "FailedEntries": failures }))
}

pub(super) fn remove_targets(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let bus = bus_name(call);
    let rule = string(call, "Rule")?;
    let ids: Vec<String> = targets_member(call, "Ids")?
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    let dropped = aws
        .triggers()
        .buses()
        .change_buses(|b, _| b.remove_targets(&bus, rule, &ids))
        .map_err(AwsError::not_saved)?
        .map_err(admin)?;
    if dropped > 0 {
        tracing::warn!(
            "bus {bus}: rule {rule}: {dropped} pending delivery(ies) to removed targets dropped"
        );
    }
    Ok(json!({ "FailedEntryCount": 0, "FailedEntries": [] }))
}

fn target_arn(target: &BusTarget) -> String {
    match target {
        BusTarget::Function(f) => function_arn(f),
        BusTarget::Queue(q) => queue_arn(q, REGION, ACCOUNT),
        BusTarget::Topic(t) => topic_arn(t),
    }
}

fn target_json(target: &RuleTargetConfig) -> Value {
    let w = &target.written;
    compact(json!({
        "Id": target.id,
        "Arn": target_arn(&target.target),
        "Input": w.input,
        "InputPath": w.input_path,
        "InputTransformer": w.input_transformer.as_ref().map(|(paths, template)| json!({
            "InputPathsMap": paths,
            "InputTemplate": template,
        })),
    }))
}

pub(super) fn list_targets(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let bus = bus_name(call);
    let rule = resource_name(string(call, "Rule")?).to_string();
    let rule = aws
        .triggers()
        .buses()
        .with_buses(|b, _| b.rule(&bus, &rule))
        .map_err(admin)?;
    let targets: Vec<Value> = rule.targets.iter().map(target_json).collect();
    let (targets, next) = page(call, targets)?;
    Ok(listed("Targets", targets, next))
}

pub(super) fn names_by_target(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let bus = bus_name(call);
    let arn = string(call, "TargetArn")?;
    let rules = aws
        .triggers()
        .buses()
        .with_buses(|b, _| b.rules(&bus))
        .map_err(admin)?;
    let names: Vec<Value> = rules
        .iter()
        .filter(|r| r.targets.iter().any(|t| target_arn(&t.target) == arn))
        .map(|r| json!(r.name))
        .collect();
    let (names, next) = page(call, names)?;
    Ok(listed("RuleNames", names, next))
}
