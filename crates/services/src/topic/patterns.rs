//! Where topics meet the filter policy language of [`crate::pattern`]: the one place that
//! knows how a policy is asked about a message, so `topics.rs` only says "does this
//! subscription want this message".

use std::collections::BTreeMap;

use super::envelope::AttributeValue;

pub use crate::pattern::{FilterPolicy, Scope};

/// Whether `policy` accepts a message with these attributes and this body, in the scope it
/// was compiled for. A body-scope policy never matches a body that is not a JSON object.
pub fn policy_matches(
    policy: &FilterPolicy,
    attributes: &BTreeMap<String, AttributeValue>,
    message: &str,
) -> bool {
    match policy.scope() {
        Scope::MessageAttributes => policy.matches_attributes_with(|name| {
            attributes
                .get(name)
                .map(|a| (a.data_type.as_str(), a.value.as_str()))
        }),
        Scope::MessageBody => policy.matches_body_text(message),
    }
}
