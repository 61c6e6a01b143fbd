//! `@bus` (a sandbox extension): EventBridge buses, rules, targets and archives.
//!
//! ```text
//! @bus
//! orders                                     # a bus; `default` is the default bus
//!   rule big {"source": ["shop"], "detail": {"total": [{"numeric": [">", 100]}]}}
//!   rule all-shop {"source": ["shop"]}
//!   target big fn:bus/big-orders             # function in src/bus/big-orders
//!   target big queue:review inputPath $.detail
//!   target all-shop topic:audit input {"fixed": true}
//!   disable all-shop                         # rule exists but does not match
//!   archive everything retentionDays 7 pattern {"source": ["shop"]}
//! ```
//!
//! Lines may come in any order; the rest of a `rule` line (or of `pattern`, `input`)
//! is JSON. In `sandbox.json` the same bus is
//! `{"orders": {"rules": {"big": {"pattern": {…}, "targets": ["fn:bus/big-orders",
//! {"target": "queue:review", "inputPath": "$.detail"}], "enabled": true}},
//! "archives": {"everything": {"retentionDays": 7, "pattern": {…}}}}}`.

use std::collections::BTreeMap;

use super::targets::{self, Allow};
use super::{names, remote, Ctx};
use crate::error::{DResult, Diag};
use crate::model::{Archive, Bus, InputTransformer, Rule, RuleTarget};
use crate::tree::{IntRule, Kind, Node, Props};

const RETENTION: IntRule = IntRule {
    name: "retentionDays",
    min: 0,
    max: 36_500,
    unit: "days",
};

pub(crate) fn read(ctx: &mut Ctx, node: &Node) -> DResult<Vec<Bus>> {
    let entries = node.obj(ctx.source, "`bus`")?;
    let mut buses = Vec::new();
    for (key, value) in entries {
        let props = Props::new(value, ctx.source, &format!("bus `{}`", key.name))?;
        props.only(
            &["rules", "archives", "remote", "endpoint", "consume"],
            "a bus",
        )?;
        names::check(&key.name, key.span.clone(), names::BUS)?;
        // The `.arc` reader always gives a bus `rules`; only non-empty ones are rules.
        let declared = |name: &str| {
            props
                .get(name)
                .is_some_and(|n| !matches!(&n.kind, Kind::Obj(e) if e.is_empty()))
        };
        let owned: Vec<(crate::tree::Key, Node)> = props
            .entries
            .iter()
            .filter(|(k, _)| k.name != "rules" && k.name != "archives" || declared(&k.name))
            .cloned()
            .collect();
        let own = Props {
            entries: &owned,
            source: ctx.source,
        };
        if let Some(remote) = remote::read(ctx, &own, remote::Kind::Bus, key)? {
            buses.push(Bus {
                name: key.name.clone(),
                rules: Vec::new(),
                archives: Vec::new(),
                remote: Some(remote),
                span: ctx.span(&key.span),
            });
            continue;
        }
        let mut rules = Vec::new();
        if let Some(node) = props.get("rules") {
            for (rule_key, rule_node) in node.obj(ctx.source, "`rules`")? {
                names::check(&rule_key.name, rule_key.span.clone(), names::RULE)?;
                let rule = Props::new(rule_node, ctx.source, &format!("rule `{}`", rule_key.name))?;
                rule.only(&["pattern", "targets", "enabled"], "a rule")?;
                let Some(pattern_node) = rule.get("pattern") else {
                    return Err(Diag::new(
                        rule_key.span.clone(),
                        format!("rule `{}` has no event pattern", rule_key.name),
                        "no \"pattern\"",
                    )
                    .help("add \"pattern\": {\"source\": [\"shop\"]}"));
                };
                let event_pattern = pattern(ctx, pattern_node, "pattern")?;
                let mut rule_targets = Vec::new();
                if let Some(list) = rule.get("targets") {
                    let items: Vec<&Node> = match &list.kind {
                        Kind::Arr(items) | Kind::Words(items) => items.iter().collect(),
                        _ => vec![list],
                    };
                    for item in items {
                        rule_targets.push(target(ctx, item)?);
                    }
                }
                rules.push(Rule {
                    name: rule_key.name.clone(),
                    event_pattern,
                    enabled: rule.bool("enabled", true)?,
                    targets: rule_targets,
                    span: ctx.span(&rule_key.span),
                });
            }
        }
        let mut archives = Vec::new();
        if let Some(node) = props.get("archives") {
            for (archive_key, archive_node) in node.obj(ctx.source, "`archives`")? {
                names::check(&archive_key.name, archive_key.span.clone(), names::RULE)?;
                let archive = Props::new(
                    archive_node,
                    ctx.source,
                    &format!("archive `{}`", archive_key.name),
                )?;
                archive.only(&["retentionDays", "pattern"], "an archive")?;
                let event_pattern = archive
                    .get("pattern")
                    .map(|p| pattern(ctx, p, "pattern"))
                    .transpose()?;
                archives.push(Archive {
                    name: archive_key.name.clone(),
                    event_pattern,
                    // EventBridge's 0 means "keep forever", like leaving it out.
                    retention_days: archive
                        .int(&RETENTION)?
                        .filter(|d| *d > 0)
                        .map(|d| d as u32),
                });
            }
        }
        buses.push(Bus {
            name: key.name.clone(),
            rules,
            archives,
            remote: None,
            span: ctx.span(&key.span),
        });
    }
    Ok(buses)
}

