//! Where topics meet the filter policy language of [`crate::pattern`]: the one place that
//! knows how a policy is asked about a message, so `topics.rs` only says "does this
//! subscription want this message".
//!
//! Until `crate::pattern` exists this file carries a deliberately tiny stand-in (exact
//! string values only); it is replaced by a re-export, not grown into a pattern language.

use std::collections::BTreeMap;

use super::envelope::AttributeValue;

pub use stand_in::{FilterPolicy, Scope};

/// Whether `policy` accepts a message with these attributes and this body. A body-scope
/// policy never matches a body that is not a JSON object (SNS: "the message body must be
/// well-formed JSON" for payload-based filtering).
pub fn policy_matches(
    policy: &FilterPolicy,
    attributes: &BTreeMap<String, AttributeValue>,
    message: &str,
) -> bool {
    match policy.scope() {
        Scope::MessageAttributes => {
            let attrs: BTreeMap<String, (String, String)> = attributes
                .iter()
                .map(|(k, a)| (k.clone(), (a.data_type.clone(), a.value.clone())))
                .collect();
            policy.matches_attributes(&attrs)
        }
        Scope::MessageBody => match serde_json::from_str::<serde_json::Value>(message) {
            Ok(body @ serde_json::Value::Object(_)) => policy.matches_body(&body),
            _ => false,
        },
    }
}

mod stand_in {
    use std::collections::BTreeMap;

    use serde_json::Value;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Scope {
        MessageAttributes,
        MessageBody,
    }

    /// Stand-in: `{"key": ["a", "b"]}` with exact string values only.
    #[derive(Debug, Clone, PartialEq)]
    pub struct FilterPolicy {
        scope: Scope,
        keys: BTreeMap<String, Vec<String>>,
    }

    impl FilterPolicy {
        pub fn compile(policy: &Value, scope: Scope) -> Result<FilterPolicy, String> {
            let Some(object) = policy.as_object() else {
                return Err("a filter policy must be a JSON object".into());
            };
            let mut keys = BTreeMap::new();
            for (k, v) in object {
                let values = v
                    .as_array()
                    .ok_or("stand-in filter policy: values must be lists")?
                    .iter()
                    .map(|x| x.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
                    .ok_or("stand-in filter policy: only strings")?;
                keys.insert(k.clone(), values);
            }
            Ok(FilterPolicy { scope, keys })
        }

        pub fn scope(&self) -> Scope {
            self.scope
        }

        pub fn matches_attributes(&self, attributes: &BTreeMap<String, (String, String)>) -> bool {
            self.keys.iter().all(|(k, values)| {
                attributes
                    .get(k)
                    .is_some_and(|(_, v)| values.iter().any(|x| x == v))
            })
        }

        pub fn matches_body(&self, body: &Value) -> bool {
            self.keys.iter().all(|(k, values)| {
                body.get(k)
                    .and_then(Value::as_str)
                    .is_some_and(|v| values.iter().any(|x| x == v))
            })
        }
    }
}
