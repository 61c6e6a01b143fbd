//! kinesis: operations answered in their JSON form over the sandbox's services.

use serde_json::Value;

use crate::protocol::Call;
use crate::{unsupported, Aws, AwsError};

pub(crate) async fn call(aws: &Aws, call: &Call) -> Result<Value, AwsError> {
    let _ = aws.triggers();
    Err(unsupported(call))
}
