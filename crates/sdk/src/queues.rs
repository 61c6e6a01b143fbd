//! Sending to the app's queues from a handler, as `@architect/functions`'
//! `queues.publish` does:
//!
//! ```no_run
//! # fn main() -> Result<(), sandbox_sdk::Error> {
//! use sandbox_sdk::queues::{self, Message};
//!
//! queues::publish("account-signup", r#"{"email":"a@example.com"}"#)?;
//! queues::send("orders.fifo", Message::new("order 7").group("customer-1").dedup("7"))?;
//! # Ok(()) }
//! ```
//!
//! The queues a handler can reach are listed in its environment: `SANDBOX_QUEUES`
//! (comma-separated names).

use crate::Error;

/// A message with SQS's options (`SendMessage`): `Message::new(body).group("g")`.
pub use sandbox_ops::queues::SendMessage as Message;
/// What SQS answers to SendMessage (`duplicate`: a FIFO duplicate within the 5-minute
/// window, accepted and not enqueued again).
pub use sandbox_ops::queues::SendMessageResult as Sent;

/// Sends `body` to `queue`.
pub fn publish(queue: &str, body: impl Into<String>) -> Result<Sent, Error> {
    send(queue, Message::new(body))
}

/// Sends a message with options to `queue` (its name, URL or ARN).
pub fn send(queue: &str, mut message: Message) -> Result<Sent, Error> {
    message.queue_url = Some(queue.to_string());
    crate::host::call("queues", "SendMessage", &message)
}
