//! A fully read HTTP response, so assertions never juggle streams.

use anyhow::{bail, Context};
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub(crate) fn from_ureq(
        result: Result<http::Response<ureq::Body>, ureq::Error>,
    ) -> anyhow::Result<Response> {
        let mut response = result.context("HTTP request to the sandbox failed")?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_vec()
            .context("reading the response body")?;
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    /// The first value of a header (names are case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header, in order (e.g. each `set-cookie`).
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> anyhow::Result<Value> {
        serde_json::from_slice(&self.body)
            .with_context(|| format!("response is not JSON: {}", self.text()))
    }

    /// The JSON body of a 2xx response; anything else is an error showing the body.
    pub fn ok_json(&self) -> anyhow::Result<Value> {
        if !(200..300).contains(&self.status) {
            bail!("expected success, got {}: {}", self.status, self.text());
        }
        self.json()
    }
}
