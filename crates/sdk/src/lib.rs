//! Guest-side helpers for writing sandbox handlers in Rust.
//!
//! A handler is a WASI preview 1 command (a `wasm32-wasip1` bin crate with a
//! `fn main`). The sandbox writes the event JSON to the handler's stdin, reads the
//! result JSON from its stdout, turns each stderr line into a log line, and treats
//! any exit status other than 0 (or a trap) as a failed invocation. This crate hides
//! that plumbing so a handler reads like a Lambda function:
//!
//! ```no_run
//! use sandbox_sdk::events::HttpRequest;
//! use sandbox_sdk::http::Response;
//!
//! fn main() {
//!     sandbox_sdk::run(|request: HttpRequest| {
//!         let name = request.query_string_parameters.first("name").unwrap_or("world");
//!         sandbox_sdk::log!("greeting {name}");
//!         Response::json(200, &serde_json::json!({ "hello": name }))
//!     })
//! }
//! ```
//!
//! - [`run`] / [`run_raw`]: read the event, call the handler once, write the result.
//! - [`events`]: the AWS event types (re-exported from `aws_lambda_events`), so a
//!   handler written for Lambda's event shapes works unchanged.
//! - [`http::Response`]: builders for API Gateway's v2 response shape.
//! - [`BatchResponse`]: partial batch failures for queue and stream handlers.
//! - [`log!`] / [`log()`]: one log line on stderr.
//!
//! - [`queues`], [`topics`], [`bus`], [`streams`]: publish to the app's services
//!   (`queues::publish("orders", body)`) through the sandbox's host import, with the
//!   request types of `sandbox-ops`, the same ones the host decodes.

mod batch;
pub mod bus;
mod error;
pub mod events;
mod handler;
mod host;
pub mod http;
mod log;
pub mod queues;
pub mod streams;
pub mod topics;

pub use batch::{BatchItemFailure, BatchResponse};
pub use error::{Error, Result};
pub use handler::{run, run_raw};
pub use log::log;

/// Re-exported so handlers can build JSON (`sandbox_sdk::serde_json::json!`) without
/// a dependency of their own that might resolve to a different version.
pub use serde_json;
