//! Partial batch responses for queue and stream handlers.
//!
//! With `ReportBatchItemFailures` on the event source mapping, a handler names the
//! records it could not process and only those are retried: for SQS the
//! `messageId`, for Kinesis the `sequenceNumber`. An empty list means the whole
//! batch succeeded; failing the invocation (an `Err`) fails the whole batch.

use serde::{Deserialize, Serialize};

/// `{"batchItemFailures": [{"itemIdentifier": "…"}]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse {
    pub batch_item_failures: Vec<BatchItemFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchItemFailure {
    pub item_identifier: String,
}

impl BatchResponse {
    /// No failures: the whole batch succeeded.
    pub fn new() -> Self {
        Self::default()
    }

    /// Marks one record (SQS `messageId`, Kinesis `sequenceNumber`) as failed.
    pub fn fail(&mut self, item_identifier: impl Into<String>) {
        self.batch_item_failures.push(BatchItemFailure {
            item_identifier: item_identifier.into(),
        });
    }

    /// Builder form of [`BatchResponse::fail`].
    pub fn with_failure(mut self, item_identifier: impl Into<String>) -> Self {
        self.fail(item_identifier);
        self
    }

    pub fn is_success(&self) -> bool {
        self.batch_item_failures.is_empty()
    }
}

impl<S: Into<String>> FromIterator<S> for BatchResponse {
    fn from_iter<I: IntoIterator<Item = S>>(ids: I) -> Self {
        let mut response = Self::new();
        for id in ids {
            response.fail(id);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn matches_aws_shape() {
        let response: BatchResponse = ["id2", "id4"].into_iter().collect();
        assert_eq!(
            serde_json::to_value(&response).unwrap(),
            json!({"batchItemFailures": [{"itemIdentifier": "id2"}, {"itemIdentifier": "id4"}]})
        );
        assert!(!response.is_success());
    }

    #[test]
    fn empty_means_success() {
        let response = BatchResponse::new();
        assert!(response.is_success());
        assert_eq!(
            serde_json::to_value(&response).unwrap(),
            json!({"batchItemFailures": []})
        );
        assert_eq!(
            BatchResponse::new()
                .with_failure("a")
                .batch_item_failures
                .len(),
            1
        );
    }
}
