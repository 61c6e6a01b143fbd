//! Remote Kinesis streams' consumers (filled in by the streams slice).

use serde_json::Value;

use sandbox_ops::control::ControlError;

#[derive(Default)]
pub(crate) struct Streams {}

impl Streams {
    /// `GET/POST /_sandbox/streams/{stream}/consumers/{consumer}[/position]` for a remote stream.
    pub(crate) fn control(
        &self,
        _stream: &str,
        _consumer: &str,
        _method: &str,
        _rest: &[&str],
        _body: &[u8],
    ) -> Option<Result<Value, ControlError>> {
        None
    }
}
