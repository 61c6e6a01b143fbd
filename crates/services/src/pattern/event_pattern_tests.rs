//! Match / no-match tables for every EventBridge operator, and compile errors.

use serde_json::{json, Value};

use super::EventPattern;

fn event() -> Value {
    json!({
        "version": "0",
        "id": "1",
        "source": "com.shop.orders",
        "detail-type": "Order Placed",
        "account": "123456789012",
        "time": "2017-10-02T18:43:48Z",
        "region": "us-east-1",
        "resources": ["arn:aws:s3:::bucket/a.png", "arn:aws:s3:::bucket/b.jpg"],
        "detail": {
            "state": "running",
            "total": 300,
            "price": 12.5,
            "neg": -4,
            "count": 0,
            "paid": true,
            "coupon": null,
            "file": "photos/cat.PNG",
            "service": "EventBridge",
            "ip": "10.0.0.42",
            "ip6": "2001:db8::1",
            "tags": ["red", "green"],
            "scores": [1, 5, 9],
            "empty": [],
            "customer": {"tier": "gold", "address": {"country": "NZ"}},
            "items": [
                {"sku": "a", "qty": 1},
                {"sku": "b", "qty": 7}
            ],
            "path": "/usr/lib/x.so",
            "star": "a*b"
        }
    })
}

fn check(pattern: Value, expected: bool) {
    let compiled = match EventPattern::compile(&pattern) {
        Ok(p) => p,
        Err(e) => panic!("pattern {pattern} failed to compile: {e}"),
    };
    assert_eq!(
        compiled.matches(&event()),
        expected,
        "pattern {pattern} should {}match",
        if expected { "" } else { "not " }
    );
}

#[test]
fn exact_values() {
    let cases = [
        (json!({"source": ["com.shop.orders"]}), true),
        (json!({"source": ["com.shop"]}), false),
        (json!({"source": ["x", "com.shop.orders"]}), true),
        (json!({"detail": {"total": [300]}}), true),
        (json!({"detail": {"total": [300.0]}}), true),
        (json!({"detail": {"total": [301]}}), false),
        (json!({"detail": {"total": ["300"]}}), false),
        (json!({"detail": {"price": [12.5]}}), true),
        (json!({"detail": {"neg": [-4]}}), true),
        (json!({"detail": {"paid": [true]}}), true),
        (json!({"detail": {"paid": [false]}}), false),
        (json!({"detail": {"paid": ["true"]}}), false),
        (json!({"detail": {"coupon": [null]}}), true),
        (json!({"detail": {"state": [null]}}), false),
        (json!({"detail": {"missing": ["x"]}}), false),
        (
            json!({"source": ["com.shop.orders"], "detail-type": ["Order Placed"]}),
            true,
        ),
        (
            json!({"source": ["com.shop.orders"], "detail-type": ["Other"]}),
            false,
        ),
        (
            json!({"detail": {"customer": {"address": {"country": ["NZ"]}}}}),
            true,
        ),
        (
            json!({"detail": {"customer": {"address": {"country": ["AU"]}}}}),
            false,
        ),
        (json!({"detail": {"state": ["RUNNING"]}}), false),
        // A leaf against an object never matches a value.
        (json!({"detail": {"customer": ["gold"]}}), false),
    ];
    for (pattern, expected) in cases {
        check(pattern, expected);
    }
}

#[test]
fn arrays_in_events() {
    let cases = [
        (json!({"resources": ["arn:aws:s3:::bucket/b.jpg"]}), true),
        (json!({"resources": ["arn:aws:s3:::bucket/c.gif"]}), false),
        (json!({"detail": {"tags": ["green"]}}), true),
        (json!({"detail": {"tags": ["blue", "red"]}}), true),
        (json!({"detail": {"scores": [{"numeric": [">", 8]}]}}), true),
        (
            json!({"detail": {"scores": [{"numeric": [">", 9]}]}}),
            false,
        ),
        (json!({"detail": {"items": {"sku": ["b"]}}}), true),
        (
            json!({"detail": {"items": {"sku": ["b"], "qty": [7]}}}),
            true,
        ),
        // Fields of a nested pattern must come from the same array element.
        (
            json!({"detail": {"items": {"sku": ["a"], "qty": [7]}}}),
            false,
        ),
        (json!({"detail": {"empty": ["x"]}}), false),
        (json!({"detail": {"tags": [{"anything-but": "red"}]}}), true),
        (json!({"detail": {"tags": [{"prefix": "gr"}]}}), true),
    ];
    for (pattern, expected) in cases {
        check(pattern, expected);
    }
}

