//! `alarm …` properties: what a queue, a stream consumer or a route's function is watched
//! for, as the rules of `sandbox_services::alarm`.
//!
//! Written one per line under the resource in `.arc` (`alarm oldestAge 300`,
//! `alarm errors 5 in 5m`); in `sandbox.json` the same lines as a list of strings
//! (`"alarm": ["oldestAge 300"]`). A queue with a dead-letter queue gets
//! `deadLetters 1` unless it says otherwise (`alarm deadLetters off`): a message in a
//! dead-letter queue is a failure someone should hear about. So does a topic's
//! dead-letter queue, named after itself (`queue/<dlq> deadLetters`), unless the
//! dead-letter queue says otherwise under its own name ([`settle`], once topics are read).

use std::ops::Range;
use std::time::Duration;

use sandbox_services::alarm::Watch;

use super::Ctx;
use crate::error::{DResult, Diag};
use crate::model::{Alarm, Topic};
use crate::suggest;
use crate::tree::{Kind, Node, Props};

/// What the alarms are declared on, and so which kinds they may be.
pub(crate) enum On<'a> {
    Queue {
        name: &'a str,
        dead_letter_queue: Option<&'a str>,
        function: Option<&'a str>,
    },
    Consumer {
        stream: &'a str,
        consumer: &'a str,
        function: &'a str,
    },
    Route {
        function: &'a str,
    },
}

impl On<'_> {
    fn kinds(&self) -> &'static [&'static str] {
        match self {
            On::Queue { .. } => &["oldestAge", "deadLetters", "errors"],
            On::Consumer { .. } => &["lag", "iteratorAge", "errors"],
            On::Route { .. } => &["errors"],
        }
    }

    fn what(&self) -> &'static str {
        match self {
            On::Queue { .. } => "a queue",
            On::Consumer { .. } => "a stream consumer",
            On::Route { .. } => "a route",
        }
    }
}

/// One word of an alarm line and where it is.
type Word = (String, Range<usize>);

