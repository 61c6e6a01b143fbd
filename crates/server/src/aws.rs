//! The AWS APIs on the sandbox's own port: which requests are AWS calls, and the
//! [`AwsPlane`] extension point they are handed to (the CLI backs it with `sandbox-aws`).
//!
//! An AWS call is recognised before the app's routes are matched, by what only an AWS
//! client sends, so an app with `post /` or `post /:a/:b` still gets its own requests:
//! - an `X-Amz-Target` header naming one of the JSON services (`AmazonSQS.`,
//!   `Kinesis_20131202.`, `AWSEvents.`);
//! - a SigV4 `Authorization` header whose credential scope names `sqs`, `sns`, `kinesis`
//!   or `events` (`Credential=KEY/20261130/us-east-1/sqs/aws4_request`);
//! - a query string carrying both `Action` and `Version` (the Query protocol's GET form);
//! - an SNS notification's `UnsubscribeURL` (`/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:…`),
//!   which has no `Version` and is followed by plain GETs, as on AWS.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderMap, Method, Response, Uri};
use sandbox_ops::aws::CredentialScope;

/// The services whose protocols the sandbox speaks, by their SigV4 signing names.
pub const SIGNING_NAMES: [&str; 4] = ["sqs", "sns", "kinesis", "events"];

/// `X-Amz-Target` prefixes of the JSON protocols.
pub const TARGET_PREFIXES: [&str; 3] = ["AmazonSQS.", "Kinesis_20131202.", "AWSEvents."];

/// One AWS call, as read off the wire.
#[derive(Debug)]
pub struct AwsRequest {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// The boxed future [`AwsPlane::handle`] returns.
pub type AwsFuture<'a> = Pin<Box<dyn Future<Output = Response<Bytes>> + Send + 'a>>;

/// Extension point for the AWS APIs.
pub trait AwsPlane: Send + Sync {
    /// Answers one AWS call (errors are answers too, in the call's protocol).
    fn handle(&self, request: AwsRequest) -> AwsFuture<'_>;
}

/// Whether the request is an AWS API call rather than one for the app's routes.
pub fn is_aws(parts: &Parts) -> bool {
    if let Some(target) = parts.headers.get("x-amz-target") {
        let target = target.to_str().unwrap_or("");
        if TARGET_PREFIXES.iter().any(|p| target.starts_with(p)) {
            return true;
        }
    }
    if let Some(service) = parts
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(signing_service)
    {
        return SIGNING_NAMES.contains(&service);
    }
    parts.uri.query().is_some_and(|query| {
        let keys = || query.split('&').filter_map(|pair| pair.split('=').next());
        keys().any(|k| k == "Action") && keys().any(|k| k == "Version") || is_unsubscribe_url(query)
    })
}

/// An SNS `UnsubscribeURL`'s query: `Action=Unsubscribe` and an SNS `SubscriptionArn`.
fn is_unsubscribe_url(query: &str) -> bool {
    let pairs = || query.split('&').filter_map(|pair| pair.split_once('='));
    pairs().any(|pair| pair == ("Action", "Unsubscribe"))
        && pairs().any(|(k, v)| {
            k == "SubscriptionArn"
                && (v.starts_with("arn:aws:sns:") || v.starts_with("arn%3Aaws%3Asns%3A"))
        })
}

/// The service named by a SigV4 `Authorization` header's credential scope.
pub fn signing_service(authorization: &str) -> Option<&str> {
    CredentialScope::parse(authorization).map(|scope| scope.service)
}

/// The region named by a SigV4 `Authorization` header's credential scope.
pub fn signing_region(authorization: &str) -> Option<&str> {
    CredentialScope::parse(authorization).map(|scope| scope.region)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut builder = http::Request::builder().method("POST").uri(uri);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.body(()).unwrap().into_parts().0
    }

    const SIGNED_SQS: &str = "AWS4-HMAC-SHA256 Credential=test/20261130/eu-west-1/sqs/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";

    #[test]
    fn recognises_aws_calls_and_leaves_app_requests_alone() {
        assert!(is_aws(&parts(
            "/",
            &[("x-amz-target", "AmazonSQS.SendMessage")]
        )));
        assert!(is_aws(&parts("/", &[("authorization", SIGNED_SQS)])));
        assert!(is_aws(&parts(
            "/?Action=ListQueues&Version=2012-11-05",
            &[]
        )));
        assert!(!is_aws(&parts("/", &[("x-amz-target", "Other.Op")])));
        assert!(!is_aws(&parts("/", &[("authorization", "Bearer token")])));
        assert!(!is_aws(&parts("/a/b?Action=x", &[])));
        // An SNS UnsubscribeURL, followed without a Version or a signature.
        assert!(is_aws(&parts(
            "/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-east-1:123456789012:t:abc",
            &[]
        )));
        assert!(is_aws(&parts(
            "/?Action=Unsubscribe&SubscriptionArn=arn%3Aaws%3Asns%3Aus-east-1%3A1%3At%3Aabc",
            &[]
        )));
        assert!(!is_aws(&parts(
            "/?Action=Unsubscribe&SubscriptionArn=mine",
            &[]
        )));
        assert!(!is_aws(&parts("/?Action=Unsubscribe", &[])));
        let s3 = "AWS4-HMAC-SHA256 Credential=k/20261130/us-east-1/s3/aws4_request, Signature=x";
        assert!(!is_aws(&parts("/", &[("authorization", s3)])));
    }

    #[test]
    fn reads_the_credential_scope() {
        assert_eq!(signing_region(SIGNED_SQS), Some("eu-west-1"));
        assert_eq!(signing_service(SIGNED_SQS), Some("sqs"));
        assert_eq!(signing_region("AWS4-HMAC-SHA256 Credential=broken"), None);
    }
}
