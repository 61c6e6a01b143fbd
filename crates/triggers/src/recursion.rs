//! What the drivers say and count when Lambda's recursive loop detection stops an
//! invocation (`sandbox_services::recursion`): one warning line, in the same words for
//! queues and topics, and the `sandbox_recursive_loops_stopped_total` counter.

use sandbox_services::recursion::MAX_INVOCATIONS;

use crate::Metrics;

/// A stopped invocation of `function` by `service` (`queue`, `topic`) `resource`, for
/// message `message_id`; `fate` says where the message went (`None`: dropped).
pub(crate) fn stopped(
    metrics: &Metrics,
    (service, resource): (&str, &str),
    function: &str,
    message_id: &str,
    fate: Option<&str>,
) {
    metrics.loop_stopped(service, resource, function);
    let fate = match fate {
        Some(dlq) => format!("message {message_id} sent to dead-letter queue {dlq}"),
        None => format!(
            "message {message_id} dropped (no dead-letter queue; configure one to keep such messages)"
        ),
    };
    tracing::warn!(
        "{service} {resource}: recursive loop detected: function {function} stopped after {MAX_INVOCATIONS} invocations in one chain of events, {fate} (Lambda's recursive loop detection)"
    );
}