/// The alarms `props` declares on `on`, plus the default dead-letter alarm.
pub(crate) fn read(ctx: &mut Ctx, props: &Props, on: On) -> DResult<Vec<Alarm>> {
    let mut alarms: Vec<Alarm> = Vec::new();
    let mut seen: Vec<(&'static str, Range<usize>)> = Vec::new();
    let mut dead_letters_said = false;
    for line in lines(ctx, props)? {
        let span = line.first().map(|w| w.1.clone()).unwrap_or_default();
        let whole = span.start..line.last().map_or(span.end, |w| w.1.end);
        let Some((kind, rest)) = line.split_first() else {
            continue;
        };
        let Some(kind_name) = on.kinds().iter().find(|k| **k == kind.0) else {
            return Err(Diag::new(
                kind.1.clone(),
                format!("unknown alarm `{}` for {}", kind.0, on.what()),
                "not an alarm here",
            )
            .help(suggest::did_you_mean_or_list(&kind.0, on.kinds(), "")));
        };
        if let Some((_, first)) = seen.iter().find(|(k, _)| k == kind_name) {
            return Err(Diag::new(
                kind.1.clone(),
                format!("alarm `{kind_name}` is given twice"),
                "repeated here",
            )
            .related(first.clone(), "first given here"));
        }
        seen.push((kind_name, kind.1.clone()));
        let watch = match (*kind_name, &on) {
            ("oldestAge", On::Queue { name: queue, .. }) => Watch::OldestAge {
                queue: queue.to_string(),
                seconds: seconds(kind, rest, "oldestAge 300")?,
            },
            (
                "deadLetters",
                On::Queue {
                    name: queue,
                    dead_letter_queue,
                    ..
                },
            ) => {
                dead_letters_said = true;
                let off = rest.len() == 1 && rest[0].0 == "off";
                let Some(dlq) = dead_letter_queue else {
                    // Perhaps a topic's dead-letter queue: topics are read later.
                    let count = match off {
                        true => None,
                        false => Some(count(kind, rest, "deadLetters 1 (or off)")? as usize),
                    };
                    ctx.dead_letter_claims.push(Claim {
                        queue: queue.to_string(),
                        span: kind.1.clone(),
                        count,
                        line: ctx.span(&whole),
                    });
                    continue;
                };
                if off {
                    continue;
                }
                Watch::DeadLetters {
                    queue: queue.to_string(),
                    dead_letter_queue: dlq.to_string(),
                    count: count(kind, rest, "deadLetters 1 (or off)")? as usize,
                }
            }
            (
                "lag",
                On::Consumer {
                    stream, consumer, ..
                },
            ) => Watch::ConsumerLag {
                stream: stream.to_string(),
                consumer: consumer.to_string(),
                records: count(kind, rest, "lag 100")? as usize,
            },
            (
                "iteratorAge",
                On::Consumer {
                    stream, consumer, ..
                },
            ) => Watch::IteratorAge {
                stream: stream.to_string(),
                consumer: consumer.to_string(),
                seconds: seconds(kind, rest, "iteratorAge 60")?,
            },
            (_, on) => {
                let function = match on {
                    On::Queue { function, name, .. } => function.ok_or_else(|| {
                        Diag::new(
                            kind.1.clone(),
                            format!("alarm `errors` on `{name}`, which has no consumer function"),
                            "no function to count errors of",
                        )
                        .help(format!("add a handler in src/queues/{name}/"))
                    })?,
                    On::Consumer { function, .. } | On::Route { function } => function,
                };
                let (n, period) = errors(kind, rest)?;
                Watch::Errors {
                    function: function.to_string(),
                    count: n,
                    period,
                }
            }
        };
        alarms.push(Alarm {
            watch,
            span: ctx.span(&whole),
        });
    }
    if let On::Queue {
        name,
        dead_letter_queue: Some(dlq),
        ..
    } = on
    {
        if !dead_letters_said {
            let span = props.key("deadLetterQueue").map(|k| k.span.clone());
            alarms.push(Alarm {
                watch: Watch::DeadLetters {
                    queue: name.to_string(),
                    dead_letter_queue: dlq.to_string(),
                    count: 1,
                },
                span: ctx.span(&span.unwrap_or_default()),
            });
        }
    }
    Ok(alarms)
}

/// `alarm deadLetters N|off` on a queue without a dead-letter queue of its own: about
/// the queue as some topic's dead-letter queue, checked by [`settle`].
pub(crate) struct Claim {
    queue: String,
    span: Range<usize>,
    count: Option<usize>,
    line: crate::model::Span,
}

/// Once topics are read: the default alarm of every topic dead-letter queue, and the
/// `deadLetters` lines written on dead-letter queues themselves.
pub(crate) fn settle(ctx: &mut Ctx, topics: &[Topic]) -> DResult<()> {
    let mut dlqs: Vec<(&str, crate::model::Span)> = Vec::new();
    for topic in topics {
        for dlq in topic
            .subscriptions
            .iter()
            .filter_map(|s| s.dead_letter_queue.as_deref())
        {
            if !dlqs.iter().any(|(d, _)| *d == dlq) {
                dlqs.push((dlq, topic.span));
            }
        }
    }
    let claims = std::mem::take(&mut ctx.dead_letter_claims);
    for claim in &claims {
        if !dlqs.iter().any(|(d, _)| *d == claim.queue) {
            return Err(Diag::new(
                claim.span.clone(),
                format!(
                    "alarm `deadLetters` on `{}`, which has no dead-letter queue and is no topic's",
                    claim.queue
                ),
                "nothing to watch",
            )
            .help(format!(
                "add {} naming another queue",
                ctx.example("deadLetterQueue", "<queue>")
            )));
        }
        if let Some(count) = claim.count {
            ctx.alarms.push(Alarm {
                watch: Watch::DeadLetters {
                    queue: claim.queue.clone(),
                    dead_letter_queue: claim.queue.clone(),
                    count,
                },
                span: claim.line,
            });
        }
    }
    for (dlq, span) in dlqs {
        let said = claims.iter().any(|c| c.queue == dlq);
        let watched = ctx.alarms.iter().any(|a| {
            matches!(&a.watch, Watch::DeadLetters { dead_letter_queue, .. } if dead_letter_queue == dlq)
        });
        if !said && !watched {
            ctx.alarms.push(Alarm {
                watch: Watch::DeadLetters {
                    queue: dlq.to_string(),
                    dead_letter_queue: dlq.to_string(),
                    count: 1,
                },
                span,
            });
        }
    }
    Ok(())
}

/// Every `alarm` line as its words: `.arc` lines (collected into a list by the reader)
/// or `sandbox.json`'s strings.
fn lines(ctx: &Ctx, props: &Props) -> DResult<Vec<Vec<Word>>> {
    let Some(node) = props.get("alarm") else {
        return Ok(Vec::new());
    };
    let items: Vec<&Node> = match &node.kind {
        Kind::Arr(items) => items.iter().collect(),
        _ => vec![node],
    };
    items
        .into_iter()
        .map(|item| match &item.kind {
            Kind::Word(w) => Ok(vec![(w.clone(), item.span.clone())]),
            Kind::Words(words) => words
                .iter()
                .map(|w| Ok((w.str(ctx.source, "alarm")?, w.span.clone())))
                .collect(),
            Kind::Str(s) => Ok(s
                .split_whitespace()
                .map(|w| (w.to_string(), item.span.clone()))
                .collect()),
            _ => Err(Diag::new(
                item.span.clone(),
                "`alarm` must be a line such as `oldestAge 300`",
                "not an alarm",
            )),
        })
        .collect()
}

/// `<kind> N`: a whole number at least 1.
fn count(kind: &Word, rest: &[Word], example: &str) -> DResult<u64> {
    match rest {
        [(n, span)] => n.parse::<u64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
            Diag::new(
                span.clone(),
                format!("alarm `{}` needs a whole number of at least 1", kind.0),
                format!("found `{n}`"),
            )
            .help(format!("e.g. `alarm {example}`"))
        }),
        _ => Err(shape(kind, rest, example)),
    }
}

