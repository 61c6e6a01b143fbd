//! The AWS wire protocols as one more front end over the sandbox's services, so the AWS
//! SDKs and the aws CLI work against the sandbox unchanged (`AWS_ENDPOINT_URL`).
//!
//! The server recognises an AWS call (by `X-Amz-Target`, the SigV4 credential scope, or
//! a Query `Action`) before the app's routes and hands it to [`Aws::handle`]:
//! - `protocol` reads the call whatever its wire form (AWS JSON 1.0/1.1, CBOR, Query)
//!   into the operation's JSON form, and writes the answer or error back in that form;
//!   `model` (AWS's own service models), `query`, `xml` and `cbor` are its codecs.
//! - One module per service (`sqs`, `sns`, `kinesis`, `events`) answers operations in the
//!   JSON form by calling the same services as the control API and handlers' host calls,
//!   so every front end sees one world.
//!
//! Credentials are accepted, never checked: this is a local sandbox on loopback.

mod cbor;
mod error;
mod events;
mod kinesis;
mod model;
#[cfg(test)]
mod properties;
mod protocol;
mod query;
mod sns;
mod sqs;
mod xml;

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Response, Uri};
use sandbox_triggers::Triggers;

pub use error::AwsError;
use protocol::{Call, Service};

/// The AWS APIs of one running sandbox.
pub struct Aws {
    triggers: Arc<Triggers>,
    /// `http://127.0.0.1:PORT`: where queue URLs point.
    endpoint: String,
    /// SQS message move tasks started through the API.
    moves: sqs::MoveTasks,
}

impl Aws {
    /// The AWS APIs over `triggers`' services, reachable at `endpoint`
    /// (`http://127.0.0.1:3333`).
    pub fn new(triggers: Arc<Triggers>, endpoint: impl Into<String>) -> Aws {
        // Notifications' UnsubscribeURL names this endpoint, so following it unsubscribes.
        let endpoint: String = endpoint.into();
        triggers.topics().set_endpoint(&endpoint);
        Aws {
            triggers,
            endpoint,
            moves: Default::default(),
        }
    }

    /// Answers one AWS call in the protocol it was made in.
    pub async fn handle(&self, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Response<Bytes> {
        let call = match protocol::read(uri, headers, body) {
            Ok(call) => call,
            Err(bad) => {
                return protocol::write(bad.service, bad.wire, "", &bad.request_id, Err(bad.error))
            }
        };
        // One region serves every call: the scope's region is reported, not used, so the
        // ARNs in answers agree with the ones in handlers' events.
        tracing::debug!(target: "sandbox::aws", "{:?} {} (signed for {})", call.service, call.operation, call.region);
        let result = match call.service {
            Service::Sqs => sqs::call(self, &call).await,
            Service::Sns => sns::call(self, &call).await,
            Service::Kinesis => kinesis::call(self, &call).await,
            Service::Events => events::call(self, &call).await,
        };
        protocol::write(
            call.service,
            call.wire,
            &call.operation,
            &call.request_id,
            result,
        )
    }

    pub(crate) fn triggers(&self) -> &Triggers {
        &self.triggers
    }

    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

/// The operation a service module does not (yet) answer.
pub(crate) fn unsupported(call: &Call) -> AwsError {
    AwsError::invalid_action(&call.operation)
}
