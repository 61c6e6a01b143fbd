//! Target input shaping: constant input, InputPath, and the transformer's quoting rules.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{InputError, InputShape, RuleContext};

fn event() -> Value {
    json!({
        "version": "0",
        "id": "7bf73129",
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "time": "2015-11-11T21:29:54Z",
        "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
        "detail": {
            "instance-id": "i-0123456789",
            "state": "RUNNING",
            "count": 3,
            "quote": "say \"hi\"",
            "tags": {"team": "blue"},
            "items": [{"n": 1}, {"n": 2}]
        }
    })
}

const RULE: RuleContext<'static> = RuleContext {
    rule_name: "my-rule",
    rule_arn: "arn:aws:events:us-east-1:123456789012:rule/my-rule",
    ingestion_time: "2015-11-11T21:29:55Z",
};

fn transform(paths: &[(&str, &str)], template: &str) -> Result<String, InputError> {
    let map: BTreeMap<String, String> = paths
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    InputShape::compile(None, None, Some((&map, template)))?.apply(&event(), &RULE)
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{text} is not JSON: {e}"))
}

#[test]
fn no_settings_delivers_the_event() {
    let shape = InputShape::compile(None, None, None).unwrap();
    assert_eq!(json_of(&shape.apply(&event(), &RULE).unwrap()), event());
}

#[test]
fn constant_input() {
    let shape = InputShape::compile(Some(r#"{"fixed": true}"#), None, None).unwrap();
    assert_eq!(shape.apply(&event(), &RULE).unwrap(), r#"{"fixed": true}"#);
    assert!(matches!(
        InputShape::compile(Some("{nope"), None, None),
        Err(InputError::InvalidConstant(_))
    ));
}

#[test]
fn input_path() {
    let apply = |path: &str| {
        InputShape::compile(None, Some(path), None)
            .unwrap()
            .apply(&event(), &RULE)
            .unwrap()
    };
    assert_eq!(json_of(&apply("$.detail.tags")), json!({"team": "blue"}));
    assert_eq!(apply("$.detail.state"), r#""RUNNING""#);
    assert_eq!(apply("$.detail.items[1].n"), "2");
    assert_eq!(
        apply("$.resources[0]"),
        r#""arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111""#
    );
    assert_eq!(json_of(&apply("$")), event());
    assert_eq!(apply("$.detail.items[*].n"), "[1,2]");
    assert_eq!(apply("$.detail.nope"), "null");
    assert_eq!(apply("$.detail.items[9]"), "null");
    for bad in ["detail", "$..x", "$.a[x]", "$.a[0", "$.", "$x"] {
        assert!(
            matches!(
                InputShape::compile(None, Some(bad), None),
                Err(InputError::InvalidPath { .. })
            ),
            "{bad} should be refused"
        );
    }
}

#[test]
fn only_one_setting() {
    let map = BTreeMap::new();
    assert_eq!(
        InputShape::compile(Some("{}"), Some("$"), None),
        Err(InputError::Conflicting)
    );
    assert_eq!(
        InputShape::compile(None, Some("$"), Some((&map, "{}"))),
        Err(InputError::Conflicting)
    );
}

#[test]
fn transformer_inserts_json_outside_quotes_and_text_inside() {
    let out = transform(
        &[("instance", "$.detail.instance-id"), ("state", "$.detail.state"), ("count", "$.detail.count"), ("tags", "$.detail.tags")],
        r#"{"id": <instance>, "msg": "<instance> is in state <state>", "n": <count>, "ns": "<count>", "tags": <tags>, "t": "<tags>"}"#,
    )
    .unwrap();
    assert_eq!(
        json_of(&out),
        json!({
            "id": "i-0123456789",
            "msg": "i-0123456789 is in state RUNNING",
            "n": 3,
            "ns": "3",
            "tags": {"team": "blue"},
            "t": "{team:blue}"
        })
    );
}

#[test]
fn transformer_escapes_strings_inside_quotes() {
    let out = transform(&[("q", "$.detail.quote")], r#"{"said": "<q>!"}"#).unwrap();
    assert_eq!(json_of(&out), json!({"said": "say \"hi\"!"}));
}

#[test]
fn transformer_string_template() {
    // A quoted template is a JSON string; the values go in as text.
    let out = transform(
        &[
            ("instance", "$.detail.instance-id"),
            ("state", "$.detail.state"),
        ],
        r#""<instance> is in state <state>""#,
    )
    .unwrap();
    assert_eq!(out, r#""i-0123456789 is in state RUNNING""#);
    // Plain text is delivered as text.
    let out = transform(
        &[
            ("instance", "$.detail.instance-id"),
            ("state", "$.detail.state"),
        ],
        "<instance> is in state <state>",
    )
    .unwrap();
    assert_eq!(out, "i-0123456789 is in state RUNNING");
}

#[test]
fn transformer_missing_paths() {
    let out = transform(
        &[("gone", "$.detail.nothing")],
        r#"{"a": <gone>, "b": "x<gone>y"}"#,
    )
    .unwrap();
    assert_eq!(json_of(&out), json!({"a": null, "b": "xy"}));
    let out = transform(&[("gone", "$.detail.nothing")], "value: <gone>.").unwrap();
    assert_eq!(out, "value: .");
}

#[test]
fn transformer_predefined_variables() {
    let out = transform(
        &[],
        r#"{"rule": "<aws.events.rule-name>", "arn": <aws.events.rule-arn>, "at": "<aws.events.event.ingestion-time>", "event": <aws.events.event.json>, "envelope": <aws.events.event>}"#,
    )
    .unwrap();
    let out = json_of(&out);
    assert_eq!(out["rule"], "my-rule");
    assert_eq!(out["arn"], RULE.rule_arn);
    assert_eq!(out["at"], "2015-11-11T21:29:55Z");
    assert_eq!(out["event"], event());
    assert_eq!(out["envelope"]["source"], "aws.ec2");
    assert!(out["envelope"].get("detail").is_none());
}

#[test]
fn transformer_errors() {
    assert_eq!(
        transform(&[], r#"{"a": <nope>}"#),
        Err(InputError::UndefinedPlaceholder("nope".into()))
    );
    assert_eq!(
        transform(&[], r#"{"a": "<aws.events.event.json>"}"#),
        Err(InputError::EventInsideString(
            "aws.events.event.json".into()
        ))
    );
    assert!(matches!(
        transform(&[("aws.mine", "$.id")], "<aws.mine>"),
        Err(InputError::InvalidName(_, _))
    ));
    assert!(matches!(
        transform(&[("x", "id")], "<x>"),
        Err(InputError::InvalidPath { .. })
    ));
    assert_eq!(transform(&[], "  "), Err(InputError::EmptyTemplate));
    let many: Vec<(String, String)> = (0..101)
        .map(|i| (format!("v{i}"), "$.id".to_string()))
        .collect();
    let map: BTreeMap<String, String> = many.into_iter().collect();
    assert_eq!(
        InputShape::compile(None, None, Some((&map, "<v1>"))),
        Err(InputError::TooManyPaths(101))
    );
}

#[test]
fn transformer_keeps_angle_brackets_that_are_not_placeholders() {
    let out = transform(
        &[("n", "$.detail.count")],
        r#"{"expr": "1 < 2 and <n> > 1"}"#,
    )
    .unwrap();
    assert_eq!(json_of(&out), json!({"expr": "1 < 2 and 3 > 1"}));
}
