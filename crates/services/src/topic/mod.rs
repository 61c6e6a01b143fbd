//! SNS topics as a pure state machine: publish, filter policies, fan-out to queues and
//! functions, and Lambda's async retries for function subscribers.
//!
//! - [`envelope`]: the SQS envelope and the Lambda event a notification becomes.
//! - [`topics`]: every topic of an app; publish, dedup, delivery, stats.
//! - Lambda's asynchronous invocation queue and retry schedule are in
//!   [`crate::async_retry`], shared with the bus.
//! - [`patterns`]: the seam to the filter policy language in `crate::pattern`.
//! - [`image`]: the topics' durable catalog (`--state`).
//!
//! Nothing here reads a clock or sleeps: every time-dependent call takes `now`, and a
//! driver sleeps until [`Topics::next_change`] (ARCHITECTURE.md: time is passed in).

pub mod envelope;
pub mod image;
pub mod patterns;
pub mod topics;

pub use crate::async_retry::{CompleteError, FunctionDelivery, RetryPolicy};
pub use envelope::{lambda_event, sqs_envelope, subscription_arn, topic_arn, AttributeValue};
pub use patterns::{FilterPolicy, Scope};
pub use topics::{
    ConfigError, DeliveryFailure, DeliveryOutcome, PublishError, PublishReceipt, PublishRequest,
    QueueSend, SubTarget, SubscriptionConfig, SubscriptionStats, TopicConfig, TopicStats, Topics,
};
