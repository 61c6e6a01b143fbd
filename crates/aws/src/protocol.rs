//! Which service, operation and wire protocol a request uses, its input in the JSON form
//! every service module works on, and the answer written back in the same protocol.
//!
//! - JSON (`X-Amz-Target: AmazonSQS.SendMessage`, AWS JSON 1.0 for SQS and 1.1 for
//!   Kinesis and EventBridge): the body is already the JSON form.
//! - CBOR (`Content-Type: application/x-amz-cbor-1.1`, Kinesis from the Java SDK): the
//!   body is the JSON form's CBOR encoding, with blobs as byte strings (`cbor`).
//! - Query (`Action=SendMessage&Version=…`, SQS from older clients and all of SNS): form
//!   parameters read by the model (`query`), answered in XML (`xml`).

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::{HeaderMap, Response, StatusCode, Uri};
use serde_json::{json, Value};

use crate::error::AwsError;
use crate::model::{Model, KINESIS, SNS, SQS_QUERY};
use crate::query::{self, Params};
use crate::{cbor, xml};

/// The services the sandbox answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Sqs,
    Sns,
    Kinesis,
    Events,
}

impl Service {
    /// By SigV4 signing name.
    fn from_signing_name(name: &str) -> Option<Service> {
        Some(match name {
            "sqs" => Service::Sqs,
            "sns" => Service::Sns,
            "kinesis" => Service::Kinesis,
            "events" => Service::Events,
            _ => return None,
        })
    }

    /// By `X-Amz-Target` prefix, with the JSON protocol version the service speaks.
    fn from_target(prefix: &str) -> Option<(Service, &'static str)> {
        Some(match prefix {
            "AmazonSQS" => (Service::Sqs, "1.0"),
            "Kinesis_20131202" => (Service::Kinesis, "1.1"),
            "AWSEvents" => (Service::Events, "1.1"),
            _ => return None,
        })
    }

    /// By the Query protocol's `Version`.
    fn from_query_version(version: &str) -> Option<Service> {
        Some(match version {
            "2012-11-05" => Service::Sqs,
            "2010-03-31" => Service::Sns,
            _ => return None,
        })
    }

    /// The model the Query and CBOR codecs walk.
    fn model(self) -> Option<&'static Model> {
        match self {
            Service::Sqs => Some(&SQS_QUERY),
            Service::Sns => Some(&SNS),
            Service::Kinesis => Some(&KINESIS),
            Service::Events => None,
        }
    }

    /// SQS's JSON errors name their shape with its Smithy namespace, as AWS does.
    fn json_error_type(self, code: &str) -> String {
        match self {
            Service::Sqs => format!("com.amazonaws.sqs#{code}"),
            _ => code.to_string(),
        }
    }
}

/// The wire protocol of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// AWS JSON, version `1.0` or `1.1`.
    Json(&'static str),
    Cbor,
    Query,
}

/// One call, read.
#[derive(Debug)]
pub struct Call {
    pub service: Service,
    pub wire: Wire,
    pub operation: String,
    /// The operation's input in its JSON form.
    pub input: Value,
    /// The region of the credential scope (`us-east-1` when unsigned).
    pub region: String,
    pub request_id: String,
    /// The request's path: an SQS Query call may name its queue by URL path alone.
    pub path: String,
}

/// A request that could not be read as a call; answered in the protocol it seemed to use.
pub struct Unreadable {
    pub service: Service,
    pub wire: Wire,
    pub error: AwsError,
    pub request_id: String,
}