#[test]
fn prefix_suffix_and_ignore_case() {
    let cases = [
        (json!({"time": [{"prefix": "2017-10-02"}]}), true),
        (json!({"time": [{"prefix": "2017-10-03"}]}), false),
        (json!({"detail": {"total": [{"prefix": "3"}]}}), false),
        (
            json!({"detail": {"service": [{"prefix": {"equals-ignore-case": "eventb"}}]}}),
            true,
        ),
        (
            json!({"detail": {"service": [{"prefix": "eventb"}]}}),
            false,
        ),
        (json!({"detail": {"file": [{"suffix": ".PNG"}]}}), true),
        (json!({"detail": {"file": [{"suffix": ".png"}]}}), false),
        (
            json!({"detail": {"file": [{"suffix": {"equals-ignore-case": ".png"}}]}}),
            true,
        ),
        (
            json!({"detail": {"file": [{"suffix": {"equals-ignore-case": ".jpg"}}]}}),
            false,
        ),
        (
            json!({"detail": {"state": [{"equals-ignore-case": "RUNNING"}]}}),
            true,
        ),
        (
            json!({"detail": {"state": [{"equals-ignore-case": "stopped"}]}}),
            false,
        ),
        (
            json!({"detail": {"state": [{"equals-ignore-case": "runnin"}]}}),
            false,
        ),
        (json!({"source": [{"prefix": ""}]}), true),
    ];
    for (pattern, expected) in cases {
        check(pattern, expected);
    }
}

#[test]
fn ignore_case_handles_non_ascii() {
    let p = EventPattern::compile(&json!({"name": [{"equals-ignore-case": "ÉCOLE"}]})).unwrap();
    assert!(p.matches(&json!({"name": "école"})));
    assert!(!p.matches(&json!({"name": "ecole"})));
    let p = EventPattern::compile(&json!({"name": [{"prefix": {"equals-ignore-case": "ÜB"}}]}))
        .unwrap();
    assert!(p.matches(&json!({"name": "über"})));
}

#[test]
fn anything_but() {
    let cases = [
        (
            json!({"detail": {"state": [{"anything-but": "stopped"}]}}),
            true,
        ),
        (
            json!({"detail": {"state": [{"anything-but": "running"}]}}),
            false,
        ),
        (
            json!({"detail": {"state": [{"anything-but": ["stopped", "running"]}]}}),
            false,
        ),
        (
            json!({"detail": {"state": [{"anything-but": ["stopped", "pending"]}]}}),
            true,
        ),
        (json!({"detail": {"total": [{"anything-but": 300}]}}), false),
        (
            json!({"detail": {"total": [{"anything-but": [100, 200]}]}}),
            true,
        ),
        (
            json!({"detail": {"state": [{"anything-but": {"prefix": "run"}}]}}),
            false,
        ),
        (
            json!({"detail": {"state": [{"anything-but": {"prefix": "stop"}}]}}),
            true,
        ),
        (
            json!({"detail": {"file": [{"anything-but": {"suffix": ".PNG"}}]}}),
            false,
        ),
        (
            json!({"detail": {"file": [{"anything-but": {"suffix": ".png"}}]}}),
            true,
        ),
        (
            json!({"detail": {"state": [{"anything-but": {"equals-ignore-case": "RUNNING"}}]}}),
            false,
        ),
        (
            json!({"detail": {"state": [{"anything-but": {"equals-ignore-case": ["a", "B"]}}]}}),
            true,
        ),
        (
            json!({"detail": {"path": [{"anything-but": {"wildcard": "*/lib/*"}}]}}),
            false,
        ),
        (
            json!({"detail": {"path": [{"anything-but": {"wildcard": ["*/bin/*", "*.dll"]}}]}}),
            true,
        ),
        // A missing field has no value that is "anything but".
        (
            json!({"detail": {"missing": [{"anything-but": "x"}]}}),
            false,
        ),
    ];
    for (pattern, expected) in cases {
        check(pattern, expected);
    }
}