/// An event pattern: a non-empty JSON object whose leaves are arrays of matchers.
fn pattern(ctx: &Ctx, node: &Node, what: &str) -> DResult<serde_json::Value> {
    let value = node.json(ctx.source, what)?;
    let example = "write e.g. {\"source\": [\"shop\"], \"detail-type\": [\"OrderPlaced\"]}";
    match value.as_object() {
        Some(fields) if !fields.is_empty() => {}
        _ => {
            return Err(Diag::new(
                node.span.clone(),
                "an event pattern must be a non-empty JSON object",
                "not a pattern",
            )
            .help(example));
        }
    }
    if let Some(path) = first_bare_leaf(&value, "") {
        return Err(Diag::new(
            node.span.clone(),
            format!("event pattern field `{path}` must be an array of values"),
            "leaf is not an array",
        )
        .help(format!(
            "EventBridge matches a field against a list, e.g. \"{}\": [\"value\"]",
            path.rsplit('.').next().unwrap_or(&path)
        )));
    }
    // The same compiler the bus runs, so what loads here also runs there.
    if let Err(e) = sandbox_services::pattern::EventPattern::compile(&value) {
        return Err(Diag::new(
            node.span.clone(),
            format!("invalid event pattern: {e}"),
            "not a valid EventBridge pattern",
        )
        .help("see \"Content filtering in Amazon EventBridge event patterns\" for the operators"));
    }
    Ok(value)
}

/// The first field of a pattern whose value is neither an object nor an array.
fn first_bare_leaf(value: &serde_json::Value, prefix: &str) -> Option<String> {
    let fields = value.as_object()?;
    for (name, field) in fields {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        match field {
            serde_json::Value::Object(_) => {
                if let Some(found) = first_bare_leaf(field, &path) {
                    return Some(found);
                }
            }
            serde_json::Value::Array(_) => {}
            _ => return Some(path),
        }
    }
    None
}

