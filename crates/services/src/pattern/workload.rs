//! A fixed, deterministic pattern-matching workload for benchmarks: [`RULES`] EventBridge
//! rules of ten shapes covering every operator, and varied events from a small LCG. Shared
//! by the `pattern_bench` example and `sandbox-bench topics`, so both measure the same thing.

use std::hint::black_box;

use serde_json::{json, Value};

use super::EventPattern;

/// Rules in the workload.
pub const RULES: usize = 100;

const SOURCES: [&str; 5] = [
    "com.shop.orders",
    "com.shop.payments",
    "com.shop.inventory",
    "aws.ec2",
    "aws.s3",
];
const TYPES: [&str; 4] = [
    "Order Placed",
    "Order Shipped",
    "Payment Failed",
    "Object Created",
];
const TIERS: [&str; 4] = ["bronze", "silver", "gold", "platinum"];
const STATES: [&str; 4] = ["pending", "running", "stopped", "terminated"];

/// Ten rule shapes, each in ten variants, covering every operator.
pub fn rule(i: usize) -> Value {
    let v = i / 10;
    let source = SOURCES[v % SOURCES.len()];
    let kind = TYPES[v % TYPES.len()];
    let state = STATES[v % STATES.len()];
    match i % 10 {
        0 => json!({"source": [source], "detail-type": [kind]}),
        1 => {
            json!({"source": [{"prefix": "com.shop"}], "detail": {"total": [{"numeric": [">", v * 50, "<=", v * 50 + 200]}]}})
        }
        2 => {
            json!({"source": [source], "detail": {"state": [{"anything-but": [state, "terminated"]}]}})
        }
        3 => {
            json!({"detail-type": [kind], "detail": {"coupon": [{"exists": false}], "customer": {"tier": ["gold", "platinum"]}}})
        }
        4 => {
            json!({"source": ["aws.s3"], "detail": {"key": [{"wildcard": format!("uploads/*/{v}*.png")}]}})
        }
        5 => json!({"detail": {"ip": [{"cidr": format!("10.{v}.0.0/16")}]}}),
        6 => {
            json!({"source": [source], "$or": [{"detail": {"total": [{"numeric": [">", 900]}]}}, {"detail": {"customer": {"tier": ["platinum"]}}}]})
        }
        7 => {
            json!({"detail": {"state": [{"equals-ignore-case": state.to_uppercase()}], "region": [{"suffix": format!("-{}", v % 3 + 1)}]}})
        }
        8 => {
            json!({"source": [source], "detail": {"items": {"sku": [format!("sku-{v}")], "qty": [{"numeric": [">=", 2]}]}}})
        }
        _ => {
            json!({"resources": [{"prefix": format!("arn:aws:s3:::bucket-{v}")}], "detail-type": [{"anything-but": {"prefix": "Payment"}}]})
        }
    }
}

/// A deterministic stream of varied events (a small LCG, no extra dependencies).
pub fn events(count: usize) -> Vec<Value> {
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |n: usize| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((seed >> 33) as usize) % n
    };
    (0..count)
        .map(|_| {
            let mut detail = json!({
                "state": STATES[next(4)],
                "total": next(1000) as f64 + 0.5,
                "customer": {"tier": TIERS[next(4)], "id": next(10_000)},
                "ip": format!("10.{}.{}.{}", next(12), next(256), next(256)),
                "key": format!("uploads/user{}/{}photo.png", next(50), next(10)),
                "region": format!("us-east-{}", next(3) + 1),
                "items": [
                    {"sku": format!("sku-{}", next(10)), "qty": next(5)},
                    {"sku": format!("sku-{}", next(10)), "qty": next(5)}
                ]
            });
            if next(3) == 0 {
                detail["coupon"] = json!("SAVE10");
            }
            json!({
                "version": "0",
                "id": format!("id-{}", next(1_000_000)),
                "source": SOURCES[next(5)],
                "detail-type": TYPES[next(4)],
                "account": "123456789012",
                "time": "2026-11-22T12:00:00Z",
                "region": "us-east-1",
                "resources": [format!("arn:aws:s3:::bucket-{}/obj", next(10))],
                "detail": detail
            })
        })
        .collect()
}

/// The [`RULES`] rules, compiled.
pub fn rules() -> Vec<EventPattern> {
    (0..RULES)
        .filter_map(|i| EventPattern::compile(&rule(i)).ok())
        .collect()
}

/// Tests every event against every rule once; returns how many matched.
pub fn evaluate(rules: &[EventPattern], events: &[Value]) -> usize {
    let mut matched = 0;
    for event in events {
        for rule in rules {
            matched += usize::from(black_box(rule).matches(black_box(event)));
        }
    }
    matched
}
