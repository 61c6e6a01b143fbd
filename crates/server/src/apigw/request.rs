//! The API Gateway HTTP API payload 2.0 event for one request, serialized straight to
//! the bytes the handler reads on stdin.
//!
//! This is the hot path: the event borrows from the request wherever it can and is
//! written by serde without an intermediate `serde_json::Value`. The shape follows
//! AWS's documented example (and the `aws_lambda_events` fixtures): lower-cased
//! headers with duplicates comma-joined, cookies lifted out of the headers into
//! `cookies`, decoded query parameters with duplicates comma-joined, optional fields
//! omitted rather than null, and the body base64-encoded unless it is text.

use std::borrow::Cow;
use std::net::IpAddr;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use http::header::{HeaderMap, HeaderName, COOKIE, USER_AGENT};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use sandbox_ops::aws::ACCOUNT as ACCOUNT_ID;
/// The API id of the one HTTP API the sandbox serves.
pub const API_ID: &str = "sandbox";

/// Request headers API Gateway does not pass to the integration (hop-by-hop ones);
/// `cookie` is lifted into `cookies` instead.
const DROPPED_HEADERS: [&str; 6] = [
    "connection",
    "expect",
    "proxy-authenticate",
    "te",
    "transfer-encoding",
    "upgrade",
];

/// What the event is built from: the parts of the HTTP request plus what the router
/// and the connection know.
pub struct EventInput<'a> {
    pub method: &'a str,
    /// The URI path as sent (still percent-encoded).
    pub raw_path: &'a str,
    /// The query string as sent, without `?`; empty when there is none.
    pub raw_query: &'a str,
    /// `HTTP/1.1`, `HTTP/1.0`.
    pub protocol: &'a str,
    pub headers: &'a HeaderMap,
    /// The `Host` the client used (`localhost:3333`).
    pub host: &'a str,
    pub body: &'a [u8],
    pub source_ip: IpAddr,
    /// The port the client connected to, for `x-forwarded-port`.
    pub local_port: u16,
    pub route_key: &'a str,
    /// Decoded path parameters (`proxy` for a catch-all).
    pub path_params: &'a [(&'a str, String)],
    pub request_id: &'a str,
    pub now: DateTime<Utc>,
}

/// The event a plain request to `route` would make, with every path parameter set to
/// `example` (for `sandbox invoke` without an event): the same builder as real requests.
pub fn sample_event(
    route: &sandbox_manifest::Route,
    request_id: &str,
    now: DateTime<Utc>,
) -> Vec<u8> {
    let path: Vec<&str> = route
        .path
        .split('/')
        .map(|s| {
            if s.starts_with(':') || s == "*" {
                "example"
            } else {
                s
            }
        })
        .collect();
    let path = path.join("/");
    let method = match route.method {
        sandbox_manifest::Method::Any => http::Method::GET,
        other => http::Method::from_bytes(other.as_str().as_bytes()).unwrap_or(http::Method::GET),
    };
    let router = crate::Router::new(std::slice::from_ref(route));
    let (route_key, params) = router
        .find(&method, &path)
        .map(|m| {
            (
                m.route.route_key().to_string(),
                m.params
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
            )
        })
        .unwrap_or_else(|| {
            (
                format!("{} {}", route.method.as_str(), route.path),
                Vec::new(),
            )
        });
    let params: Vec<(&str, String)> = params
        .iter()
        .map(|(k, v): &(String, String)| (k.as_str(), v.clone()))
        .collect();
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::HOST,
        http::HeaderValue::from_static("localhost"),
    );
    headers.insert(USER_AGENT, http::HeaderValue::from_static("sandbox-invoke"));
    build_event(&EventInput {
        method: method.as_str(),
        raw_path: &path,
        raw_query: "",
        protocol: "HTTP/1.1",
        headers: &headers,
        host: "localhost",
        body: b"",
        source_ip: IpAddr::from([127, 0, 0, 1]),
        local_port: 3333,
        route_key: &route_key,
        path_params: &params,
        request_id,
        now,
    })
}

