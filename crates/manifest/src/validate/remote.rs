//! `remote <queue URL or ARN>`: a queue, stream, topic or bus entry that stands for a
//! real one in AWS (or in another AWS-compatible endpoint, `endpoint <url>`).
//!
//! ```text
//! @queues
//! orders
//!   remote https://sqs.eu-west-1.amazonaws.com/123456789012/orders
//!   consume delete          # or `consume peek`: invoke without deleting
//! @streams
//! clicks
//!   remote arn:aws:kinesis:eu-west-1:123456789012:stream/clicks
//!   consumers analytics
//! ```
//!
//! Safety first: nothing touches AWS unless an entry says `remote`, and a remote queue
//! with a consumer must say what reading does (`consume delete` or `consume peek`),
//! because Lambda's way of reading a queue deletes what it processed.

use super::Ctx;
use crate::error::{DResult, Diag};
use crate::model::{Consume, Remote};
use crate::suggest;
use crate::tree::{Key, Props};

/// What kind of entry names the remote resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Queue,
    Stream,
    Topic,
    Bus,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Queue => "queue",
            Kind::Stream => "stream",
            Kind::Topic => "topic",
            Kind::Bus => "bus",
        }
    }

    /// The ARN's service, and what comes before the name in its resource part.
    fn arn_form(self) -> (&'static str, &'static str) {
        match self {
            Kind::Queue => ("sqs", ""),
            Kind::Stream => ("kinesis", "stream/"),
            Kind::Topic => ("sns", ""),
            Kind::Bus => ("events", "event-bus/"),
        }
    }

    fn example(self) -> &'static str {
        match self {
            Kind::Queue => "https://sqs.eu-west-1.amazonaws.com/123456789012/orders or arn:aws:sqs:eu-west-1:123456789012:orders",
            Kind::Stream => "arn:aws:kinesis:eu-west-1:123456789012:stream/clicks",
            Kind::Topic => "arn:aws:sns:eu-west-1:123456789012:alerts",
            Kind::Bus => "arn:aws:events:eu-west-1:123456789012:event-bus/orders",
        }
    }
}

/// Properties a remote entry of this kind may not have: they belong to the real resource.
pub(crate) fn owned_by_aws(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Queue => &[
            "fifo",
            "contentBasedDeduplication",
            "visibilityTimeout",
            "delaySeconds",
            "messageRetentionPeriod",
            "maximumMessageSize",
            "deadLetterQueue",
            "maxReceiveCount",
            "alarm",
        ],
        Kind::Stream => &["shards", "retention"],
        Kind::Topic => &[
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
        ],
        Kind::Bus => &["rules", "archives"],
    }
}

/// Reads `remote`, `endpoint` and (queues) `consume`; `None` for a local entry.
pub(crate) fn read(ctx: &Ctx, props: &Props, kind: Kind, key: &Key) -> DResult<Option<Remote>> {
    let Some(node) = props.get("remote") else {
        for extra in ["endpoint", "consume"] {
            if let Some(k) = props.key(extra) {
                return Err(Diag::new(
                    k.span.clone(),
                    format!(
                        "`{extra}` on {} `{}`, which is local",
                        kind.noun(),
                        key.name
                    ),
                    "only for remote resources",
                )
                .help(format!(
                    "add {} to use a real {}, or remove `{extra}`",
                    ctx.example("remote", kind.example().split(' ').next().unwrap_or("")),
                    kind.noun()
                )));
            }
        }
        return Ok(None);
    };
    for owned in owned_by_aws(kind) {
        if let Some(k) = props.key(owned) {
            return Err(Diag::new(
                k.span.clone(),
                format!(
                    "`{owned}` on remote {} `{}`: it belongs to the real {}",
                    kind.noun(),
                    key.name,
                    kind.noun()
                ),
                "set in AWS",
            )
            .help(format!(
                "change it on the {} in AWS and remove it here; a remote entry only says how this app reaches it",
                kind.noun()
            )));
        }
    }
    let text = node.str(ctx.source, "remote")?;
    let bad = |why: String| {
        Diag::new(
            node.span.clone(),
            why,
            format!("not a {} URL or ARN", kind.noun()),
        )
        .help(format!("write e.g. {}", kind.example()))
    };
    let mut remote = if text.starts_with("arn:") {
        arn(&text, kind).map_err(bad)?
    } else if kind == Kind::Queue && (text.starts_with("https://") || text.starts_with("http://")) {
        queue_url(&text).map_err(bad)?
    } else {
        return Err(bad(format!(
            "`remote` of {} `{}` must be {}",
            kind.noun(),
            key.name,
            if kind == Kind::Queue {
                "a queue URL or an SQS queue ARN"
            } else {
                "an ARN"
            }
        )));
    };
    if let Some(endpoint) = props.get("endpoint") {
        let url = endpoint.str(ctx.source, "endpoint")?;
        if split_url(&url).is_none() {
            return Err(Diag::new(
                endpoint.span.clone(),
                format!("`endpoint` `{url}` is not an http(s) URL"),
                "expected http://host[:port] or https://host",
            )
            .help("write e.g. `endpoint http://localhost:4566` (another AWS-compatible service), or leave it out to reach AWS"));
        }
        remote.endpoint = Some(url.trim_end_matches('/').to_string());
    }
    if let Some(consume) = props.get("consume") {
        if kind != Kind::Queue {
            let k = props
                .key("consume")
                .map_or(consume.span.clone(), |k| k.span.clone());
            return Err(Diag::new(
                k,
                format!(
                    "`consume` is for remote queues, and `{}` is a {}",
                    key.name,
                    kind.noun()
                ),
                "only for queues",
            )
            .help(match kind {
                Kind::Stream => {
                    "reading a stream deletes nothing; its consumers keep their checkpoints locally"
                }
                _ => "remove it: the app only publishes to a remote topic or bus",
            }));
        }
        let word = consume.str(ctx.source, "consume")?;
        remote.consume = Some(match word.as_str() {
            "delete" => Consume::Delete,
            "peek" => Consume::Peek,
            other => {
                return Err(Diag::new(
                    consume.span.clone(),
                    format!("unknown `consume` mode `{other}`"),
                    "expected `delete` or `peek`",
                )
                .help(
                    suggest::did_you_mean(other, ["delete", "peek"], "").unwrap_or_else(|| {
                        "`delete` processes and deletes messages as Lambda does; `peek` invokes without deleting".into()
                    }),
                ));
            }
        });
    }
    Ok(Some(remote))
}