#[test]
fn numeric() {
    let cases = [
        (
            json!({"detail": {"total": [{"numeric": [">", 0, "<=", 300]}]}}),
            true,
        ),
        (
            json!({"detail": {"total": [{"numeric": [">", 0, "<", 300]}]}}),
            false,
        ),
        (
            json!({"detail": {"total": [{"numeric": [">=", 300]}]}}),
            true,
        ),
        (
            json!({"detail": {"total": [{"numeric": [">", 300]}]}}),
            false,
        ),
        (
            json!({"detail": {"total": [{"numeric": ["=", 300]}]}}),
            true,
        ),
        (
            json!({"detail": {"total": [{"numeric": ["=", 300.0]}]}}),
            true,
        ),
        (
            json!({"detail": {"total": [{"numeric": ["=", 299.99]}]}}),
            false,
        ),
        (
            json!({"detail": {"price": [{"numeric": [">", 12.49, "<", 12.51]}]}}),
            true,
        ),
        (json!({"detail": {"neg": [{"numeric": ["<", 0]}]}}), true),
        (
            json!({"detail": {"neg": [{"numeric": [">=", -4, "<", -3]}]}}),
            true,
        ),
        (json!({"detail": {"neg": [{"numeric": [">", -4]}]}}), false),
        (json!({"detail": {"count": [{"numeric": ["=", 0]}]}}), true),
        (json!({"detail": {"count": [{"numeric": ["<=", 0]}]}}), true),
        // Numeric operators only see JSON numbers.
        (json!({"detail": {"state": [{"numeric": [">", 0]}]}}), false),
        (
            json!({"detail": {"missing": [{"numeric": [">", 0]}]}}),
            false,
        ),
        (
            json!({"detail": {"total": [{"numeric": ["<", 10]}, {"numeric": [">", 200]}]}}),
            true,
        ),
    ];
    for (pattern, expected) in cases {
        check(pattern, expected);
    }
}

#[test]
fn numeric_string_in_event_does_not_match() {
    let p = EventPattern::compile(&json!({"n": [{"numeric": [">", 1]}]})).unwrap();
    assert!(!p.matches(&json!({"n": "5"})));
    assert!(p.matches(&json!({"n": 5})));
    assert!(p.matches(&json!({"n": 1.0001})));
}

#[test]
fn exists() {
    let cases = [
        (json!({"detail": {"state": [{"exists": true}]}}), true),
        (json!({"detail": {"state": [{"exists": false}]}}), false),
        (json!({"detail": {"missing": [{"exists": false}]}}), true),
        (json!({"detail": {"missing": [{"exists": true}]}}), false),
        (
            json!({"detail": {"customer": {"address": {"country": [{"exists": true}]}}}}),
            true,
        ),
        (
            json!({"detail": {"customer": {"address": {"zip": [{"exists": false}]}}}}),
            true,
        ),
        // The parent itself is missing: a nested field cannot exist.
        (
            json!({"detail": {"nothing": {"deeper": [{"exists": false}]}}}),
            true,
        ),
        (
            json!({"detail": {"nothing": {"deeper": [{"exists": true}]}}}),
            false,
        ),
        (
            json!({"nope": {"deeper": [{"exists": false}]}, "source": ["com.shop.orders"]}),
            true,
        ),
        // null is a value; an empty array is not.
        (json!({"detail": {"coupon": [{"exists": true}]}}), true),
        (json!({"detail": {"empty": [{"exists": false}]}}), true),
        // Exists looks at leaves only; an object is not one.
        (json!({"detail": {"customer": [{"exists": true}]}}), false),
        (
            json!({"detail": {"missing": [{"exists": false}, "x"]}}),
            true,
        ),
        (
            json!({"detail": {"state": [{"exists": false}, "running"]}}),
            true,
        ),
    ];
    for (pattern, expected) in cases {
        check(pattern, expected);
    }
}