/// Serializes the payload 2.0 event for `input`.
pub fn build_event(input: &EventInput<'_>) -> Vec<u8> {
    let source_ip = input.source_ip.to_string();
    let (body, is_base64_encoded) = encode_body(input.body, input.headers);
    let event = Event {
        version: "2.0",
        route_key: input.route_key,
        raw_path: input.raw_path,
        raw_query_string: input.raw_query,
        cookies: cookies(input.headers),
        headers: Headers {
            map: input.headers,
            source_ip: &source_ip,
            local_port: input.local_port,
        },
        query_string_parameters: query_parameters(input.raw_query),
        path_parameters: PathParams(input.path_params),
        request_context: RequestContext {
            account_id: ACCOUNT_ID,
            api_id: API_ID,
            domain_name: input.host,
            domain_prefix: domain_prefix(input.host),
            http: Http {
                method: input.method,
                path: input.raw_path,
                protocol: input.protocol,
                source_ip: &source_ip,
                user_agent: input
                    .headers
                    .get(USER_AGENT)
                    .map(|v| lossy(v.as_bytes()))
                    .unwrap_or_default(),
            },
            request_id: input.request_id,
            route_key: input.route_key,
            stage: "$default",
            time: ClfTime(input.now),
            time_epoch: input.now.timestamp_millis(),
        },
        body,
        is_base64_encoded,
    };
    let mut out = Vec::with_capacity(1024 + input.body.len() * 4 / 3);
    // Writing to a Vec cannot fail and every key is a string, so this cannot error;
    // an empty event would still be answered (the handler sees invalid JSON) rather
    // than panicking the connection.
    let _ = serde_json::to_writer(&mut out, &event);
    out
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Event<'a> {
    version: &'static str,
    route_key: &'a str,
    raw_path: &'a str,
    raw_query_string: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cookies: Vec<Cow<'a, str>>,
    headers: Headers<'a>,
    #[serde(skip_serializing_if = "QueryParams::is_empty")]
    query_string_parameters: QueryParams<'a>,
    #[serde(skip_serializing_if = "PathParams::is_empty")]
    path_parameters: PathParams<'a>,
    request_context: RequestContext<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<Cow<'a, str>>,
    is_base64_encoded: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RequestContext<'a> {
    account_id: &'static str,
    api_id: &'static str,
    domain_name: &'a str,
    domain_prefix: &'a str,
    http: Http<'a>,
    request_id: &'a str,
    route_key: &'a str,
    stage: &'static str,
    time: ClfTime,
    time_epoch: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Http<'a> {
    method: &'a str,
    path: &'a str,
    protocol: &'a str,
    source_ip: &'a str,
    user_agent: Cow<'a, str>,
}

/// `12/Mar/2020:19:03:58 +0000`, written without an intermediate String.
struct ClfTime(DateTime<Utc>);

impl Serialize for ClfTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0.format("%d/%b/%Y:%H:%M:%S %z"))
    }
}

/// The request headers as API Gateway passes them: lower-case names (http already
/// stores them so), duplicates comma-joined, no `cookie` and no hop-by-hop headers,
/// plus the `x-forwarded-*` headers API Gateway adds.
struct Headers<'a> {
    map: &'a HeaderMap,
    source_ip: &'a str,
    local_port: u16,
}

impl Serialize for Headers<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for name in self.map.keys() {
            if name == COOKIE || DROPPED_HEADERS.contains(&name.as_str()) {
                continue;
            }
            let mut joined = join_values(self.map, name);
            if name.as_str() == "x-forwarded-for" {
                // API Gateway appends the address it saw to what the client sent.
                let mut value = joined.into_owned();
                value.push_str(", ");
                value.push_str(self.source_ip);
                joined = Cow::Owned(value);
            }
            map.serialize_entry(name.as_str(), &joined)?;
        }
        if !self.map.contains_key("x-forwarded-for") {
            map.serialize_entry("x-forwarded-for", self.source_ip)?;
        }
        if !self.map.contains_key("x-forwarded-port") {
            map.serialize_entry("x-forwarded-port", &AsText(self.local_port))?;
        }
        if !self.map.contains_key("x-forwarded-proto") {
            map.serialize_entry("x-forwarded-proto", "http")?;
        }
        map.end()
    }
}

