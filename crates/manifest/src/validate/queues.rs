//! `@queues`: SQS queues and the Lambda event source mapping that feeds each consumer.
//!
//! Property names, defaults and ranges are AWS's (CreateQueue attributes and
//! CreateEventSourceMapping parameters), camelCased the way Architect writes them.

use std::time::Duration;

use super::functions::{self, Settings};
use super::{alarms, names, remote, Ctx};
use crate::error::{DResult, Diag};
use crate::model::{DeadLetter, Queue};
use crate::tree::{IntRule, Node, Props};

const KEYS: &[&str] = &[
    "fifo",
    "contentBasedDeduplication",
    "visibilityTimeout",
    "delaySeconds",
    "messageRetentionPeriod",
    "maximumMessageSize",
    "batchSize",
    "batchWindow",
    "maximumBatchingWindowInSeconds",
    "maxConcurrency",
    "reportBatchItemFailures",
    "deadLetterQueue",
    "maxReceiveCount",
    "timeout",
    "memory",
    "env",
    "build",
    "alarm",
    "remote",
    "endpoint",
    "consume",
];

const VISIBILITY: IntRule = IntRule {
    name: "visibilityTimeout",
    min: 0,
    max: 43_200,
    unit: "seconds",
};
const DELAY: IntRule = IntRule {
    name: "delaySeconds",
    min: 0,
    max: 900,
    unit: "seconds",
};
const RETENTION: IntRule = IntRule {
    name: "messageRetentionPeriod",
    min: 60,
    max: 1_209_600,
    unit: "seconds",
};
const MAX_SIZE: IntRule = IntRule {
    name: "maximumMessageSize",
    min: 1024,
    max: 1_048_576,
    unit: "bytes",
};
const BATCH: IntRule = IntRule {
    name: "batchSize",
    min: 1,
    max: 10_000,
    unit: "",
};
const FIFO_BATCH: IntRule = IntRule {
    name: "batchSize",
    min: 1,
    max: 10,
    unit: "(FIFO queues take at most 10)",
};
const CONCURRENCY: IntRule = IntRule {
    name: "maxConcurrency",
    min: 2,
    max: 1000,
    unit: "",
};
const RECEIVES: IntRule = IntRule {
    name: "maxReceiveCount",
    min: 1,
    max: 1000,
    unit: "",
};
pub(crate) const DEFAULT_MAX_RECEIVE_COUNT: u32 = 3;

