//! `@events`: SNS topics and their subscriptions.
//!
//! ```text
//! @events
//! orders                        # handler: src/events/orders (if present)
//!   subscribers queue:billing fn:events/audit
//!   rawMessageDelivery true     # for the queue subscribers
//!   filterPolicy {"kind": ["big"]}   # for the topic's own handler
//!   filterPolicyScope MessageBody
//!   deadLetterQueue failed-deliveries
//! ```
//!
//! The topic's own handler (`events/<name>`) is the first subscription when its
//! directory exists, when the entry configures it (`build`, `timeout`, a filter
//! policy…) or when nothing else subscribes — then it is listed with a missing handler
//! so status shows what to create.

use super::functions::{self, Settings};
use super::targets::{self, Allow};
use super::{names, queues, remote, Ctx};
use crate::error::{DResult, Diag};
use crate::model::{FilterPolicyScope, Subscription, Target, Topic};
use crate::suggest;
use crate::tree::{Node, Props};

const KEYS: &[&str] = &[
    "fifo",
    "contentBasedDeduplication",
    "subscribers",
    "rawMessageDelivery",
    "filterPolicy",
    "filterPolicyScope",
    "deadLetterQueue",
    "timeout",
    "memory",
    "env",
    "build",
    "remote",
    "endpoint",
    "consume",
];

