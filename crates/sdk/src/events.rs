//! The AWS event types handlers receive, re-exported from the `aws_lambda_events`
//! crate so the sandbox and Lambda agree on every field name.
//!
//! Only the families the sandbox triggers are compiled in (HTTP API, SQS, SNS,
//! Kinesis, EventBridge and CloudWatch Events); the crate's full default feature
//! set covers dozens of services a handler here never sees.
//!
//! | trigger | event type |
//! |---|---|
//! | `@http` route | [`HttpRequest`] (API Gateway HTTP API, payload 2.0) |
//! | `@queues` | [`SqsEvent`] |
//! | `@events` (topics) | [`SnsEvent`] |
//! | streams | [`KinesisEvent`] (record `data` is decoded from base64 already) |
//! | `@scheduled`, event bus rules | [`EventBridgeEvent`] (`detail` typed or `serde_json::Value`) |
//!
//! Typed bodies: `sqs::SqsEventObj<T>` and `sns::SnsEventObj<T>` parse each
//! record's JSON body into `T`.

pub use aws_lambda_events::encodings;
pub use aws_lambda_events::event::{apigw, cloudwatch_events, eventbridge, kinesis, sns, sqs};

pub use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest as HttpRequest;
pub use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
pub use aws_lambda_events::event::eventbridge::EventBridgeEvent;
pub use aws_lambda_events::event::kinesis::KinesisEvent;
pub use aws_lambda_events::event::sns::SnsEvent;
pub use aws_lambda_events::event::sqs::SqsEvent;

/// A `@scheduled` invocation: an EventBridge event with `detail-type`
/// `"Scheduled Event"`, `source` `"aws.events"` and an empty `detail`.
pub type ScheduledEvent = EventBridgeEvent<serde_json::Value>;
