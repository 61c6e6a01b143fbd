//! The `sandbox.call` envelope: `{"service": "queues", "action": "SendMessage", ...}`.
//!
//! Actions are named after the AWS operation they play (`SendMessage`, `Publish`,
//! `PutEvents`, `PutRecord`, `PutRecords`). The spellings earlier SDKs sent (`send`,
//! `publish`, `put_events`, `putEvents`, `put`, `putRecords`) are still accepted, so
//! handlers built against them keep working; [`canonical`] maps them.

/// Every action a handler can call, as `(service, action, older spellings)`.
pub const ACTIONS: &[(&str, &str, &[&str])] = &[
    ("queues", "SendMessage", &["send"]),
    ("topics", "Publish", &["publish"]),
    ("bus", "PutEvents", &["put_events", "putEvents"]),
    ("streams", "PutRecord", &["put"]),
    ("streams", "PutRecords", &["putRecords"]),
];

/// Older names of services.
const SERVICE_ALIASES: &[(&str, &str)] = &[("buses", "bus"), ("queue", "queues")];

/// The canonical `(service, action)` for a call, or `None` when there is no such action.
pub fn canonical(service: &str, action: &str) -> Option<(&'static str, &'static str)> {
    let service = SERVICE_ALIASES
        .iter()
        .find(|(alias, _)| *alias == service)
        .map_or(service, |(_, name)| *name);
    ACTIONS
        .iter()
        .find(|(s, a, aliases)| *s == service && (*a == action || aliases.contains(&action)))
        .map(|(s, a, _)| (*s, *a))
}

/// `queues.SendMessage, topics.Publish, ...`, for error messages.
pub fn known() -> String {
    ACTIONS
        .iter()
        .map(|(s, a, _)| format!("{s}.{a}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_spellings_map_to_aws_operation_names() {
        assert_eq!(canonical("queues", "send"), Some(("queues", "SendMessage")));
        assert_eq!(
            canonical("queues", "SendMessage"),
            Some(("queues", "SendMessage"))
        );
        assert_eq!(canonical("buses", "putEvents"), Some(("bus", "PutEvents")));
        assert_eq!(canonical("bus", "put_events"), Some(("bus", "PutEvents")));
        assert_eq!(canonical("streams", "put"), Some(("streams", "PutRecord")));
        assert_eq!(
            canonical("streams", "PutRecords"),
            Some(("streams", "PutRecords"))
        );
        assert_eq!(canonical("streams", "send"), None);
        assert!(known().contains("topics.Publish"));
    }
}
