//! An AWS error as every protocol answers it: the HTTP status, the error code (the
//! model's shape name, which the JSON protocols put in `__type`), the Query protocol's
//! code where it differs (SQS's `AWS.SimpleQueueService.NonExistentQueue`, which the
//! JSON protocol also sends in `x-amzn-query-error` so query-compatible SDKs map it),
//! and whether the caller is at fault (`Sender`) or the service (`Receiver`).

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    pub status: u16,
    pub code: String,
    pub query_code: Option<String>,
    pub message: String,
    pub sender: bool,
}

impl AwsError {
    /// A caller's mistake (400) with this code.
    pub fn sender(code: &str, message: impl Into<String>) -> AwsError {
        AwsError {
            status: 400,
            code: code.to_string(),
            query_code: None,
            message: message.into(),
            sender: true,
        }
    }

    /// The same error under another HTTP status.
    pub fn with_status(mut self, status: u16) -> AwsError {
        self.status = status;
        self
    }

    /// The code the Query protocol (and `x-amzn-query-error`) uses.
    pub fn with_query_code(mut self, code: &str) -> AwsError {
        self.query_code = Some(code.to_string());
        self
    }

    pub fn query_code(&self) -> &str {
        self.query_code.as_deref().unwrap_or(&self.code)
    }

    pub fn invalid_parameter_value(message: impl Into<String>) -> AwsError {
        AwsError::sender("InvalidParameterValue", message)
    }

    pub fn missing_parameter(name: &str) -> AwsError {
        AwsError::sender(
            "MissingParameter",
            format!("The request must contain the parameter {name}."),
        )
    }

    /// An operation this service does not have (or the sandbox does not offer).
    pub fn invalid_action(operation: &str) -> AwsError {
        AwsError::sender(
            "InvalidAction",
            format!("The action {operation} is not valid for this endpoint."),
        )
        .with_query_code("InvalidAction")
    }

    /// A request the protocol layer cannot read at all.
    pub fn malformed(message: impl Into<String>) -> AwsError {
        AwsError::sender("SerializationException", message)
    }

    /// A change that could not be saved to the state directory (`--state`): answered as
    /// AWS answers a service that cannot take the call now, so the client retries and
    /// never takes the change as made. The message is the triggers' own, which already
    /// says what to check.
    pub fn not_saved(error: sandbox_ops::control::ControlError) -> AwsError {
        AwsError {
            status: 503,
            code: "ServiceUnavailable".into(),
            query_code: Some("ServiceUnavailable".into()),
            message: error.message,
            sender: false,
        }
    }

    /// The sandbox failed, not the caller.
    pub fn internal(message: impl Into<String>) -> AwsError {
        AwsError {
            status: 500,
            code: "InternalFailure".into(),
            query_code: None,
            message: message.into(),
            sender: false,
        }
    }
}

/// `ValidationException` in the words AWS's JSON services use for a member that breaks a
/// constraint: `1 validation error detected: Value '0' at 'shardCount' failed to satisfy
/// constraint: Member must …`. `field` is the member as AWS names it there (see
/// [`member_name`]).
pub(crate) fn validation(value: impl std::fmt::Display, field: &str, rule: &str) -> AwsError {
    AwsError::sender(
        "ValidationException",
        format!("1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must {rule}"),
    )
}

/// A member as AWS's validation messages name it: `StreamName` → `streamName`.
pub(crate) fn member_name(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}
