//! EventBridge (AWS JSON 1.1, `X-Amz-Target: AWSEvents.<Op>`): every operation answered in
//! its JSON form over the same buses as the manifest, the control API and handlers'
//! `bus.PutEvents`, so what the API makes is listed in `/_sandbox/buses`, delivers through
//! the bus driver and survives a hot reload.
//!
//! - [`buses`]: `CreateEventBus`, `DescribeEventBus`, `ListEventBuses`, `UpdateEventBus`,
//!   `DeleteEventBus`.
//! - [`rules`]: `PutRule`, `DescribeRule`, `ListRules`, `DeleteRule`, `EnableRule`,
//!   `DisableRule`, and the targets (`PutTargets`, `RemoveTargets`, `ListTargetsByRule`,
//!   `ListRuleNamesByTarget`).
//! - [`events`]: `PutEvents`, `TestEventPattern`.
//! - [`archives`]: archives and replays.
//!
//! Errors use the model's shapes (`ResourceNotFoundException`, …) and AWS's generic
//! `ValidationException` for what the model leaves to it (a missing parameter, the default
//! bus refused deletion, a rule with targets refused deletion).

mod archives;
mod buses;
#[allow(clippy::module_inception)]
mod events;
mod rules;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};

use sandbox_ops::aws::resource_name;
use sandbox_services::bus::AdminError;
use sandbox_services::pattern::EventPattern;

use crate::protocol::Call;
use crate::{unsupported, Aws, AwsError};

pub(crate) async fn call(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    match call.operation.as_str() {
        "CreateEventBus" => buses::create(aws, call),
        "DescribeEventBus" => buses::describe(aws, call),
        "ListEventBuses" => buses::list(aws, call),
        "UpdateEventBus" => buses::update(aws, call),
        "DeleteEventBus" => buses::delete(aws, call),
        "PutRule" => rules::put(aws, call),
        "DescribeRule" => rules::describe(aws, call),
        "ListRules" => rules::list(aws, call),
        "DeleteRule" => rules::delete(aws, call),
        "EnableRule" => rules::enable(aws, call, true),
        "DisableRule" => rules::enable(aws, call, false),
        "PutTargets" => rules::put_targets(aws, call),
        "RemoveTargets" => rules::remove_targets(aws, call),
        "ListTargetsByRule" => rules::list_targets(aws, call),
        "ListRuleNamesByTarget" => rules::names_by_target(aws, call),
        "PutEvents" => events::put(aws, call),
        "TestEventPattern" => events::test_pattern(call),
        "CreateArchive" => archives::create(aws, call),
        "DescribeArchive" => archives::describe(aws, call),
        "ListArchives" => archives::list(aws, call),
        "UpdateArchive" => archives::update(aws, call),
        "DeleteArchive" => archives::delete(aws, call),
        "StartReplay" => archives::start_replay(aws, call),
        "DescribeReplay" => archives::describe_replay(aws, call),
        "ListReplays" => archives::list_replays(aws, call),
        "CancelReplay" => archives::cancel_replay(aws, call),
        _ => Err(unsupported(call)),
    }
}

/// AWS's generic validation error (not a shape of the model, but what EventBridge sends).
fn validation(message: impl Into<String>) -> AwsError {
    AwsError::sender("ValidationException", message)
}

fn not_found(message: impl Into<String>) -> AwsError {
    AwsError::sender("ResourceNotFoundException", message)
}

/// A required string member.
fn string<'a>(call: &'a Call, name: &str) -> Result<&'a str, AwsError> {
    match call.input[name].as_str() {
        Some(text) if !text.is_empty() => Ok(text),
        _ => Err(validation(format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
            lower_first(name)
        ))),
    }
}

/// An optional string member (`""` counts as absent).
fn optional<'a>(call: &'a Call, name: &str) -> Option<&'a str> {
    call.input[name].as_str().filter(|s| !s.is_empty())
}

use crate::error::member_name as lower_first;

/// The bus a call names by `EventBusName` (a name or an ARN); `default` when absent.
fn bus_name(call: &Call) -> String {
    optional(call, "EventBusName")
        .map(|name| resource_name(name).to_string())
        .unwrap_or_else(|| "default".to_string())
}

/// A timestamp in the JSON form: epoch seconds, milliseconds kept.
fn epoch(t: DateTime<Utc>) -> Value {
    json!(t.timestamp_millis() as f64 / 1000.0)
}

/// A timestamp member read from the JSON form (epoch seconds, or RFC 3339 text).
fn time_member(call: &Call, name: &str) -> Result<Option<DateTime<Utc>>, AwsError> {
    read_time(&call.input[name]).map_err(|_| validation(format!("Parameter {name} is not valid.")))
}