/// `"fn:x"`, or `{"target": "queue:y", "inputPath" | "input" | "inputTransformer": …}`.
fn target(ctx: &mut Ctx, node: &Node) -> DResult<RuleTarget> {
    const ALLOW: &[Allow] = &[Allow::Function, Allow::Queue, Allow::Topic];
    if !matches!(node.kind, Kind::Obj(_)) {
        let text = node.str(ctx.source, "target")?;
        let target = targets::parse(ctx, &text, node.span.clone(), ALLOW, "rule target")?;
        return Ok(RuleTarget {
            target,
            input_path: None,
            input: None,
            input_transformer: None,
        });
    }
    let props = Props::new(node, ctx.source, "a rule target")?;
    props.only(
        &["target", "inputPath", "input", "inputTransformer"],
        "a rule target",
    )?;
    let Some(target_node) = props.get("target") else {
        return Err(Diag::new(
            node.span.start..node.span.start + 1,
            "rule target has no \"target\"",
            "in this target",
        )
        .help("add \"target\": \"fn:bus/handler\" (or queue:<name>, topic:<name>)"));
    };
    let text = target_node.str(ctx.source, "target")?;
    let target = targets::parse(ctx, &text, target_node.span.clone(), ALLOW, "rule target")?;
    let given: Vec<_> = ["inputPath", "input", "inputTransformer"]
        .into_iter()
        .filter_map(|k| props.key(k))
        .collect();
    if let [_, second, ..] = given.as_slice() {
        return Err(Diag::new(
            second.span.clone(),
            "a target takes one of `inputPath`, `input` or `inputTransformer`",
            "second input option",
        )
        .help("EventBridge allows only one way to shape a target's input"));
    }
    let input_path = props.str("inputPath")?;
    if let (Some(path), Some(node)) = (&input_path, props.get("inputPath")) {
        if !path.starts_with('$') {
            return Err(Diag::new(
                node.span.clone(),
                format!("`inputPath` `{path}` is not a JSONPath"),
                "expected `$…`",
            )
            .help("write e.g. `$.detail`"));
        }
    }
    let input = props
        .get("input")
        .map(|n| n.json(ctx.source, "input").map(|v| v.to_string()))
        .transpose()?;
    let input_transformer = match props.get("inputTransformer") {
        None => None,
        // `.arc` lines carry it as JSON text.
        Some(node) if !matches!(node.kind, Kind::Obj(_)) => Some(transformer_json(ctx, node)?),
        Some(node) => {
            let t = Props::new(node, ctx.source, "`inputTransformer`")?;
            t.only(&["inputPathsMap", "inputTemplate"], "an input transformer")?;
            let mut input_paths_map = BTreeMap::new();
            if let Some(map) = t.get("inputPathsMap") {
                for (k, v) in map.obj(ctx.source, "`inputPathsMap`")? {
                    input_paths_map.insert(k.name.clone(), v.str(ctx.source, &k.name)?);
                }
            }
            let Some(template) = t.text("inputTemplate")? else {
                return Err(Diag::new(
                    node.span.start..node.span.start + 1,
                    "`inputTransformer` has no `inputTemplate`",
                    "in this transformer",
                )
                .help("add \"inputTemplate\": \"<order> was placed\""));
            };
            Some(InputTransformer {
                input_paths_map,
                input_template: template,
            })
        }
    };
    let shape = sandbox_services::pattern::InputShape::compile(
        input.as_deref(),
        input_path.as_deref(),
        input_transformer
            .as_ref()
            .map(|t| (&t.input_paths_map, t.input_template.as_str())),
    );
    if let Err(e) = shape {
        let span = ["inputPath", "input", "inputTransformer"]
            .into_iter()
            .find_map(|k| props.get(k))
            .map_or(node.span.clone(), |n| n.span.clone());
        return Err(Diag::new(
            span,
            format!("invalid target input: {e}"),
            "EventBridge would refuse this target",
        ));
    }
    Ok(RuleTarget {
        target,
        input_path,
        input,
        input_transformer,
    })
}

/// `inputTransformer {"inputPathsMap": {…}, "inputTemplate": "…"}` written as JSON text.
fn transformer_json(ctx: &Ctx, node: &Node) -> DResult<InputTransformer> {
    let value = node.json(ctx.source, "inputTransformer")?;
    let wrong = |what: &str| {
        Diag::new(node.span.clone(), format!("`inputTransformer` {what}"), "in this transformer")
            .help("write {\"inputPathsMap\": {\"id\": \"$.detail.id\"}, \"inputTemplate\": \"order <id>\"}")
    };
    let Some(fields) = value.as_object() else {
        return Err(wrong("must be a JSON object"));
    };
    if let Some(key) = fields
        .keys()
        .find(|k| !["inputPathsMap", "inputTemplate"].contains(&k.as_str()))
    {
        return Err(wrong(&format!(
            "has an unknown key `{key}` (known: inputPathsMap, inputTemplate)"
        )));
    }
    let mut input_paths_map = BTreeMap::new();
    match fields.get("inputPathsMap") {
        None => {}
        Some(serde_json::Value::Object(map)) => {
            for (k, v) in map {
                let Some(path) = v.as_str() else {
                    return Err(wrong(&format!("path `{k}` must be a string")));
                };
                input_paths_map.insert(k.clone(), path.to_string());
            }
        }
        Some(_) => return Err(wrong("has an `inputPathsMap` that is not an object")),
    }
    let Some(template) = fields.get("inputTemplate").and_then(|t| t.as_str()) else {
        return Err(wrong("has no `inputTemplate` string"));
    };
    Ok(InputTransformer {
        input_paths_map,
        input_template: template.to_string(),
    })
}
