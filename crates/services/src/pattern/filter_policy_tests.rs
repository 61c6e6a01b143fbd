//! Match / no-match tables for SNS filter policies in both scopes, and their limits.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{AttributeValue, FilterPolicy, Scope};

fn attributes() -> BTreeMap<String, AttributeValue> {
    let attr = |data_type: &str, value: &str| AttributeValue {
        data_type: data_type.to_string(),
        value: value.to_string(),
    };
    BTreeMap::from([
        ("store".to_string(), attr("String", "example_corp")),
        ("event".to_string(), attr("String", "order_placed")),
        ("price".to_string(), attr("Number", "210.75")),
        ("qty".to_string(), attr("Number.int", "3")),
        ("zero".to_string(), attr("Number", "0")),
        (
            "customer_interests".to_string(),
            attr("String.Array", r#"["soccer", "rugby", 7]"#),
        ),
        ("encrypted".to_string(), attr("Binary", "AAEC")),
        ("source_ip".to_string(), attr("String", "192.168.1.20")),
        ("text_number".to_string(), attr("String", "100")),
        ("broken_array".to_string(), attr("String.Array", "not json")),
    ])
}

fn check_attrs(policy: Value, expected: bool) {
    let compiled = FilterPolicy::compile(&policy, Scope::MessageAttributes)
        .unwrap_or_else(|e| panic!("policy {policy} failed to compile: {e}"));
    assert_eq!(
        compiled.matches_attributes(&attributes()),
        expected,
        "attribute policy {policy}"
    );
}

#[test]
fn attribute_policies() {
    let cases = [
        (json!({"store": ["example_corp"]}), true),
        (json!({"store": ["other_corp"]}), false),
        (json!({"store": ["a", "example_corp"]}), true),
        (
            json!({"store": ["example_corp"], "event": ["order_cancelled"]}),
            false,
        ),
        (
            json!({"store": ["example_corp"], "event": [{"prefix": "order_"}]}),
            true,
        ),
        (json!({"event": [{"suffix": "_placed"}]}), true),
        (json!({"event": [{"suffix": "_shipped"}]}), false),
        (
            json!({"event": [{"equals-ignore-case": "ORDER_PLACED"}]}),
            true,
        ),
        (
            json!({"event": [{"anything-but": "order_cancelled"}]}),
            true,
        ),
        (
            json!({"event": [{"anything-but": ["order_placed", "x"]}]}),
            false,
        ),
        (
            json!({"event": [{"anything-but": {"prefix": "order"}}]}),
            false,
        ),
        (
            json!({"event": [{"anything-but": {"prefix": "refund"}}]}),
            true,
        ),
        (json!({"price": [{"numeric": [">=", 100, "<", 500]}]}), true),
        (json!({"price": [{"numeric": ["<", 100]}]}), false),
        (json!({"price": [210.75]}), true),
        (json!({"qty": [{"numeric": ["=", 3]}]}), true),
        (json!({"qty": [3.0]}), true),
        (json!({"zero": [{"numeric": ["<=", 0]}]}), true),
        (json!({"price": [{"anything-but": [100, 200]}]}), true),
        (json!({"price": [{"anything-but": 210.75}]}), false),
        // Numbers match Number attributes, not strings that look like numbers.
        (json!({"text_number": [100]}), false),
        (json!({"text_number": [{"numeric": [">", 1]}]}), false),
        (json!({"text_number": ["100"]}), true),
        (json!({"price": ["210.75"]}), false),
        // String.Array: any element.
        (json!({"customer_interests": ["rugby"]}), true),
        (json!({"customer_interests": ["tennis"]}), false),
        (json!({"customer_interests": [{"prefix": "soc"}]}), true),
        (json!({"customer_interests": [7]}), true),
        (
            json!({"customer_interests": [{"anything-but": "soccer"}]}),
            true,
        ),
        (json!({"broken_array": ["not json"]}), false),
        // Binary attributes are ignored by SNS filtering.
        (json!({"encrypted": ["AAEC"]}), false),
        (json!({"encrypted": [{"exists": true}]}), false),
        (json!({"encrypted": [{"exists": false}]}), true),
        (json!({"store": [{"exists": true}]}), true),
        (json!({"missing": [{"exists": true}]}), false),
        (json!({"missing": [{"exists": false}]}), true),
        (json!({"missing": ["x"]}), false),
        (json!({"source_ip": [{"cidr": "192.168.1.0/24"}]}), true),
        (json!({"source_ip": [{"cidr": "192.168.2.0/24"}]}), false),
        (
            json!({"$or": [{"store": ["nope"]}, {"event": ["order_placed"]}]}),
            true,
        ),
        (
            json!({"$or": [{"store": ["nope"]}, {"event": ["nope"]}]}),
            false,
        ),
        (
            json!({"store": ["example_corp"], "$or": [{"price": [{"numeric": [">", 1000]}]}, {"qty": [3]}]}),
            true,
        ),
        (json!({}), true),
    ];
    for (policy, expected) in cases {
        check_attrs(policy, expected);
    }
}

#[test]
fn attributes_by_lookup() {
    let policy =
        FilterPolicy::compile(&json!({"color": ["red"]}), Scope::MessageAttributes).unwrap();
    assert!(policy.matches_attributes_with(|name| (name == "color").then_some(("String", "red"))));
    assert!(!policy.matches_attributes_with(|_| None));
}

fn body() -> Value {
    json!({
        "store": "example_corp",
        "order": {"total": 42.5, "lines": [{"sku": "a"}, {"sku": "b"}], "status": "PAID"},
        "tags": ["gift", "express"],
        "ip": "10.1.2.3"
    })
}

fn check_body(policy: Value, expected: bool) {
    let compiled = FilterPolicy::compile(&policy, Scope::MessageBody)
        .unwrap_or_else(|e| panic!("policy {policy} failed to compile: {e}"));
    assert_eq!(
        compiled.matches_body(&body()),
        expected,
        "body policy {policy}"
    );
    assert_eq!(
        compiled.matches_body_text(&body().to_string()),
        expected,
        "body text policy {policy}"
    );
}

#[test]
fn body_policies() {
    let cases = [
        (json!({"store": ["example_corp"]}), true),
        (
            json!({"order": {"total": [{"numeric": [">", 40, "<=", 50]}]}}),
            true,
        ),
        (json!({"order": {"total": [{"numeric": [">", 50]}]}}), false),
        (json!({"order": {"lines": {"sku": ["b"]}}}), true),
        (json!({"order": {"lines": {"sku": ["c"]}}}), false),
        (
            json!({"order": {"status": [{"equals-ignore-case": "paid"}]}}),
            true,
        ),
        (json!({"order": {"refund": [{"exists": false}]}}), true),
        (json!({"order": {"status": [{"exists": false}]}}), false),
        (json!({"tags": ["express"]}), true),
        (json!({"tags": [{"anything-but": {"prefix": "gi"}}]}), true),
        (json!({"ip": [{"cidr": "10.0.0.0/8"}]}), true),
        (
            json!({"$or": [{"store": ["x"]}, {"order": {"status": ["PAID"]}}]}),
            true,
        ),
    ];
    for (policy, expected) in cases {
        check_body(policy, expected);
    }
}

#[test]
fn body_that_is_not_json_never_matches() {
    let policy =
        FilterPolicy::compile(&json!({"a": [{"exists": false}]}), Scope::MessageBody).unwrap();
    assert!(!policy.matches_body_text("hello"));
    assert!(policy.matches_body_text("{}"));
    let empty = FilterPolicy::compile(&json!({}), Scope::MessageBody).unwrap();
    assert!(empty.matches_body_text("hello"));
}

#[test]
fn matches_message_uses_scope() {
    let attrs = attributes();
    let by_attr = FilterPolicy::compile(
        &json!({"store": ["example_corp"]}),
        Scope::MessageAttributes,
    )
    .unwrap();
    let by_body =
        FilterPolicy::compile(&json!({"store": ["example_corp"]}), Scope::MessageBody).unwrap();
    assert!(by_attr.matches_message(&attrs, "plain text"));
    assert!(!by_body.matches_message(&attrs, "plain text"));
    assert!(by_body.matches_message(&BTreeMap::new(), r#"{"store":"example_corp"}"#));
    assert_eq!(by_body.scope(), Scope::MessageBody);
}

fn error(policy: Value, scope: Scope) -> String {
    match FilterPolicy::compile(&policy, scope) {
        Ok(_) => panic!("policy {policy} should not compile"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn compile_errors() {
    let values: Vec<Value> = (0..6).map(|i| json!(format!("v{i}"))).collect();
    let cases = [
        (
            json!({"a": {"b": ["x"]}}),
            Scope::MessageAttributes,
            "a: nested keys are not allowed with the MessageAttributes scope",
        ),
        (
            json!({"a": [{"wildcard": "x*"}]}),
            Scope::MessageAttributes,
            "a: `wildcard` is not supported in SNS filter policies",
        ),
        (
            json!({"a": [{"anything-but": {"wildcard": "x*"}}]}),
            Scope::MessageBody,
            "a: `anything-but` with `wildcard` is not supported",
        ),
        (
            json!({"a": [{"prefix": {"equals-ignore-case": "x"}}]}),
            Scope::MessageBody,
            "a: `prefix` with `equals-ignore-case` is not supported",
        ),
        (
            json!({"a": [{"numeric": [">", 2_000_000_000]}]}),
            Scope::MessageAttributes,
            "a: number 2000000000 is outside the SNS numeric range",
        ),
        (
            json!({"a": ["x"], "b": ["x"], "c": ["x"], "d": ["x"], "e": ["x"], "f": ["x"]}),
            Scope::MessageAttributes,
            "filter policy tests 6 keys; SNS allows at most 5",
        ),
        (
            json!({"a": values.clone(), "b": values.clone(), "c": values.clone(), "d": ["x"]}),
            Scope::MessageAttributes,
            "filter policy has 216 combinations of values",
        ),
        (
            json!({"a": "x"}),
            Scope::MessageAttributes,
            "a: values must be an array",
        ),
        (
            json!({"a": [{"numeric": ["!=", 1]}]}),
            Scope::MessageBody,
            "a: numeric operator `!=` is not one of",
        ),
    ];
    for (policy, scope, expected) in cases {
        let message = error(policy.clone(), scope);
        assert!(
            message.starts_with(expected),
            "policy {policy}: expected `{expected}`, got `{message}`"
        );
    }
}

#[test]
fn combinations_count_or_branches_as_a_sum() {
    // 5 * 5 * 5 = 125 per branch is allowed; two such branches in one $or sum to 250.
    let five: Vec<Value> = (0..5).map(|i| json!(i)).collect();
    let branch = json!({"a": five.clone(), "b": five.clone(), "c": five.clone()});
    assert!(FilterPolicy::compile(&branch, Scope::MessageBody).is_ok());
    let both = json!({"$or": [branch.clone(), branch]});
    let message = error(both, Scope::MessageBody);
    assert!(message.contains("250 combinations"), "{message}");
}