pub(crate) fn read(ctx: &mut Ctx, node: &Node) -> DResult<Vec<Queue>> {
    let entries = &super::named_entries(ctx, node, "`queues`")?;
    let mut queues = Vec::new();
    // Parsed in full before dead-letter references are checked, so a queue may name a
    // DLQ declared below it.
    let mut dlq_nodes = Vec::new();
    for (key, value) in entries {
        let props = Props::new(value, ctx.source, &format!("queue `{}`", key.name))?;
        props.only(KEYS, "a queue")?;
        names::check(&key.name, key.span.clone(), names::QUEUE)?;
        let remote = remote::read(ctx, &props, remote::Kind::Queue, key)?;
        if let Some(remote) = remote {
            queues.push(remote_queue(ctx, key, &props, remote)?);
            continue;
        }
        let fifo = fifo_flag(ctx, &key.name, &props)?;
        if props.bool("contentBasedDeduplication", false)? && !fifo {
            let span = props
                .get("contentBasedDeduplication")
                .map_or(key.span.clone(), |n| n.span.clone());
            return Err(Diag::new(
                span,
                format!(
                    "`contentBasedDeduplication` needs a FIFO queue, and `{}` is standard",
                    key.name
                ),
                "only for FIFO queues",
            )
            .help(format!(
                "name the queue `{}.fifo`, or remove contentBasedDeduplication",
                key.name
            )));
        }
        let batch_rule = if fifo { &FIFO_BATCH } else { &BATCH };
        let batch_size = props.int(batch_rule)?.unwrap_or(10) as u32;
        let window = batching_window(&props)?;
        // AWS: "When you set BatchSize to a value greater than 10, you must set
        // MaximumBatchingWindowInSeconds to at least 1 second."
        if batch_size > 10 && window.is_zero() {
            let span = props
                .get("batchSize")
                .map_or(key.span.clone(), |n| n.span.clone());
            return Err(Diag::new(
                span,
                "a `batchSize` above 10 needs a batching window of at least 1 second",
                "more than 10",
            )
            .help(format!(
                "add {} (seconds to wait while filling a batch)",
                ctx.example("batchWindow", "1")
            )));
        }
        let visibility = props.int(&VISIBILITY)?.unwrap_or(30) as u64;
        let settings = Settings::read(ctx, &props)?;
        // CreateEventSourceMapping refuses a queue whose visibility timeout is shorter
        // than the function's timeout: messages would reappear mid-invocation.
        let timeout = settings.timeout().as_secs();
        if timeout > visibility {
            let span = settings
                .timeout
                .as_ref()
                .map(|(_, span)| span.clone())
                .or_else(|| props.get("visibilityTimeout").map(|n| n.span.clone()))
                .unwrap_or_else(|| key.span.clone());
            return Err(Diag::new(span, format!("the consumer's timeout ({timeout} s) is longer than the queue's visibility timeout ({visibility} s)"), "longer than visibilityTimeout")
                .help(format!("raise {} to at least the function timeout, as AWS requires", ctx.example("visibilityTimeout", &timeout.to_string()))));
        }
        let max_receive = props.int(&RECEIVES)?;
        let dead_letter = match props.get("deadLetterQueue") {
            Some(dlq) => {
                let name = dlq.str(ctx.source, "deadLetterQueue")?;
                dlq_nodes.push((queues.len(), dlq.span.clone()));
                Some(DeadLetter {
                    queue: name,
                    max_receive_count: max_receive.map_or(DEFAULT_MAX_RECEIVE_COUNT, |n| n as u32),
                })
            }
            None => {
                if let Some(key) = props.key("maxReceiveCount") {
                    return Err(Diag::new(
                        key.span.clone(),
                        "`maxReceiveCount` without a `deadLetterQueue`",
                        "nothing to move messages to",
                    )
                    .help(format!(
                        "add {} naming another queue",
                        ctx.example("deadLetterQueue", "<queue>")
                    )));
                }
                None
            }
        };
        let function_name = format!("queues/{}", key.name);
        let function = (functions::dir_exists(ctx, &function_name) || settings.declared())
            .then(|| functions::declare(ctx, &function_name, &settings, &key.span));
        ctx.queues
            .insert(key.name.clone(), (fifo, key.span.clone()));
        let alarms = alarms::read(
            ctx,
            &props,
            alarms::On::Queue {
                name: &key.name,
                dead_letter_queue: dead_letter.as_ref().map(|d| d.queue.as_str()),
                function: function.as_deref(),
            },
        )?;
        ctx.alarms.extend(alarms);
        queues.push(Queue {
            name: key.name.clone(),
            fifo,
            content_based_deduplication: props.bool("contentBasedDeduplication", false)?,
            visibility_timeout: Duration::from_secs(visibility),
            delay: Duration::from_secs(props.int(&DELAY)?.unwrap_or(0) as u64),
            retention: Duration::from_secs(props.int(&RETENTION)?.unwrap_or(345_600) as u64),
            max_message_size: props.int(&MAX_SIZE)?.unwrap_or(1_048_576) as usize,
            batch_size,
            batching_window: window,
            max_concurrency: props.int(&CONCURRENCY)?.map(|n| n as u32),
            report_batch_item_failures: props.bool("reportBatchItemFailures", false)?,
            dead_letter,
            function,
            remote: None,
            span: ctx.span(&key.span),
        });
    }
    for (index, span) in dlq_nodes {
        check_dead_letter(ctx, &queues[index], span)?;
    }
    Ok(queues)
}

/// A `remote` queue: the real queue keeps its own attributes (FIFO-ness from its name);
/// the entry says how the app reads it, with Lambda's event source mapping settings.
fn remote_queue(
    ctx: &mut Ctx,
    key: &crate::tree::Key,
    props: &Props,
    remote: crate::model::Remote,
) -> DResult<Queue> {
    let fifo = remote.name.ends_with(".fifo");
    let batch_rule = if fifo { &FIFO_BATCH } else { &BATCH };
    let batch_size = props.int(batch_rule)?.unwrap_or(10) as u32;
    let window = batching_window(props)?;
    let settings = Settings::read(ctx, props)?;
    let function_name = format!("queues/{}", key.name);
    let consumed = functions::dir_exists(ctx, &function_name) || settings.declared();
    let remote_span = props
        .get("remote")
        .map_or(key.span.clone(), |n| n.span.clone());
    match (consumed, remote.consume) {
        (true, None) => {
            return Err(Diag::new(
                remote_span,
                format!("reading remote queue `{}` deletes its messages, and the manifest does not say to", key.name),
                "has a consumer, but no `consume` line",
            )
            .help(format!(
                "add {} to process and delete messages as Lambda does, or {} to invoke without deleting (messages return after their visibility timeout)",
                ctx.example("consume", "delete"),
                ctx.example("consume", "peek")
            )));
        }
        (false, Some(_)) => {
            let span = props.key("consume").map_or(remote_span, |k| k.span.clone());
            return Err(Diag::new(
                span,
                format!("nothing consumes remote queue `{}`", key.name),
                "no consumer",
            )
            .help(format!(
                "create the handler in src/{function_name}, or remove `consume` to only send to the queue"
            )));
        }
        _ => {}
    }
    let function = consumed.then(|| functions::declare(ctx, &function_name, &settings, &key.span));
    Ok(Queue {
        name: key.name.clone(),
        fifo,
        content_based_deduplication: false,
        // The real queue's visibility timeout is read from AWS when the consumer starts.
        visibility_timeout: Duration::from_secs(30),
        delay: Duration::ZERO,
        retention: Duration::from_secs(345_600),
        max_message_size: 1_048_576,
        batch_size,
        batching_window: window,
        max_concurrency: props.int(&CONCURRENCY)?.map(|n| n as u32),
        report_batch_item_failures: props.bool("reportBatchItemFailures", false)?,
        dead_letter: None,
        function,
        remote: Some(remote),
        span: ctx.span(&key.span),
    })
}