#[test]
fn wildcard() {
    let cases = [
        (
            json!({"detail": {"path": [{"wildcard": "/usr/*/x.so"}]}}),
            true,
        ),
        (json!({"detail": {"path": [{"wildcard": "*.so"}]}}), true),
        (json!({"detail": {"path": [{"wildcard": "/usr/*"}]}}), true),
        (json!({"detail": {"path": [{"wildcard": "*lib*"}]}}), true),
        (
            json!({"detail": {"path": [{"wildcard": "/usr/*/*.dll"}]}}),
            false,
        ),
        (
            json!({"detail": {"path": [{"wildcard": "/usr/lib/x.so"}]}}),
            true,
        ),
        (
            json!({"detail": {"path": [{"wildcard": "/usr/lib/x"}]}}),
            false,
        ),
        (json!({"detail": {"star": [{"wildcard": "a\\*b"}]}}), true),
        (json!({"detail": {"state": [{"wildcard": "a\\*b"}]}}), false),
        (json!({"detail": {"star": [{"wildcard": "a\\**"}]}}), true),
        (json!({"detail": {"state": [{"wildcard": "r*n*g"}]}}), true),
        (
            json!({"detail": {"state": [{"wildcard": "r*nn*nn*g"}]}}),
            false,
        ),
        (json!({"detail": {"state": [{"wildcard": "*"}]}}), true),
    ];
    for (pattern, expected) in cases {
        check(pattern, expected);
    }
    // Overlapping pieces: the prefix and suffix may not share characters.
    let p = EventPattern::compile(&json!({"s": [{"wildcard": "ab*ba"}]})).unwrap();
    assert!(!p.matches(&json!({"s": "aba"})));
    assert!(p.matches(&json!({"s": "abba"})));
}

#[test]
fn cidr() {
    let cases = [
        (json!({"detail": {"ip": [{"cidr": "10.0.0.0/24"}]}}), true),
        (json!({"detail": {"ip": [{"cidr": "10.0.1.0/24"}]}}), false),
        (json!({"detail": {"ip": [{"cidr": "10.0.0.42/32"}]}}), true),
        (json!({"detail": {"ip": [{"cidr": "0.0.0.0/0"}]}}), true),
        (json!({"detail": {"ip": [{"cidr": "10.0.0.0/30"}]}}), false),
        (
            json!({"detail": {"ip6": [{"cidr": "2001:db8::/32"}]}}),
            true,
        ),
        (json!({"detail": {"ip6": [{"cidr": "10.0.0.0/8"}]}}), false),
        (
            json!({"detail": {"state": [{"cidr": "10.0.0.0/8"}]}}),
            false,
        ),
    ];
    for (pattern, expected) in cases {
        check(pattern, expected);
    }
}

#[test]
fn or() {
    let cases = [
        (
            json!({"$or": [{"source": ["x"]}, {"detail-type": ["Order Placed"]}]}),
            true,
        ),
        (
            json!({"$or": [{"source": ["x"]}, {"detail-type": ["y"]}]}),
            false,
        ),
        (
            json!({"source": ["com.shop.orders"], "$or": [{"detail": {"total": [{"numeric": [">", 1000]}]}}, {"detail": {"paid": [true]}}]}),
            true,
        ),
        (
            json!({"source": ["other"], "$or": [{"detail": {"paid": [true]}}, {"region": ["us-east-1"]}]}),
            false,
        ),
        (
            json!({"detail": {"$or": [{"state": ["stopped"]}, {"customer": {"tier": ["gold"]}}]}}),
            true,
        ),
        (
            json!({"detail": {"$or": [{"state": ["stopped"]}, {"customer": {"tier": ["silver"]}}]}}),
            false,
        ),
        (
            json!({"detail": {"$or": [{"missing": [{"exists": true}]}, {"state": [{"prefix": "run"}]}]}}),
            true,
        ),
    ];
    for (pattern, expected) in cases {
        check(pattern, expected);
    }
}