pub(crate) fn read(ctx: &mut Ctx, node: &Node) -> DResult<Vec<Topic>> {
    let entries = &super::named_entries(ctx, node, "`events`")?;
    // Register names first: topics are referenced by bus rules and streams later, and
    // fifo-ness decides which queues may subscribe.
    for (key, value) in entries {
        let props = Props::new(value, ctx.source, &format!("topic `{}`", key.name))?;
        props.only(KEYS, "an event topic")?;
        names::check(&key.name, key.span.clone(), names::TOPIC)?;
        let fifo = queues::fifo_flag(ctx, &key.name, &props)?;
        ctx.topics
            .insert(key.name.clone(), (fifo, key.span.clone()));
    }
    let mut topics = Vec::new();
    for (key, value) in entries {
        let props = Props::new(value, ctx.source, "a topic")?;
        // A remote topic's subscribers live in AWS: the app only publishes to it.
        if let Some(remote) = remote::read(ctx, &props, remote::Kind::Topic, key)? {
            topics.push(Topic {
                name: key.name.clone(),
                fifo: remote.name.ends_with(".fifo"),
                content_based_deduplication: false,
                subscriptions: Vec::new(),
                remote: Some(remote),
                span: ctx.span(&key.span),
            });
            continue;
        }
        let fifo = ctx.topics.get(&key.name).is_some_and(|t| t.0);
        let dedup = props.bool("contentBasedDeduplication", false)?;
        if dedup && !fifo {
            let span = props
                .get("contentBasedDeduplication")
                .map_or(key.span.clone(), |n| n.span.clone());
            return Err(Diag::new(
                span,
                format!(
                    "`contentBasedDeduplication` needs a FIFO topic, and `{}` is standard",
                    key.name
                ),
                "only for FIFO topics",
            )
            .help(format!(
                "name the topic `{}.fifo`, or remove contentBasedDeduplication",
                key.name
            )));
        }
        let raw = props.bool("rawMessageDelivery", false)?;
        let filter_policy = match props.get("filterPolicy") {
            Some(node) => {
                let policy = node.json(ctx.source, "filterPolicy")?;
                if !policy.is_object() {
                    return Err(Diag::new(
                        node.span.clone(),
                        "`filterPolicy` must be a JSON object",
                        "not an object",
                    )
                    .help("write e.g. {\"kind\": [\"big\"]}"));
                }
                Some(policy)
            }
            None => None,
        };
        let scope = match props.get("filterPolicyScope") {
            None => FilterPolicyScope::MessageAttributes,
            Some(node) => match node.str(ctx.source, "filterPolicyScope")?.as_str() {
                "MessageAttributes" => FilterPolicyScope::MessageAttributes,
                "MessageBody" => FilterPolicyScope::MessageBody,
                other => {
                    return Err(Diag::new(
                        node.span.clone(),
                        format!("unknown filterPolicyScope `{other}`"),
                        "expected MessageAttributes or MessageBody",
                    )
                    .help(suggest::did_you_mean_or_list(
                        other,
                        &["MessageAttributes", "MessageBody"],
                        "",
                    )));
                }
            },
        };
        if let (Some(policy), Some(node)) = (&filter_policy, props.get("filterPolicy")) {
            use sandbox_services::pattern::{FilterPolicy, Scope};
            let scope = match scope {
                FilterPolicyScope::MessageAttributes => Scope::MessageAttributes,
                FilterPolicyScope::MessageBody => Scope::MessageBody,
            };
            // The same compiler the topic runs, so what loads here also runs there.
            if let Err(e) = FilterPolicy::compile(policy, scope) {
                return Err(Diag::new(
                    node.span.clone(),
                    format!("invalid filter policy: {e}"),
                    "SNS would refuse this policy",
                )
                .help(if scope == Scope::MessageAttributes {
                    "attribute policies are flat: {\"attribute\": [\"value\", {\"prefix\": \"x\"}]}; for nested keys add `filterPolicyScope MessageBody`"
                } else {
                    "write e.g. {\"kind\": [\"big\"], \"total\": [{\"numeric\": [\">\", 100]}]}"
                }));
            }
        }
        let dead_letter_queue = match props.get("deadLetterQueue") {
            Some(node) => {
                let name = node.str(ctx.source, "deadLetterQueue")?;
                match ctx.queues.get(&name) {
                    None => {
                        return Err(Diag::new(
                            node.span.clone(),
                            format!("dead-letter queue `{name}` is not declared"),
                            "no such queue",
                        )
                        .help(
                            suggest::did_you_mean(&name, ctx.queues.keys().map(String::as_str), "")
                                .unwrap_or_else(|| format!("declare `{name}` under @queues")),
                        ));
                    }
                    Some((queue_fifo, _)) if *queue_fifo != fifo => {
                        return Err(Diag::new(node.span.clone(), "a topic's dead-letter queue must match its type", if fifo { "standard queue for a FIFO topic" } else { "FIFO queue for a standard topic" })
                            .help("AWS requires a FIFO dead-letter queue for FIFO topics and a standard one for standard topics"));
                    }
                    Some(_) => Some(name),
                }
            }
            None => None,
        };

        let mut subscriptions: Vec<Subscription> = Vec::new();
        let listed = match props.get("subscribers") {
            Some(node) => node.list(ctx.source, "subscribers")?,
            None => Vec::new(),
        };
        let settings = Settings::read(ctx, &props)?;
        let own = format!("events/{}", key.name);
        let own_dir = functions::dir_exists(ctx, &own);
        if fifo {
            if own_dir || settings.declared() || filter_policy.is_some() {
                return Err(Diag::new(key.span.clone(), format!("FIFO topic `{}` can't invoke a function", key.name), "SNS FIFO topics deliver only to SQS queues")
                    .help(format!("subscribe a FIFO queue (`subscribers queue:<name>.fifo`) and give that queue the handler instead of src/{own}")));
            }
        } else if own_dir || settings.declared() || filter_policy.is_some() || listed.is_empty() {
            let function = functions::declare(ctx, &own, &settings, &key.span);
            subscriptions.push(Subscription {
                target: Target::Function(function),
                raw_message_delivery: false,
                filter_policy,
                filter_policy_scope: scope,
                dead_letter_queue: dead_letter_queue.clone(),
                span: ctx.span(&key.span),
            });
        }
        for (text, span) in listed {
            let target = targets::parse(
                ctx,
                &text,
                span.clone(),
                &[Allow::Queue, Allow::Function],
                "subscriber",
            )?;
            match &target {
                Target::Function(_) if fifo => {
                    return Err(Diag::new(
                        span,
                        format!("FIFO topic `{}` can't invoke a function", key.name),
                        "SNS FIFO topics deliver only to SQS queues",
                    )
                    .help("subscribe a FIFO queue and give that queue the handler"));
                }
                Target::Queue(queue) if !fifo && ctx.queues.get(queue).is_some_and(|q| q.0) => {
                    return Err(Diag::new(
                        span,
                        format!(
                            "standard topic `{}` can't deliver to FIFO queue `{queue}`",
                            key.name
                        ),
                        "FIFO queue",
                    )
                    .help(format!(
                        "make the topic FIFO (`{}.fifo`) or subscribe a standard queue",
                        key.name
                    )));
                }
                _ => {}
            }
            if subscriptions.iter().any(|s| s.target == target) {
                return Err(Diag::new(
                    span,
                    format!("`{text}` subscribes to `{}` twice", key.name),
                    "duplicate subscriber",
                ));
            }
            subscriptions.push(Subscription {
                raw_message_delivery: raw && matches!(target, Target::Queue(_)),
                target,
                filter_policy: None,
                filter_policy_scope: FilterPolicyScope::MessageAttributes,
                dead_letter_queue: dead_letter_queue.clone(),
                span: ctx.span(&span),
            });
        }
        topics.push(Topic {
            name: key.name.clone(),
            fifo,
            content_based_deduplication: dedup,
            subscriptions,
            remote: None,
            span: ctx.span(&key.span),
        });
    }
    Ok(topics)
}
