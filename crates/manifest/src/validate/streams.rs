//! `@streams` (a sandbox extension): Kinesis data streams and their consumers.
//!
//! ```text
//! @streams
//! clicks
//!   shards 2                     # 1..=500, default 1
//!   retention 48                 # hours, 24..=8760, default 24
//!   consumers analytics archive  # functions src/streams/clicks/analytics, …/archive
//!   batchSize 50                 # the settings below apply to every consumer
//!   startingPosition LATEST
//!   maximumRetryAttempts 2
//!   bisectBatchOnFunctionError true
//!   onFailure queue:clicks-failed
//! ```
//!
//! In `sandbox.json`, `consumers` may also be an object giving each consumer its own
//! overrides: `"consumers": {"analytics": {"batchSize": 10}, "archive": {}}`.

use super::functions::{self, Settings};
use super::targets::{self, Allow};
use super::{names, queues, remote, Ctx};
use crate::error::{DResult, Diag};
use crate::model::{StartingPosition, Stream, StreamConsumer};
use crate::suggest;
use crate::tree::{IntRule, Key, Kind, Node, Props};

/// Settings each consumer has (set on the stream for all, or per consumer in JSON).
const CONSUMER_KEYS: &[&str] = &[
    "batchSize",
    "batchWindow",
    "maximumBatchingWindowInSeconds",
    "startingPosition",
    "startingPositionTimestamp",
    "maximumRetryAttempts",
    "maximumRecordAgeInSeconds",
    "bisectBatchOnFunctionError",
    "reportBatchItemFailures",
    "onFailure",
    "timeout",
    "memory",
    "env",
    "build",
    "alarm",
];
const STREAM_KEYS: &[&str] = &[
    "shards",
    "retention",
    "consumers",
    "remote",
    "endpoint",
    "consume",
];

const SHARDS: IntRule = IntRule {
    name: "shards",
    min: 1,
    max: 500,
    unit: "",
};
const RETENTION: IntRule = IntRule {
    name: "retention",
    min: 24,
    max: 8760,
    unit: "hours",
};
const BATCH: IntRule = IntRule {
    name: "batchSize",
    min: 1,
    max: 10_000,
    unit: "",
};
const RETRIES: IntRule = IntRule {
    name: "maximumRetryAttempts",
    min: -1,
    max: 10_000,
    unit: "",
};
const AGE: IntRule = IntRule {
    name: "maximumRecordAgeInSeconds",
    min: -1,
    max: 604_800,
    unit: "seconds",
};
const POSITIONS: &[&str] = &["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"];

/// A consumer's name, where it was named, and its own settings (JSON form only).
type Listed = (String, std::ops::Range<usize>, Vec<(Key, Node)>);

pub(crate) fn read(ctx: &mut Ctx, node: &Node) -> DResult<Vec<Stream>> {
    let entries = &super::named_entries(ctx, node, "`streams`")?;
    let mut streams = Vec::new();
    for (key, value) in entries {
        let props = Props::new(value, ctx.source, &format!("stream `{}`", key.name))?;
        let known: Vec<&str> = STREAM_KEYS.iter().chain(CONSUMER_KEYS).copied().collect();
        props.only(&known, "a stream")?;
        names::check(&key.name, key.span.clone(), names::STREAM)?;
        let remote = remote::read(ctx, &props, remote::Kind::Stream, key)?;
        let shards = props.int(&SHARDS)?.unwrap_or(1) as u32;
        let retention_hours = props.int(&RETENTION)?.unwrap_or(24) as u32;
        let shared: Vec<(Key, Node)> = props
            .entries
            .iter()
            .filter(|(k, _)| !STREAM_KEYS.contains(&k.name.as_str()))
            .cloned()
            .collect();
        let mut consumers: Vec<StreamConsumer> = Vec::new();
        let listed: Vec<Listed> = match props.get("consumers") {
            None => Vec::new(),
            Some(node) => match &node.kind {
                Kind::Obj(per) => per
                    .iter()
                    .map(|(k, v)| {
                        Ok((
                            k.name.clone(),
                            k.span.clone(),
                            v.obj(ctx.source, &format!("consumer `{}`", k.name))?
                                .to_vec(),
                        ))
                    })
                    .collect::<DResult<_>>()?,
                _ => node
                    .list(ctx.source, "consumers")?
                    .into_iter()
                    .map(|(n, s)| (n, s, Vec::new()))
                    .collect(),
            },
        };
        for (name, span, overrides) in listed {
            names::check(&name, span.clone(), names::CONSUMER)?;
            if let Some(first) = consumers.iter().find(|c| c.name == name) {
                return Err(Diag::new(
                    span,
                    format!("consumer `{name}` is listed twice"),
                    "repeated",
                )
                .help(format!("first listed on line {}", first.span.line)));
            }
            let own = Props {
                entries: &overrides,
                source: ctx.source,
            };
            own.only(CONSUMER_KEYS, "a stream consumer")?;
            // Per-consumer settings win over the stream-wide ones.
            let mut merged: Vec<(Key, Node)> = overrides.clone();
            merged.extend(
                shared
                    .iter()
                    .filter(|(k, _)| own.key(&k.name).is_none())
                    .cloned(),
            );
            let merged = Props {
                entries: &merged,
                source: ctx.source,
            };
            let consumer = consumer(ctx, &key.name, &name, &span, &merged)?;
            consumers.push(consumer);
        }
        streams.push(Stream {
            name: key.name.clone(),
            shards,
            retention_hours,
            consumers,
            remote,
            span: ctx.span(&key.span),
        });
    }
    Ok(streams)
}

