//! A handler's stdout turned into the HTTP response, by API Gateway's payload 2.0 rules.
//!
//! - Output that is valid JSON without a `statusCode` is the *inferred* format: a 200
//!   with `content-type: application/json` whose body is the output itself. A JSON
//!   string is the exception that proves the rule: its *content* is the body (AWS's
//!   documented example, `"Hello from Lambda!"`, comes back as that text).
//! - Empty output is what a Lambda that returns nothing produces, `null`, so it is an
//!   inferred `null` too.
//! - With a `statusCode` (an integer 100–599) the output is the structured format:
//!   `headers` (string, number or boolean values), `cookies` (one `set-cookie` each),
//!   `body` (a string, base64-decoded when `isBase64Encoded`). Without a
//!   `content-type` header the response gets `text/plain; charset=utf-8`, as HTTP APIs
//!   (and Architect's sandbox) do.
//! - Anything else is [`Failure::MalformedOutput`], which the caller answers with 502.

use base64::engine::general_purpose::GeneralPurpose;
use base64::engine::{DecodePaddingMode, GeneralPurposeConfig};
use base64::Engine as _;
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE, SET_COOKIE};
use http::{Response, StatusCode};
use sandbox_runtime::Failure;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;

/// Headers API Gateway does not pass back from the integration; hyper writes its own.
const DROPPED_HEADERS: [&str; 5] = [
    "connection",
    "content-length",
    "date",
    "transfer-encoding",
    "upgrade",
];

const INFERRED_CONTENT_TYPE: &str = "application/json";
const DEFAULT_CONTENT_TYPE: &str = "text/plain; charset=utf-8";

/// Base64 as handlers write it: standard alphabet, padding optional.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Maps the handler's output to a response, or says why it is malformed.
pub fn map_output(output: Vec<u8>) -> Result<Response<Bytes>, Failure> {
    let (start, end) = trimmed_range(&output);
    if start == end {
        return Ok(inferred(Bytes::from_static(b"null")));
    }
    let text = &output[start..end];
    match text[0] {
        b'{' => {
            let probe: Probe<'_> =
                serde_json::from_slice(text).map_err(|err| not_json(&err, text))?;
            match probe.status_code {
                Some(status) => structured(status, &probe),
                None => Ok(inferred(Bytes::from(output).slice(start..end))),
            }
        }
        b'"' => {
            let content: String =
                serde_json::from_slice(text).map_err(|err| not_json(&err, text))?;
            Ok(inferred(Bytes::from(content)))
        }
        _ => {
            serde_json::from_slice::<IgnoredAny>(text).map_err(|err| not_json(&err, text))?;
            Ok(inferred(Bytes::from(output).slice(start..end)))
        }
    }
}

/// The top-level fields of a JSON object, captured raw so that the inferred format
/// (no `statusCode`) does not care what the other fields hold.
#[derive(serde::Deserialize)]
struct Probe<'a> {
    #[serde(rename = "statusCode", borrow, default)]
    status_code: Option<&'a RawValue>,
    #[serde(borrow, default)]
    headers: Option<&'a RawValue>,
    #[serde(borrow, default)]
    cookies: Option<&'a RawValue>,
    #[serde(borrow, default)]
    body: Option<&'a RawValue>,
    #[serde(rename = "isBase64Encoded", borrow, default)]
    is_base64_encoded: Option<&'a RawValue>,
}

fn inferred(body: Bytes) -> Response<Bytes> {
    let mut response = Response::new(body);
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(INFERRED_CONTENT_TYPE),
    );
    response
}