#[test]
fn non_object_event_matches_only_absence() {
    let p = EventPattern::compile(&json!({"a": [{"exists": false}]})).unwrap();
    assert!(p.matches(&json!("text")));
    let p = EventPattern::compile(&json!({"a": ["x"]})).unwrap();
    assert!(!p.matches(&json!(null)));
}

fn error(pattern: Value) -> String {
    match EventPattern::compile(&pattern) {
        Ok(_) => panic!("pattern {pattern} should not compile"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn compile_errors_name_the_path() {
    let cases = [
        (
            json!({"detail": {"total": [{"numeric": [">>", 0]}]}}),
            "detail.total: numeric operator `>>` is not one of <, <=, =, >, >=",
        ),
        (
            json!({"source": "aws.ec2"}),
            "source: values must be an array",
        ),
        (json!({}), "empty objects are not allowed"),
        (
            json!({"detail": {}}),
            "detail: empty objects are not allowed",
        ),
        (
            json!({"source": []}),
            "source: empty arrays are not allowed",
        ),
        (json!([1]), "a pattern must be a JSON object"),
        (
            json!({"a": [{"numeric": [">", "5"]}]}),
            "a: numeric operand for `>` must be a number",
        ),
        (
            json!({"a": [{"numeric": [">", 5, "<", 1]}]}),
            "a: numeric range is empty",
        ),
        (
            json!({"a": [{"numeric": [">", 5, ">=", 6]}]}),
            "a: numeric range has two lower bounds",
        ),
        (
            json!({"a": [{"numeric": ["=", 5, "<", 6]}]}),
            "a: numeric `=` cannot be combined",
        ),
        (
            json!({"a": [{"numeric": [">"]}]}),
            "a: `numeric` takes one or two operator/number pairs",
        ),
        (
            json!({"a": [{"exists": "yes"}]}),
            "a: `exists` takes true or false",
        ),
        (json!({"a": [{"prefix": 5}]}), "a: `prefix` takes a string"),
        (
            json!({"a": [{"contains": "x"}]}),
            "a: unknown operator `contains`",
        ),
        (
            json!({"a": [{"prefix": "x", "suffix": "y"}]}),
            "a: a matcher object must hold exactly one operator",
        ),
        (
            json!({"a": [{"anything-but": ["x", 1]}]}),
            "a: `anything-but` list must hold only strings or only numbers",
        ),
        (
            json!({"a": [{"anything-but": {"contains": "x"}}]}),
            "a: `anything-but` does not accept `contains`",
        ),
        (
            json!({"a": [{"anything-but": true}]}),
            "a: `anything-but` takes a string, a number",
        ),
        (
            json!({"a": [{"wildcard": "a**b"}]}),
            "a: wildcard `a**b` has consecutive `*` characters",
        ),
        (
            json!({"a": [{"wildcard": "a\\b"}]}),
            "a: wildcard `a\\b` has an invalid escape",
        ),
        (
            json!({"a": [{"cidr": "10.0.0.0/33"}]}),
            "a: `cidr` value `10.0.0.0/33` is not an IP block",
        ),
        (
            json!({"a": [{"cidr": "banana"}]}),
            "a: `cidr` value `banana`",
        ),
        (
            json!({"a": [["x"]]}),
            "a: arrays inside a value array are not allowed",
        ),
        (
            json!({"$or": {"a": ["x"]}}),
            "$or: `$or` takes an array of patterns",
        ),
        (
            json!({"detail": {"$or": [{"a": ["x"]}, {"b": "y"}]}}),
            "detail.$or[1].b: values must be an array",
        ),
        (
            json!({"a": [{"exists": true}, {"exists": false}]}),
            "a: both `exists: true` and `exists: false` given",
        ),
    ];
    for (pattern, expected) in cases {
        let message = error(pattern.clone());
        assert!(
            message.starts_with(expected),
            "pattern {pattern}: expected `{expected}`, got `{message}`"
        );
    }
}

#[test]
fn error_carries_path_separately() {
    let e =
        EventPattern::compile(&json!({"detail": {"total": [{"numeric": ["~", 1]}]}})).unwrap_err();
    assert_eq!(e.path, "detail.total");
    assert!(e.message.contains("`~`"));
}