/// `arn:<partition>:<service>:<region>:<account>:<resource>`.
fn arn(text: &str, kind: Kind) -> Result<Remote, String> {
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    let [_, partition, service, region, account, resource] = parts.as_slice() else {
        return Err(format!(
            "`{text}` is not a whole ARN (arn:partition:service:region:account:resource)"
        ));
    };
    let (want, prefix) = kind.arn_form();
    if *service != want {
        return Err(format!(
            "`{text}` is an ARN of `{service}`, and a remote {} needs a `{want}` ARN",
            kind.noun()
        ));
    }
    if partition.is_empty() || region.is_empty() {
        return Err(format!("`{text}` has no partition or region"));
    }
    check_account(account)?;
    let name = resource
        .strip_prefix(prefix)
        .filter(|n| !n.is_empty() && !n.contains('/') && !n.contains(':'))
        .ok_or_else(|| format!("`{text}` does not end in `{prefix}<name>`"))?;
    Ok(Remote {
        resource: text.to_string(),
        name: name.to_string(),
        region: Some(region.to_string()),
        account: Some(account.to_string()),
        endpoint: None,
        consume: None,
    })
}

/// `https://sqs.<region>.amazonaws.com/<account>/<name>`, or any endpoint's queue URL
/// (`http://localhost:4566/000000000000/orders`), whose origin then becomes the endpoint.
fn queue_url(text: &str) -> Result<Remote, String> {
    let (origin, host, path) =
        split_url(text).ok_or_else(|| format!("`{text}` is not a queue URL"))?;
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let [account, name] = segments.as_slice() else {
        return Err(format!("`{text}` does not end in /<account>/<queue name>"));
    };
    check_account(account)?;
    if name.is_empty() {
        return Err(format!("`{text}` has no queue name"));
    }
    let hostname = host.split(':').next().unwrap_or(host);
    let aws = hostname.ends_with(".amazonaws.com") || hostname.ends_with(".amazonaws.com.cn");
    // sqs.<region>.amazonaws.com, or the legacy <region>.queue.amazonaws.com.
    let labels: Vec<&str> = hostname.split('.').collect();
    let region = match labels.as_slice() {
        ["sqs", region, ..] if aws => Some(region.to_string()),
        [region, "queue", ..] if aws => Some(region.to_string()),
        _ => None,
    };
    Ok(Remote {
        resource: text.to_string(),
        name: name.to_string(),
        region,
        account: Some(account.to_string()),
        endpoint: (!aws).then(|| origin.to_string()),
        consume: None,
    })
}

/// `(origin, host, path)` of an http(s) URL with a host.
fn split_url(text: &str) -> Option<(&str, &str, &str)> {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))?;
    let host_end = rest.find('/').unwrap_or(rest.len());
    let host = &rest[..host_end];
    if host.is_empty() || host.contains(char::is_whitespace) || host.contains('@') {
        return None;
    }
    let origin = &text[..text.len() - rest.len() + host_end];
    Some((origin, host, &rest[host_end..]))
}

fn check_account(account: &str) -> Result<(), String> {
    if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(format!("`{account}` is not an AWS account id (12 digits)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_queue_urls_and_arns() {
        let r = queue_url("https://sqs.eu-west-1.amazonaws.com/123456789012/orders").unwrap();
        assert_eq!(
            (r.name.as_str(), r.region.as_deref()),
            ("orders", Some("eu-west-1"))
        );
        assert_eq!(r.endpoint, None);
        let r = queue_url("http://localhost:4566/000000000000/jobs.fifo").unwrap();
        assert_eq!(r.endpoint.as_deref(), Some("http://localhost:4566"));
        assert_eq!((r.name.as_str(), r.region), ("jobs.fifo", None));
        assert!(queue_url("https://sqs.eu-west-1.amazonaws.com/orders").is_err());
        let r = arn(
            "arn:aws:kinesis:us-east-1:000000000000:stream/clicks",
            Kind::Stream,
        )
        .unwrap();
        assert_eq!(
            (r.name.as_str(), r.account.as_deref()),
            ("clicks", Some("000000000000"))
        );
        assert!(arn("arn:aws:sns:us-east-1:000000000000:alerts", Kind::Queue).is_err());
        assert!(arn("arn:aws:events:us-east-1:000000000000:rule/x", Kind::Bus).is_err());
        assert!(arn("arn:aws:sqs:us-east-1:12:orders", Kind::Queue).is_err());
    }
}