fn structured(status: &RawValue, probe: &Probe<'_>) -> Result<Response<Bytes>, Failure> {
    let status = status
        .get()
        .parse::<u16>()
        .ok()
        .and_then(|code| StatusCode::from_u16(code).ok())
        .filter(|code| (100..=599).contains(&code.as_u16()))
        .ok_or_else(|| {
            malformed(format!(
                "statusCode must be an integer from 100 to 599, got {}",
                status.get()
            ))
        })?;

    let is_base64 = match probe.is_base64_encoded {
        None => false,
        Some(raw) => serde_json::from_str::<Option<bool>>(raw.get())
            .map_err(|_| {
                malformed(format!(
                    "isBase64Encoded must be true or false, got {}",
                    raw.get()
                ))
            })?
            .unwrap_or(false),
    };

    let body = match probe.body {
        None => Bytes::new(),
        Some(raw) => {
            let text = serde_json::from_str::<Option<String>>(raw.get())
                .map_err(|_| {
                    malformed(format!(
                        "body must be a string, got {}",
                        excerpt(raw.get().as_bytes())
                    ))
                })?
                .unwrap_or_default();
            if is_base64 {
                let decoded = BASE64.decode(text.trim()).map_err(|err| {
                    malformed(format!(
                        "isBase64Encoded is true but body is not valid base64: {err}"
                    ))
                })?;
                Bytes::from(decoded)
            } else {
                Bytes::from(text)
            }
        }
    };

    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();

    if let Some(raw) = probe.headers {
        let map =
            serde_json::from_str::<Option<serde_json::Map<String, serde_json::Value>>>(raw.get())
                .map_err(|_| malformed("headers must be an object of header names to values"))?
                .unwrap_or_default();
        for (name, value) in map {
            let value = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                serde_json::Value::Null => continue,
                other => {
                    return Err(malformed(format!(
                        "header `{name}` must be a string, number or boolean, got {other}"
                    )))
                }
            };
            let header_name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| malformed(format!("`{name}` is not a valid header name")))?;
            if DROPPED_HEADERS.contains(&header_name.as_str()) {
                continue;
            }
            let header_value = HeaderValue::from_str(&value).map_err(|_| {
                malformed(format!(
                    "header `{name}` has a value that is not allowed in HTTP: {value:?}"
                ))
            })?;
            headers.append(header_name, header_value);
        }
    }

    if let Some(raw) = probe.cookies {
        let cookies = serde_json::from_str::<Option<Vec<String>>>(raw.get())
            .map_err(|_| malformed("cookies must be an array of strings"))?
            .unwrap_or_default();
        for cookie in cookies {
            let value = HeaderValue::from_str(&cookie).map_err(|_| {
                malformed(format!(
                    "cookie {cookie:?} is not allowed in a set-cookie header"
                ))
            })?;
            headers.append(SET_COOKIE, value);
        }
    }

    if !headers.contains_key(CONTENT_TYPE) {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(DEFAULT_CONTENT_TYPE));
    }
    Ok(response)
}

fn trimmed_range(bytes: &[u8]) -> (usize, usize) {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |at| at + 1);
    (start, end)
}

fn malformed(message: impl Into<String>) -> Failure {
    Failure::MalformedOutput(message.into())
}

fn not_json(err: &serde_json::Error, text: &[u8]) -> Failure {
    malformed(format!(
        "stdout is not a JSON value ({err}); an HTTP handler must print JSON such as {{\"statusCode\":200,\"body\":\"...\"}}; output began: {}",
        excerpt(text)
    ))
}