/// Reads a request the server recognised as an AWS call.
pub fn read(uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Result<Call, Box<Unreadable>> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let authorization = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let scope = sandbox_ops::aws::CredentialScope::parse(authorization);
    let region = scope
        .map(|s| s.region.to_string())
        .unwrap_or_else(|| sandbox_ops::aws::REGION.to_string());
    let signed = scope.and_then(|s| Service::from_signing_name(s.service));
    let path = uri.path().to_string();
    let fail = |service, wire, error| {
        Box::new(Unreadable {
            service,
            wire,
            error,
            request_id: request_id.clone(),
        })
    };

    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        let (prefix, operation) = target.split_once('.').unwrap_or((target, ""));
        let Some((service, version)) = Service::from_target(prefix) else {
            let service = signed.unwrap_or(Service::Sqs);
            return Err(fail(
                service,
                Wire::Json("1.1"),
                AwsError::invalid_action(target),
            ));
        };
        let cbor = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("application/x-amz-cbor"));
        let wire = if cbor {
            Wire::Cbor
        } else {
            Wire::Json(version)
        };
        let input = if body.iter().all(u8::is_ascii_whitespace) {
            Ok(json!({}))
        } else if cbor {
            cbor::decode(&KINESIS, operation, body)
        } else {
            serde_json::from_slice::<Value>(body)
                .map_err(|e| AwsError::malformed(format!("the request body is not JSON: {e}")))
        };
        return match input {
            Ok(input) if input.is_object() => Ok(Call {
                service,
                wire,
                operation: operation.to_string(),
                input,
                region,
                request_id,
                path,
            }),
            Ok(_) => Err(fail(
                service,
                wire,
                AwsError::malformed("the request body is not a JSON object"),
            )),
            Err(error) => Err(fail(service, wire, error)),
        };
    }

    let params = Params::parse(&[uri.query().unwrap_or("").as_bytes(), body]);
    let service = signed
        .or_else(|| params.get("Version").and_then(Service::from_query_version))
        .or_else(|| unsubscribe_url(&params).then_some(Service::Sns))
        .unwrap_or(Service::Sqs);
    let Some(operation) = params.get("Action").map(str::to_string) else {
        return Err(fail(
            service,
            Wire::Query,
            AwsError::missing_parameter("Action"),
        ));
    };
    let Some(model) = service.model().filter(|_| service != Service::Kinesis) else {
        return Err(fail(
            service,
            Wire::Query,
            AwsError::invalid_action(&operation),
        ));
    };
    match query::decode(model, &operation, &params) {
        Ok(input) => Ok(Call {
            service,
            wire: Wire::Query,
            operation,
            input,
            region,
            request_id,
            path,
        }),
        Err(error) => Err(fail(service, Wire::Query, error)),
    }
}

/// An SNS notification's `UnsubscribeURL`, followed without a `Version`.
fn unsubscribe_url(params: &Params) -> bool {
    params.get("Action") == Some("Unsubscribe")
        && params
            .get("SubscriptionArn")
            .is_some_and(|arn| arn.starts_with("arn:aws:sns:"))
}

/// Writes the answer to a call in its protocol.
pub fn write(
    service: Service,
    wire: Wire,
    operation: &str,
    request_id: &str,
    result: Result<Value, AwsError>,
) -> Response<Bytes> {
    let (status, content_type, body, query_error) = match (&result, wire) {
        (Ok(output), Wire::Json(version)) => (
            200,
            json_type(version),
            serde_json::to_vec(output).unwrap_or_default(),
            None,
        ),
        (Ok(output), Wire::Cbor) => (200, CBOR, cbor::encode(&KINESIS, operation, output), None),
        (Ok(output), Wire::Query) => (
            200,
            "text/xml",
            service
                .model()
                .map(|m| xml::response(m, operation, output, request_id))
                .unwrap_or_default()
                .into_bytes(),
            None,
        ),
        (Err(error), Wire::Json(version)) => (
            error.status,
            json_type(version),
            serde_json::to_vec(&json!({
                "__type": service.json_error_type(&error.code),
                "message": error.message,
            }))
            .unwrap_or_default(),
            error.query_code.as_ref().map(|code| {
                format!(
                    "{code};{}",
                    if error.sender { "Sender" } else { "Receiver" }
                )
            }),
        ),
        (Err(error), Wire::Cbor) => (error.status, CBOR, cbor::encode_error(error), None),
        (Err(error), Wire::Query) => (
            error.status,
            "text/xml",
            service
                .model()
                .map(|m| xml::error(m, error, request_id))
                .unwrap_or_default()
                .into_bytes(),
            None,
        ),
    };
    if let Err(error) = &result {
        tracing::debug!(target: "sandbox::aws", "{operation}: {} {}", error.code, error.message);
    }
    let mut response = Response::new(Bytes::from(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", id);
    }
    if let Some(Ok(value)) = query_error.map(|q| HeaderValue::from_str(&q)) {
        headers.insert("x-amzn-query-error", value);
    }
    response
}

const CBOR: &str = "application/x-amz-cbor-1.1";

fn json_type(version: &str) -> &'static str {
    if version == "1.0" {
        "application/x-amz-json-1.0"
    } else {
        "application/x-amz-json-1.1"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unsubscribe_url_is_an_sns_call_without_a_version() {
        let uri: Uri =
            "/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-east-1:123456789012:t:abc"
                .parse()
                .unwrap();
        let call = read(&uri, &HeaderMap::new(), &Bytes::new()).ok().unwrap();
        assert_eq!(call.service, Service::Sns);
        assert_eq!(call.operation, "Unsubscribe");
        assert_eq!(
            call.input["SubscriptionArn"],
            "arn:aws:sns:us-east-1:123456789012:t:abc"
        );
    }
}