/// A number serialized as a JSON string, without allocating one.
struct AsText<T>(T);

impl<T: std::fmt::Display> Serialize for AsText<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

/// All values of `name`, comma-joined; borrowed in the common single-value case.
fn join_values<'a>(map: &'a HeaderMap, name: &HeaderName) -> Cow<'a, str> {
    let mut values = map.get_all(name).iter();
    let first = match values.next() {
        Some(first) => lossy(first.as_bytes()),
        None => return Cow::Borrowed(""),
    };
    let mut joined: Option<String> = None;
    for value in values {
        let buffer = joined.get_or_insert_with(|| first.to_string());
        buffer.push(',');
        buffer.push_str(&lossy(value.as_bytes()));
    }
    match joined {
        Some(joined) => Cow::Owned(joined),
        None => first,
    }
}

/// Header bytes as text; API Gateway passes non-ASCII bytes through, so replace only
/// what is not UTF-8 at all.
fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// Every cookie of every `Cookie` header, split on `;`.
fn cookies(headers: &HeaderMap) -> Vec<Cow<'_, str>> {
    let mut out = Vec::new();
    for value in headers.get_all(COOKIE) {
        match lossy(value.as_bytes()) {
            Cow::Borrowed(text) => out.extend(
                text.split(';')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(Cow::Borrowed),
            ),
            Cow::Owned(text) => out.extend(
                text.split(';')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(|c| Cow::Owned(c.to_string())),
            ),
        }
    }
    out
}

/// Decoded query parameters in first-seen order, duplicates comma-joined.
struct QueryParams<'a>(Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl QueryParams<'_> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for QueryParams<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

fn query_parameters(raw: &str) -> QueryParams<'_> {
    let mut params: Vec<(Cow<'_, str>, Cow<'_, str>)> = Vec::new();
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = form_decode(key);
        if key.is_empty() {
            continue;
        }
        let value = form_decode(value);
        match params.iter_mut().find(|(k, _)| *k == key) {
            Some((_, existing)) => {
                let joined = existing.to_mut();
                joined.push(',');
                joined.push_str(&value);
            }
            None => params.push((key, value)),
        }
    }
    QueryParams(params)
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte.
fn form_decode(part: &str) -> Cow<'_, str> {
    if !part.contains(['+', '%']) {
        return Cow::Borrowed(part);
    }
    let spaced = part.replace('+', " ");
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(&spaced).collect();
    Cow::Owned(match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
    })
}