/// `<kind> 300` (seconds) or `<kind> 5m` (a duration).
fn seconds(kind: &Word, rest: &[Word], example: &str) -> DResult<u64> {
    match rest {
        [(text, span)] => duration(text)
            .map(|d| d.as_secs())
            .filter(|s| *s >= 1)
            .ok_or_else(|| {
                Diag::new(
                    span.clone(),
                    format!(
                        "alarm `{}` needs seconds (`300`) or a duration (`5m`) of at least 1s",
                        kind.0
                    ),
                    format!("found `{text}`"),
                )
                .help(format!("e.g. `alarm {example}`"))
            }),
        _ => Err(shape(kind, rest, example)),
    }
}

/// `errors N in <period>`.
fn errors(kind: &Word, rest: &[Word]) -> DResult<(u64, Duration)> {
    const EXAMPLE: &str = "errors 5 in 5m";
    let [n, (word, word_span), (period, period_span)] = rest else {
        return Err(shape(kind, rest, EXAMPLE));
    };
    let n = count(kind, std::slice::from_ref(n), EXAMPLE)?;
    if word != "in" {
        return Err(Diag::new(
            word_span.clone(),
            "alarm `errors` needs `in` before its period",
            format!("found `{word}`"),
        )
        .help(format!("e.g. `alarm {EXAMPLE}`")));
    }
    let period = duration(period)
        .filter(|d| d.as_secs() >= 1)
        .ok_or_else(|| {
            Diag::new(
                period_span.clone(),
                "alarm `errors` needs a period such as `5m` or `1h`",
                format!("found `{period}`"),
            )
            .help(format!("e.g. `alarm {EXAMPLE}`"))
        })?;
    Ok((n, period))
}

fn shape(kind: &Word, rest: &[Word], example: &str) -> Diag {
    let span = match (rest.first(), rest.last()) {
        (Some(first), Some(last)) => first.1.start..last.1.end,
        _ => kind.1.clone(),
    };
    let label = if rest.is_empty() {
        "expected a value after this".to_string()
    } else {
        "not understood".to_string()
    };
    Diag::new(
        span,
        format!("alarm `{}` is written `alarm {example}`", kind.0),
        label,
    )
}

/// Whole seconds, or a duration the sandbox clock understands (`90s`, `5m`, `1h`).
fn duration(text: &str) -> Option<Duration> {
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    sandbox_services::parse_duration(text).ok()?.to_std().ok()
}
