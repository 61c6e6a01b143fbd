//! Property tests (proptest): whatever text a manifest holds, reading it ends in a
//! manifest or a located error, never a panic, and the error renders. Complements the
//! mutation loop in `bad_manifests.rs` with shrinking: a failure is reported as the
//! smallest input that still fails.

use std::path::Path;

use proptest::prelude::*;
use sandbox_manifest::{parse_arc, parse_json};

/// Lines that look like `.arc`: pragmas, names, routes, properties, comments, noise.
fn arc_line() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "@app",
            "@http",
            "@queues",
            "@events",
            "@scheduled",
            "@streams",
            "@bus",
            "@static",
            "@tables",
            "@aws",
            "@plugins",
        ])
        .prop_map(str::to_string),
        "[a-z][a-z0-9.-]{0,12}".prop_map(|s| s.to_string()),
        ("(get|post|any|put|delete|patch) ", "/[a-z:*/]{0,12}")
            .prop_map(|(m, p)| format!("{m}{p}")),
        ("  [a-zA-Z]{1,20} ", "[ -~]{0,20}").prop_map(|(k, v)| format!("{k}{v}")),
        "[a-z]+ (rate|cron)\\([ -~]{0,20}\\)".prop_map(|s| s.to_string()),
        "#[ -~]{0,20}".prop_map(|s| s.to_string()),
        "\\PC{0,30}".prop_map(|s| s.to_string()),
    ]
}

/// Any JSON value, nested a few levels.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        "\\PC{0,12}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "app",
                    "http",
                    "queues",
                    "events",
                    "scheduled",
                    "streams",
                    "bus",
                    "name",
                    "method",
                    "path",
                    "batchSize",
                    "rules",
                    "pattern",
                    "targets",
                    "x",
                ])
                .prop_map(str::to_string),
                inner,
                0..6
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn arc_text_never_panics(lines in prop::collection::vec(arc_line(), 0..24)) {
        let root = tempfile::tempdir().unwrap();
        let text = lines.join("\n");
        if let Err(e) = parse_arc(root.path(), Path::new("app.arc"), &text) {
            let _ = e.to_string();
        }
    }

    #[test]
    fn json_manifests_never_panic(value in json_value(), cut in any::<prop::sample::Index>()) {
        let root = tempfile::tempdir().unwrap();
        let text = value.to_string();
        // Also a truncated copy: a file saved half-way.
        let mut at = cut.index(text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        for candidate in [text.clone(), text[..at].to_string()] {
            if let Err(e) = parse_json(root.path(), Path::new("sandbox.json"), &candidate) {
                let _ = e.to_string();
            }
        }
    }
}
