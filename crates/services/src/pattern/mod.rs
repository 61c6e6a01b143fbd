//! Event matching for the bus and the topics: EventBridge event patterns, SNS subscription
//! filter policies, and the shaping of what an EventBridge target receives.
//!
//! Both matching languages are compiled once, when the manifest is loaded, into a small tree
//! of typed conditions; matching an event then walks that tree and never re-reads the
//! pattern JSON. The two languages share one leaf-condition type (the `leaf` module)
//! because their operators (`prefix`, `anything-but`, `numeric`, ...) mean the same thing;
//! only the front ends differ (EventBridge nests arbitrarily, SNS attribute policies are
//! flat and read typed message attributes).
//!
//! Compile errors carry the dotted path of the offending field so the manifest loader can
//! point at the right line of the user's pattern.

mod error;
pub mod event_pattern;
pub mod filter_policy;
pub mod input;
mod leaf;
mod node;
mod wildcard;
pub mod workload;

#[cfg(test)]
mod event_pattern_tests;
#[cfg(test)]
mod filter_policy_tests;
#[cfg(test)]
mod input_tests;

pub use error::PatternError;
pub use event_pattern::EventPattern;
pub use filter_policy::{AttributeValue, FilterPolicy, Scope};
pub use input::{InputError, InputShape, RuleContext};
