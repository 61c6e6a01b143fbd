//! One model of every service's operations: the requests and answers of the queues,
//! topics, buses, streams and the clock, as serde types.
//!
//! Every front end speaks these types instead of walking JSON by hand: the `/_sandbox`
//! control API, the `sandbox.call` host import that handlers use, and the guest SDK that
//! builds those calls (it depends on this crate, so the two sides cannot drift). A new
//! front end (the AWS wire protocols, a dashboard) decodes its own wire format into the
//! same types and calls the same service methods.
//!
//! Naming: where AWS has the operation, a request's fields carry AWS's names and casing
//! (`MessageBody`, `PartitionKey`, `EventBusName`); the shorter camelCase spellings the
//! control API has always taken (`body`, `partitionKey`) are accepted as aliases. Answers
//! keep the control API's camelCase (`messageId`), except where AWS's own casing was
//! already the answer (`PutEvents`' `FailedEntryCount`).
//!
//! With the `host` feature, [`control`] adds the pieces only the host needs: the router
//! table's types, one query-string parser, request decoding with located errors.

pub mod aws;
pub mod bus;
pub mod call;
pub mod clock;
#[cfg(feature = "host")]
pub mod control;
pub mod queues;
pub mod streams;
pub mod text;
pub mod topics;
