//! HTTP handlers: the request is API Gateway's HTTP API (payload 2.0) event, the
//! response is its v2 response shape.
//!
//! [`Response`] serializes to `{"statusCode", "headers", "cookies", "body",
//! "isBase64Encoded"}`. API Gateway turns each entry of `cookies` into its own
//! `set-cookie` header, so cookies go there rather than into `headers`. A handler
//! may also return any other JSON value: API Gateway (and the sandbox) then answers
//! 200 with that JSON as an `application/json` body.

use std::collections::BTreeMap;

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::Error;

/// The event an HTTP route receives.
pub use crate::events::HttpRequest as Request;

/// An API Gateway v2 (HTTP API) response.
///
/// Header names are stored lower-case, as HTTP/2 and API Gateway present them;
/// setting a header twice keeps the last value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    pub status_code: u16,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cookies: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default)]
    pub is_base64_encoded: bool,
}

impl Response {
    /// A response with no body and no headers.
    pub fn new(status: u16) -> Self {
        Response {
            status_code: status,
            headers: BTreeMap::new(),
            cookies: Vec::new(),
            body: None,
            is_base64_encoded: false,
        }
    }

    /// `value` as an `application/json` body. Fails only if `value` cannot be
    /// represented as JSON (a map with non-string keys, say), hence the `Result`.
    pub fn json<T: Serialize + ?Sized>(status: u16, value: &T) -> Result<Self, Error> {
        let body = serde_json::to_string(value).map_err(|e| {
            Error::with_type(
                "Runtime.MarshalError",
                format!("could not serialize the JSON body: {e}"),
            )
        })?;
        Ok(Self::with_body(status, "application/json", body))
    }

    /// An HTML page (`text/html; charset=utf-8`).
    pub fn html(status: u16, body: impl Into<String>) -> Self {
        Self::with_body(status, "text/html; charset=utf-8", body.into())
    }

    /// Plain text (`text/plain; charset=utf-8`).
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Self::with_body(status, "text/plain; charset=utf-8", body.into())
    }

    /// Arbitrary bytes: sent base64-encoded with `isBase64Encoded: true`, which
    /// API Gateway decodes before answering the client.
    pub fn binary(status: u16, content_type: &str, bytes: impl AsRef<[u8]>) -> Self {
        let mut response = Self::with_body(
            status,
            content_type,
            base64::engine::general_purpose::STANDARD.encode(bytes),
        );
        response.is_base64_encoded = true;
        response
    }

    /// A redirect to `location` (use 301, 302, 303, 307 or 308).
    pub fn redirect(status: u16, location: impl Into<String>) -> Self {
        Self::new(status).header("location", location)
    }

    /// Sets a header; the name is lower-cased, an earlier value is replaced.
    pub fn header(mut self, name: impl AsRef<str>, value: impl Into<String>) -> Self {
        self.headers
            .insert(name.as_ref().to_ascii_lowercase(), value.into());
        self
    }

    /// Adds a cookie, written as a `Set-Cookie` value: `"id=42; Path=/; HttpOnly"`.
    pub fn cookie(mut self, cookie: impl Into<String>) -> Self {
        self.cookies.push(cookie.into());
        self
    }

    fn with_body(status: u16, content_type: &str, body: String) -> Self {
        let mut response = Self::new(status).header("content-type", content_type);
        response.body = Some(body);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn to_value(response: &Response) -> Value {
        serde_json::to_value(response).unwrap()
    }

    #[test]
    fn json_response() {
        let response = Response::json(201, &json!({"id": "7"})).unwrap();
        assert_eq!(
            to_value(&response),
            json!({
                "statusCode": 201,
                "headers": {"content-type": "application/json"},
                "body": "{\"id\":\"7\"}",
                "isBase64Encoded": false
            })
        );
    }

    #[test]
    fn json_rejects_unrepresentable_values() {
        let map = std::collections::HashMap::from([((1, 2), 3)]);
        let error = Response::json(200, &map).unwrap_err();
        assert_eq!(error.error_type(), "Runtime.MarshalError");
    }

    #[test]
    fn html_text_and_headers() {
        let response = Response::html(200, "<p>hi</p>")
            .header("X-Custom", "a")
            .header("x-custom", "b");
        assert_eq!(response.headers["content-type"], "text/html; charset=utf-8");
        assert_eq!(response.headers["x-custom"], "b");
        assert_eq!(response.body.as_deref(), Some("<p>hi</p>"));
        let text = Response::text(404, "nope");
        assert_eq!(text.headers["content-type"], "text/plain; charset=utf-8");
        assert_eq!(text.status_code, 404);
    }

    #[test]
    fn cookies_are_a_separate_list() {
        let response = Response::new(204).cookie("a=1").cookie("b=2; HttpOnly");
        assert_eq!(
            to_value(&response),
            json!({"statusCode": 204, "cookies": ["a=1", "b=2; HttpOnly"], "isBase64Encoded": false})
        );
    }

    #[test]
    fn binary_is_base64() {
        let response = Response::binary(200, "image/png", [0x89, b'P', b'N', b'G', 0xff]);
        assert_eq!(
            to_value(&response),
            json!({
                "statusCode": 200,
                "headers": {"content-type": "image/png"},
                "body": "iVBOR/8=",
                "isBase64Encoded": true
            })
        );
    }

    #[test]
    fn redirect_sets_location() {
        assert_eq!(
            to_value(&Response::redirect(302, "/")),
            json!({"statusCode": 302, "headers": {"location": "/"}, "isBase64Encoded": false})
        );
    }

    #[test]
    fn reads_back_what_it_writes() {
        let response = Response::text(200, "x").cookie("c=1");
        let back: Response = serde_json::from_value(to_value(&response)).unwrap();
        assert_eq!(back, response);
    }
}
