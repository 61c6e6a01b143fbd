//! Kinesis's CBOR protocol (the Java SDK's default): the JSON form's CBOR encoding,
//! blobs as byte strings and timestamps as epoch seconds (tag 1).

use serde_json::Value;

use crate::error::AwsError;
use crate::model::Model;

/// Reads a CBOR request body into the operation's JSON form.
pub fn decode(_model: &Model, _operation: &str, _body: &[u8]) -> Result<Value, AwsError> {
    Err(AwsError::malformed("CBOR requests are not read yet"))
}

/// Writes an operation's output as CBOR.
pub fn encode(_model: &Model, _operation: &str, output: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = ciborium::into_writer(output, &mut out);
    out
}

/// Writes an error as CBOR (`__type` and `message`).
pub fn encode_error(error: &AwsError) -> Vec<u8> {
    let mut out = Vec::new();
    let value = serde_json::json!({"__type": error.code, "message": error.message});
    let _ = ciborium::into_writer(&value, &mut out);
    out
}