/// The start of some output, for error messages.
fn excerpt(text: &[u8]) -> String {
    const MAX: usize = 80;
    let cut = text.len().min(MAX);
    let mut shown = String::from_utf8_lossy(&text[..cut]).into_owned();
    if text.len() > MAX {
        shown.push('…');
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(output: &str) -> Result<Response<Bytes>, Failure> {
        map_output(output.as_bytes().to_vec())
    }

    fn ok(output: &str) -> Response<Bytes> {
        map(output).unwrap_or_else(|f| panic!("{output}: {f}"))
    }

    fn header<'r>(response: &'r Response<Bytes>, name: &str) -> Vec<&'r str> {
        response
            .headers()
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect()
    }

    fn malformed_message(output: &str) -> String {
        match map(output) {
            Err(Failure::MalformedOutput(message)) => message,
            other => panic!("{output}: expected malformed, got {other:?}"),
        }
    }

    #[test]
    fn json_object_without_status_code_is_inferred() {
        let response = ok("  {\"message\": \"hi\", \"body\": 5}\n");
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "content-type"), ["application/json"]);
        assert_eq!(
            response.body().as_ref(),
            b"{\"message\": \"hi\", \"body\": 5}"
        );
    }

    #[test]
    fn json_string_is_inferred_as_its_content() {
        let response = ok("\"Hello from Lambda!\"\n");
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "content-type"), ["application/json"]);
        assert_eq!(response.body().as_ref(), b"Hello from Lambda!");
        assert_eq!(ok("\"a\\nb\\u00e9\"").body().as_ref(), "a\nbé".as_bytes());
    }

    #[test]
    fn other_json_values_are_inferred_verbatim() {
        for value in ["[1, 2]", "42", "true", "null", "-0.5e3"] {
            let response = ok(value);
            assert_eq!(response.status(), 200);
            assert_eq!(response.body().as_ref(), value.as_bytes());
            assert_eq!(header(&response, "content-type"), ["application/json"]);
        }
    }

    #[test]
    fn empty_output_is_null() {
        for output in ["", " \n\t"] {
            let response = ok(output);
            assert_eq!(response.status(), 200);
            assert_eq!(response.body().as_ref(), b"null");
            assert_eq!(header(&response, "content-type"), ["application/json"]);
        }
    }

    #[test]
    fn null_status_code_means_inferred() {
        let response = ok("{\"statusCode\": null, \"x\": 1}");
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.body().as_ref(),
            b"{\"statusCode\": null, \"x\": 1}"
        );
    }

    #[test]
    fn structured_response_with_headers_and_cookies() {
        let response = ok(r#"{
            "statusCode": 201,
            "headers": {"Content-Type": "text/html", "X-Count": 3, "x-flag": true, "x-none": null,
                        "content-length": "999", "connection": "close"},
            "cookies": ["a=1; Path=/", "b=2; HttpOnly"],
            "body": "<p>hi</p>",
            "multiValueHeaders": {"ignored": ["x"]}
        }"#);
        assert_eq!(response.status(), 201);
        assert_eq!(header(&response, "content-type"), ["text/html"]);
        assert_eq!(header(&response, "x-count"), ["3"]);
        assert_eq!(header(&response, "x-flag"), ["true"]);
        assert!(header(&response, "x-none").is_empty());
        assert!(header(&response, "content-length").is_empty());
        assert!(header(&response, "connection").is_empty());
        assert!(header(&response, "ignored").is_empty());
        assert_eq!(
            header(&response, "set-cookie"),
            ["a=1; Path=/", "b=2; HttpOnly"]
        );
        assert_eq!(response.body().as_ref(), b"<p>hi</p>");
    }

    #[test]
    fn structured_defaults() {
        let response = ok("{\"statusCode\": 204}");
        assert_eq!(response.status(), 204);
        assert!(response.body().is_empty());
        assert_eq!(
            header(&response, "content-type"),
            ["text/plain; charset=utf-8"]
        );
        let response = ok("{\"statusCode\": 200, \"body\": null, \"headers\": null, \"cookies\": null, \"isBase64Encoded\": null}");
        assert_eq!(response.status(), 200);
        assert!(response.body().is_empty());
    }

    #[test]
    fn base64_body_is_decoded() {
        let response = ok(
            r#"{"statusCode": 200, "isBase64Encoded": true, "body": "AJ+Slg==",
                              "headers": {"content-type": "application/octet-stream"}}"#,
        );
        assert_eq!(response.body().as_ref(), &[0u8, 159, 146, 150]);
        // Padding is optional, as many encoders drop it.
        let response = ok(r#"{"statusCode": 200, "isBase64Encoded": true, "body": "aGk"}"#);
        assert_eq!(response.body().as_ref(), b"hi");
        // Not flagged: the body is taken literally.
        let response = ok(r#"{"statusCode": 200, "isBase64Encoded": false, "body": "aGk="}"#);
        assert_eq!(response.body().as_ref(), b"aGk=");
    }

    #[test]
    fn malformed_outputs() {
        assert!(malformed_message("hello world").contains("not a JSON value"));
        assert!(malformed_message("{\"statusCode\": 200").contains("not a JSON value"));
        assert!(malformed_message("{} trailing").contains("not a JSON value"));
        assert!(malformed_message("\"unterminated").contains("not a JSON value"));
        for status in ["\"200\"", "200.5", "99", "600", "-1", "true", "70000"] {
            let message = malformed_message(&format!("{{\"statusCode\": {status}}}"));
            assert!(message.contains("statusCode"), "{status}: {message}");
        }
        assert!(
            malformed_message(r#"{"statusCode": 200, "body": {"a": 1}}"#)
                .contains("body must be a string")
        );
        assert!(
            malformed_message(r#"{"statusCode": 200, "isBase64Encoded": "yes"}"#)
                .contains("isBase64Encoded")
        );
        assert!(malformed_message(
            r#"{"statusCode": 200, "isBase64Encoded": true, "body": "!!!"}"#
        )
        .contains("base64"));
        assert!(malformed_message(r#"{"statusCode": 200, "headers": ["a"]}"#).contains("headers"));
        assert!(
            malformed_message(r#"{"statusCode": 200, "headers": {"x": [1]}}"#)
                .contains("header `x`")
        );
        assert!(
            malformed_message(r#"{"statusCode": 200, "headers": {"bad name": "v"}}"#)
                .contains("header name")
        );
        assert!(
            malformed_message(r#"{"statusCode": 200, "headers": {"x": "a\nb"}}"#)
                .contains("header `x`")
        );
        assert!(malformed_message(r#"{"statusCode": 200, "cookies": "a=1"}"#).contains("cookies"));
        assert!(
            malformed_message(r#"{"statusCode": 200, "cookies": ["a\r\n=1"]}"#).contains("cookie")
        );
    }

    #[test]
    fn invalid_utf8_output_is_malformed_not_a_panic() {
        assert!(matches!(
            map_output(vec![0xff, 0xfe]),
            Err(Failure::MalformedOutput(_))
        ));
        assert!(matches!(
            map_output(b"\"\xff\"".to_vec()),
            Err(Failure::MalformedOutput(_))
        ));
    }
}
