//! The error a handler returns, reported the way Lambda reports function errors.
//!
//! Lambda describes a failed invocation as `{"errorMessage": …, "errorType": …}`;
//! the SDK writes exactly that line to stderr before exiting with status 1, so the
//! sandbox log shows the same thing a CloudWatch log would.

use std::fmt;

/// A handler failure: a message plus the name of the error's type.
///
/// Any [`std::error::Error`] converts into it with `?`, taking the Rust type name
/// as `errorType` (as the official Rust runtime does). Use [`Error::new`] for a
/// plain message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    error_type: String,
    message: String,
}

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error with `errorType` `"Error"`.
    pub fn new(message: impl Into<String>) -> Self {
        Self::with_type("Error", message)
    }

    /// An error with a chosen `errorType`, e.g. `"ValidationError"`.
    pub fn with_type(error_type: impl Into<String>, message: impl Into<String>) -> Self {
        Error {
            error_type: error_type.into(),
            message: message.into(),
        }
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn error_type(&self) -> &str {
        &self.error_type
    }

    /// The single JSON line Lambda would log for this error.
    pub fn to_json_line(&self) -> String {
        // Serializing two strings cannot fail; the fallback keeps this panic-free anyway.
        serde_json::to_string(&serde_json::json!({
            "errorMessage": self.message,
            "errorType": self.error_type,
        }))
        .unwrap_or_else(|_| format!("{}: {}", self.error_type, self.message))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.message)
    }
}

// No `impl std::error::Error for Error`: it would overlap with this blanket
// conversion, which is what makes `?` work on any error in a handler.
impl<E: std::error::Error> From<E> for Error {
    fn from(error: E) -> Self {
        Error::with_type(std::any::type_name::<E>(), error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_std_errors_with_their_type_name() {
        let parse = "x".parse::<u16>().unwrap_err();
        let error = Error::from(parse);
        assert_eq!(error.error_type(), "core::num::error::ParseIntError");
        assert_eq!(error.message(), "invalid digit found in string");
    }

    #[test]
    fn json_line_matches_lambda_shape() {
        let error = Error::with_type("Boom", "it \"broke\"\nbadly");
        let line = error.to_json_line();
        assert!(!line.contains('\n'), "must stay one log line: {line}");
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"errorMessage": "it \"broke\"\nbadly", "errorType": "Boom"})
        );
    }

    #[test]
    fn new_uses_generic_type() {
        assert_eq!(Error::new("nope").to_string(), "Error: nope");
    }
}
