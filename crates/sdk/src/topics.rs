//! Publishing to the app's topics from a handler, through `sandbox.call` (see `host`),
//! as `@architect/functions`' `events.publish` does:
//!
//! ```no_run
//! # fn main() -> Result<(), sandbox_sdk::Error> {
//! use sandbox_sdk::topics::{self, Message};
//!
//! topics::publish("yolo", r#"{"message":"swag"}"#)?;
//! topics::send("orders", Message::new("order 7").subject("new order").attribute("kind", "big"))?;
//! topics::send("audit.fifo", Message::new("order 7").group("customer-1").dedup("7"))?;
//! # Ok(()) }
//! ```

use crate::Error;

/// A message with SNS's options (`Publish`): `Message::new(text).subject("s")`.
pub use sandbox_ops::topics::Publish as Message;
/// What `Publish` answers.
pub use sandbox_ops::topics::PublishResult as Published;

/// Publishes `message` to `topic`.
pub fn publish(topic: &str, message: impl Into<String>) -> Result<Published, Error> {
    send(topic, Message::new(message))
}

/// Publishes a message with options to `topic` (its name or ARN).
pub fn send(topic: &str, mut message: Message) -> Result<Published, Error> {
    message.topic_arn = Some(topic.to_string());
    crate::host::call("topics", "Publish", &message)
}