/// `name.fifo` makes a FIFO queue; `fifo true` may say so too, but must not contradict it.
pub(crate) fn fifo_flag(ctx: &Ctx, name: &str, props: &Props) -> DResult<bool> {
    let suffix = name.ends_with(".fifo");
    match props.get("fifo") {
        None => Ok(suffix),
        Some(node) => {
            let fifo = node.bool(ctx.source, "fifo")?;
            if suffix && !fifo {
                return Err(Diag::new(
                    node.span.clone(),
                    format!("`{name}` ends in `.fifo` but says `fifo false`"),
                    "contradicts the name",
                )
                .help("names ending in `.fifo` are FIFO; drop the suffix for a standard one"));
            }
            Ok(fifo)
        }
    }
}

/// `batchWindow` (Architect-style) or `maximumBatchingWindowInSeconds` (AWS), not both.
pub(crate) fn batching_window(props: &Props) -> DResult<Duration> {
    const SHORT: IntRule = IntRule {
        name: "batchWindow",
        min: 0,
        max: 300,
        unit: "seconds",
    };
    const LONG: IntRule = IntRule {
        name: "maximumBatchingWindowInSeconds",
        min: 0,
        max: 300,
        unit: "seconds",
    };
    if let (Some(_), Some(second)) = (
        props.key("batchWindow"),
        props.key("maximumBatchingWindowInSeconds"),
    ) {
        return Err(Diag::new(
            second.span.clone(),
            "both `batchWindow` and `maximumBatchingWindowInSeconds` are given",
            "same setting twice",
        )
        .help("they are two names for one setting; keep one"));
    }
    let value = match (props.int(&SHORT)?, props.int(&LONG)?) {
        (Some(v), _) | (None, Some(v)) => v,
        (None, None) => 0,
    };
    Ok(Duration::from_secs(value as u64))
}

fn check_dead_letter(ctx: &Ctx, queue: &Queue, span: std::ops::Range<usize>) -> DResult<()> {
    let Some(dlq) = &queue.dead_letter else {
        return Ok(());
    };
    if dlq.queue == queue.name {
        return Err(Diag::new(
            span,
            format!("queue `{}` is its own dead-letter queue", queue.name),
            "same queue",
        )
        .help("declare a separate queue for failed messages"));
    }
    let Some((dlq_fifo, dlq_span)) = ctx.queues.get(&dlq.queue) else {
        return Err(Diag::new(
            span,
            format!("dead-letter queue `{}` is not declared", dlq.queue),
            "no such queue",
        )
        .help(
            crate::suggest::did_you_mean(&dlq.queue, ctx.queues.keys().map(String::as_str), "")
                .unwrap_or_else(|| format!("declare `{}` under @queues too", dlq.queue)),
        ));
    };
    if *dlq_fifo != queue.fifo {
        let (kind, other) = if queue.fifo {
            ("FIFO", "standard")
        } else {
            ("standard", "FIFO")
        };
        return Err(Diag::new(
            span,
            format!(
                "{kind} queue `{}` can't use {other} queue `{}` as its dead-letter queue",
                queue.name, dlq.queue
            ),
            format!("{other} queue"),
        )
        .related(dlq_span.clone(), format!("`{}` declared here", dlq.queue))
        .help(format!(
            "AWS requires a {kind} queue's dead-letter queue to be {kind} too"
        )));
    }
    Ok(())
}