fn read_time(value: &Value) -> Result<Option<DateTime<Utc>>, ()> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => {
            let seconds = n.as_f64().ok_or(())?;
            let millis = (seconds * 1000.0).round() as i64;
            Utc.timestamp_millis_opt(millis)
                .single()
                .map(Some)
                .ok_or(())
        }
        Value::String(text) => DateTime::parse_from_rfc3339(text)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| ()),
        _ => Err(()),
    }
}

/// An `EventPattern` member compiled, or `InvalidEventPatternException` saying why.
fn pattern(text: &str) -> Result<EventPattern, AwsError> {
    let invalid = |reason: String| {
        AwsError::sender(
            "InvalidEventPatternException",
            format!("Event pattern is not valid. Reason: {reason}"),
        )
    };
    let value: Value = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
    EventPattern::compile(&value).map_err(|e| invalid(e.to_string()))
}

/// The AWS error for a refused management call.
fn admin(error: AdminError) -> AwsError {
    let message = error.to_string();
    match error {
        AdminError::UnknownBus(_)
        | AdminError::UnknownRule { .. }
        | AdminError::UnknownArchive(_)
        | AdminError::UnknownReplay(_) => not_found(message),
        AdminError::BusExists(_) | AdminError::ArchiveExists(_) => {
            AwsError::sender("ResourceAlreadyExistsException", message)
        }
        AdminError::TooManyTargets => AwsError::sender("LimitExceededException", message),
        AdminError::NotRunning(_) => AwsError::sender("IllegalStatusException", message),
        AdminError::DefaultBus | AdminError::RuleHasTargets => validation(message),
    }
}

/// One page of `items` by `Limit` (at most 100) and the opaque `NextToken` (an offset).
fn page<T>(call: &Call, items: Vec<T>) -> Result<(Vec<T>, Option<String>), AwsError> {
    let start = match optional(call, "NextToken") {
        None => 0,
        Some(token) => token
            .parse::<usize>()
            .map_err(|_| validation("The NextToken is not valid."))?,
    };
    let limit = match call.input["Limit"].as_u64() {
        None => 100,
        Some(n @ 1..=100) => n as usize,
        Some(_) => {
            return Err(validation(
                "1 validation error detected: Value at 'limit' failed to satisfy constraint: Member must have value between 1 and 100",
            ))
        }
    };
    let total = items.len();
    let items: Vec<T> = items.into_iter().skip(start).take(limit).collect();
    let end = start.saturating_add(limit);
    let next = (end < total).then(|| end.to_string());
    Ok((items, next))
}

/// `{"<key>": items}` plus `NextToken` when there is more.
fn listed(key: &str, items: Vec<Value>, next: Option<String>) -> Value {
    let mut out = json!({ key: items });
    if let Some(token) = next {
        out["NextToken"] = json!(token);
    }
    out
}

/// Removes `null` members (AWS omits what is not set).
fn compact(mut value: Value) -> Value {
    if let Value::Object(map) = &mut value {
        map.retain(|_, v| !v.is_null());
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_time_forms() {
        let t = read_time(&json!(1_893_456_000.5)).unwrap().unwrap();
        assert_eq!(t.timestamp_millis(), 1_893_456_000_500);
        let u = read_time(&json!("2030-01-01T00:00:00Z")).unwrap().unwrap();
        assert_eq!(u.timestamp(), 1_893_456_000);
        assert!(read_time(&json!(true)).is_err());
        assert_eq!(epoch(t), json!(1_893_456_000.5));
    }

    #[test]
    fn pages_by_limit_and_token() {
        let call = |input: Value| Call {
            service: crate::protocol::Service::Events,
            wire: crate::protocol::Wire::Json("1.1"),
            operation: "ListRules".into(),
            input,
            region: "us-east-1".into(),
            request_id: "r".into(),
            path: "/".into(),
        };
        let (first, next) = page(&call(json!({"Limit": 2})), vec![1, 2, 3]).unwrap();
        assert_eq!((first, next.as_deref()), (vec![1, 2], Some("2")));
        let (rest, next) =
            page(&call(json!({"Limit": 2, "NextToken": "2"})), vec![1, 2, 3]).unwrap();
        assert_eq!((rest, next), (vec![3], None));
        let huge = json!({"NextToken": usize::MAX.to_string()});
        assert_eq!(page(&call(huge), vec![1]).unwrap().0, Vec::<i32>::new());
        assert!(page(&call(json!({"NextToken": "x"})), vec![1]).is_err());
        assert!(page(&call(json!({"Limit": 0})), vec![1]).is_err());
    }

    #[test]
    fn bad_patterns_are_invalid_event_pattern() {
        assert_eq!(
            pattern("{").unwrap_err().code,
            "InvalidEventPatternException"
        );
        let err = pattern(r#"{"source": "x"}"#).unwrap_err();
        assert_eq!(err.code, "InvalidEventPatternException");
        assert!(pattern(r#"{"source": ["x"]}"#).is_ok());
    }
}