struct PathParams<'a>(&'a [(&'a str, String)]);

impl PathParams<'_> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for PathParams<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// `id` of `id.execute-api.us-east-1.amazonaws.com`; `localhost` of `localhost:3333`.
fn domain_prefix(host: &str) -> &str {
    let without_port = match host.rfind(':') {
        // Not an IPv6 literal's colon.
        Some(at) if !host[at..].contains(']') => &host[..at],
        _ => host,
    };
    if without_port.starts_with('[') {
        return without_port;
    }
    without_port.split('.').next().unwrap_or(without_port)
}

/// The body as API Gateway passes it: omitted when empty, the text itself for
/// text-like content types, base64 otherwise (or when the bytes are not UTF-8).
fn encode_body<'a>(body: &'a [u8], headers: &HeaderMap) -> (Option<Cow<'a, str>>, bool) {
    if body.is_empty() {
        return (None, false);
    }
    let text_like = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(is_text_content_type);
    if text_like {
        if let Ok(text) = std::str::from_utf8(body) {
            return (Some(Cow::Borrowed(text)), false);
        }
    }
    (
        Some(Cow::Owned(
            base64::engine::general_purpose::STANDARD.encode(body),
        )),
        true,
    )
}

/// Content types whose bodies API Gateway passes as text.
pub fn is_text_content_type(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    let lower = essence.to_ascii_lowercase();
    lower.starts_with("text/")
        || matches!(
            lower.as_str(),
            "application/json"
                | "application/xml"
                | "application/javascript"
                | "application/x-www-form-urlencoded"
        )
        || lower.ends_with("+json")
        || lower.ends_with("+xml")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use http::HeaderValue;
    use serde_json::json;

    fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(value).unwrap(),
            );
        }
        map
    }

    fn event(input: &EventInput<'_>) -> serde_json::Value {
        serde_json::from_slice(&build_event(input)).unwrap()
    }

    fn base_input<'a>(headers: &'a HeaderMap, params: &'a [(&'a str, String)]) -> EventInput<'a> {
        EventInput {
            method: "GET",
            raw_path: "/",
            raw_query: "",
            protocol: "HTTP/1.1",
            headers,
            host: "localhost:3333",
            body: b"",
            source_ip: "127.0.0.1".parse().unwrap(),
            local_port: 3333,
            route_key: "GET /",
            path_params: params,
            request_id: "req-1",
            now: Utc.with_ymd_and_hms(2020, 3, 12, 19, 3, 58).unwrap()
                + chrono::Duration::milliseconds(390),
        }
    }

    #[test]
    fn full_event_matches_aws_shape() {
        let headers = headers(&[
            ("Host", b"localhost:3333"),
            ("User-Agent", b"curl/8.0"),
            ("Cookie", b"c1=v1; c2=v2"),
            ("X-Multi", b"a"),
            ("Content-Type", b"application/octet-stream"),
            ("cookie", b"c3=v3"),
            ("x-multi", b"b"),
            ("Connection", b"keep-alive"),
        ]);
        let params = [("id", "4 2".to_string())];
        let body = [0u8, 159, 146, 150];
        let input = EventInput {
            method: "POST",
            raw_path: "/items/4%202",
            raw_query: "a=1&a=2&b=x%20y&c=&d+e=f+g&&a=3",
            body: &body,
            route_key: "POST /items/{id}",
            ..base_input(&headers, &params)
        };
        let expected = json!({
            "version": "2.0",
            "routeKey": "POST /items/{id}",
            "rawPath": "/items/4%202",
            "rawQueryString": "a=1&a=2&b=x%20y&c=&d+e=f+g&&a=3",
            "cookies": ["c1=v1", "c2=v2", "c3=v3"],
            "headers": {
                "host": "localhost:3333",
                "user-agent": "curl/8.0",
                "x-multi": "a,b",
                "content-type": "application/octet-stream",
                "x-forwarded-for": "127.0.0.1",
                "x-forwarded-port": "3333",
                "x-forwarded-proto": "http"
            },
            "queryStringParameters": {"a": "1,2,3", "b": "x y", "c": "", "d e": "f g"},
            "pathParameters": {"id": "4 2"},
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "sandbox",
                "domainName": "localhost:3333",
                "domainPrefix": "localhost",
                "http": {
                    "method": "POST",
                    "path": "/items/4%202",
                    "protocol": "HTTP/1.1",
                    "sourceIp": "127.0.0.1",
                    "userAgent": "curl/8.0"
                },
                "requestId": "req-1",
                "routeKey": "POST /items/{id}",
                "stage": "$default",
                "time": "12/Mar/2020:19:03:58 +0000",
                "timeEpoch": 1584039838390i64
            },
            "body": "AJ+Slg==",
            "isBase64Encoded": true
        });
        assert_eq!(event(&input), expected);
    }

    #[test]
    fn optional_fields_are_omitted() {
        let headers = headers(&[("host", b"localhost:3333")]);
        let value = event(&base_input(&headers, &[]));
        let object = value.as_object().unwrap();
        for absent in [
            "cookies",
            "queryStringParameters",
            "pathParameters",
            "body",
            "stageVariables",
        ] {
            assert!(!object.contains_key(absent), "{absent} should be omitted");
        }
        assert_eq!(value["isBase64Encoded"], json!(false));
        assert_eq!(value["rawQueryString"], json!(""));
        assert_eq!(value["requestContext"]["http"]["userAgent"], json!(""));
    }

    #[test]
    fn field_order_is_awss() {
        let headers = headers(&[("cookie", b"a=b"), ("content-type", b"text/plain")]);
        let params = [("id", "1".to_string())];
        let input = EventInput {
            raw_query: "q=1",
            body: b"hi",
            ..base_input(&headers, &params)
        };
        let text = String::from_utf8(build_event(&input)).unwrap();
        let order = [
            "\"version\"",
            "\"routeKey\"",
            "\"rawPath\"",
            "\"rawQueryString\"",
            "\"cookies\"",
            "\"headers\"",
            "\"queryStringParameters\"",
            "\"pathParameters\"",
            "\"requestContext\"",
            "\"body\"",
            "\"isBase64Encoded\"",
        ];
        let positions: Vec<usize> = order.iter().map(|k| text.find(k).unwrap()).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
    }

    #[test]
    fn text_bodies_stay_text() {
        for content_type in [
            "text/plain",
            "text/html; charset=utf-8",
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/xml",
            "application/vnd.api+json",
            "image/svg+xml",
            "application/x-www-form-urlencoded",
            "application/javascript",
        ] {
            let headers = headers(&[("content-type", content_type.as_bytes())]);
            let input = EventInput {
                body: "{\"a\":\"é\"}".as_bytes(),
                ..base_input(&headers, &[])
            };
            let value = event(&input);
            assert_eq!(value["body"], json!("{\"a\":\"é\"}"), "{content_type}");
            assert_eq!(value["isBase64Encoded"], json!(false), "{content_type}");
        }
    }

    #[test]
    fn binary_or_untyped_bodies_are_base64() {
        type Case<'a> = (&'a [(&'a str, &'a [u8])], &'a [u8]);
        let cases: [Case<'_>; 4] = [
            (&[("content-type", b"application/octet-stream")], b"abc"),
            (
                &[("content-type", b"multipart/form-data; boundary=x")],
                b"abc",
            ),
            (&[], b"abc"),
            (&[("content-type", b"text/plain")], &[0xff, 0xfe]),
        ];
        for (pairs, body) in cases {
            let headers = headers(pairs);
            let input = EventInput {
                body,
                ..base_input(&headers, &[])
            };
            let value = event(&input);
            assert_eq!(value["isBase64Encoded"], json!(true));
            assert_eq!(
                value["body"],
                json!(base64::engine::general_purpose::STANDARD.encode(body))
            );
        }
    }

    #[test]
    fn forwarded_headers_extend_what_the_client_sent() {
        let headers = headers(&[
            ("x-forwarded-for", b"10.0.0.1"),
            ("x-forwarded-proto", b"https"),
        ]);
        let value = event(&base_input(&headers, &[]));
        assert_eq!(
            value["headers"]["x-forwarded-for"],
            json!("10.0.0.1, 127.0.0.1")
        );
        assert_eq!(value["headers"]["x-forwarded-proto"], json!("https"));
        assert_eq!(value["headers"]["x-forwarded-port"], json!("3333"));
    }

    #[test]
    fn odd_input_does_not_panic() {
        let headers = headers(&[("x-bin", &[0x80, 0x81]), ("cookie", &[0xff, b';', b'a'])]);
        let input = EventInput {
            raw_query: "%ZZ=%FF&=novalue&k",
            host: "[::1]:3333",
            ..base_input(&headers, &[])
        };
        let value = event(&input);
        assert_eq!(value["headers"]["x-bin"], json!("\u{fffd}\u{fffd}"));
        assert_eq!(value["cookies"], json!(["\u{fffd}", "a"]));
        assert_eq!(
            value["queryStringParameters"],
            json!({"%ZZ": "\u{fffd}", "k": ""})
        );
        assert_eq!(value["requestContext"]["domainPrefix"], json!("[::1]"));
    }

    #[test]
    fn domain_prefixes() {
        assert_eq!(domain_prefix("localhost:3333"), "localhost");
        assert_eq!(
            domain_prefix("id.execute-api.us-east-1.amazonaws.com"),
            "id"
        );
        assert_eq!(domain_prefix("127.0.0.1:80"), "127");
        assert_eq!(domain_prefix("[::1]:3333"), "[::1]");
        assert_eq!(domain_prefix(""), "");
    }
}