fn consumer(
    ctx: &mut Ctx,
    stream: &str,
    name: &str,
    span: &std::ops::Range<usize>,
    props: &Props,
) -> DResult<StreamConsumer> {
    let starting_position = match props.get("startingPosition") {
        None => StartingPosition::TrimHorizon,
        Some(node) => {
            let text = node.str(ctx.source, "startingPosition")?;
            match text.to_ascii_uppercase().as_str() {
                "TRIM_HORIZON" => StartingPosition::TrimHorizon,
                "LATEST" => StartingPosition::Latest,
                "AT_TIMESTAMP" => StartingPosition::AtTimestamp,
                _ => {
                    return Err(Diag::new(
                        node.span.clone(),
                        format!("unknown startingPosition `{text}`"),
                        "not a starting position",
                    )
                    .help(suggest::did_you_mean_or_list(&text, POSITIONS, "")));
                }
            }
        }
    };
    let timestamp = match props.get("startingPositionTimestamp") {
        Some(node) => Some(node.float(ctx.source, "startingPositionTimestamp")?),
        None => None,
    };
    match (starting_position, timestamp) {
        (StartingPosition::AtTimestamp, None) => {
            let node = props
                .get("startingPosition")
                .map_or(span.clone(), |n| n.span.clone());
            return Err(Diag::new(
                node,
                "`AT_TIMESTAMP` needs `startingPositionTimestamp`",
                "no timestamp given",
            )
            .help(format!(
                "add {} (epoch seconds)",
                ctx.example("startingPositionTimestamp", "1700000000")
            )));
        }
        (StartingPosition::TrimHorizon | StartingPosition::Latest, Some(_)) => {
            let key = props
                .key("startingPositionTimestamp")
                .map_or(span.clone(), |k| k.span.clone());
            return Err(Diag::new(
                key,
                "`startingPositionTimestamp` only applies to `AT_TIMESTAMP`",
                "ignored otherwise",
            )
            .help(format!(
                "add {} or remove the timestamp",
                ctx.example("startingPosition", "AT_TIMESTAMP")
            )));
        }
        _ => {}
    }
    let max_age = props.int(&AGE)?.unwrap_or(-1);
    if (0..60).contains(&max_age) {
        let node = props
            .get("maximumRecordAgeInSeconds")
            .map_or(span.clone(), |n| n.span.clone());
        return Err(Diag::new(
            node,
            "`maximumRecordAgeInSeconds` must be -1 (no limit) or from 60 to 604800",
            format!("found `{max_age}`"),
        ));
    }
    let on_failure = match props.get("onFailure") {
        Some(node) => {
            let text = node.str(ctx.source, "onFailure")?;
            Some(targets::parse(
                ctx,
                &text,
                node.span.clone(),
                &[Allow::Queue, Allow::Topic],
                "failure destination",
            )?)
        }
        None => None,
    };
    let window = queues::batching_window(props)?;
    let settings = Settings::read(ctx, props)?;
    let function = functions::declare(ctx, &format!("streams/{stream}/{name}"), &settings, span);
    let alarms = super::alarms::read(
        ctx,
        props,
        super::alarms::On::Consumer {
            stream,
            consumer: name,
            function: &function,
        },
    )?;
    ctx.alarms.extend(alarms);
    Ok(StreamConsumer {
        name: name.to_string(),
        function,
        batch_size: props.int(&BATCH)?.unwrap_or(100) as u32,
        batching_window: window,
        starting_position,
        starting_position_timestamp: timestamp,
        maximum_retry_attempts: props.int(&RETRIES)?.unwrap_or(-1),
        maximum_record_age_seconds: max_age,
        bisect_batch_on_function_error: props.bool("bisectBatchOnFunctionError", false)?,
        report_batch_item_failures: props.bool("reportBatchItemFailures", false)?,
        on_failure,
        span: ctx.span(span),
    })
}
