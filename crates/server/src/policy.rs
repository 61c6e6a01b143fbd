//! How much the server takes and from whom.
//!
//! - Limits: a deadline for a request's headers (which is also how long an idle
//!   keep-alive connection may wait for its next request), a cap on header size, and a
//!   cap on open connections beyond which new ones get a clear 503 and are closed. A
//!   client trickling its headers, or thousands of idle ones, cannot starve the rest.
//! - Access to the control API (`/_sandbox`): any web page the developer visits can make
//!   the browser send requests to localhost. A page on another origin may not change
//!   anything (its `Origin`, or `Sec-Fetch-Site: cross-site`, gives it away, and the
//!   body types a browser sends without asking first are refused), and a page that
//!   rebinds its own DNS name to 127.0.0.1 is caught by its `Host`, which is not a
//!   loopback name. The sandbox sends no CORS headers, so no other origin can read
//!   answers either. Names and origins a user really uses are allowed with
//!   `--allow-host` / `--allow-origin`.

use std::net::IpAddr;
use std::time::Duration;

use http::header::{CONTENT_TYPE, HOST, ORIGIN};
use http::request::Parts;
use http::{Method, StatusCode};

/// The server's limits and access rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// How long a client may take to send a request's headers, and how long an idle
    /// keep-alive connection waits for the next request.
    pub header_timeout: Duration,
    /// The most bytes of request line and headers (at least 8 KiB).
    pub max_header_bytes: usize,
    /// Open connections beyond this get a 503 and are closed.
    pub max_connections: usize,
    /// Host names (beyond loopback ones) whose requests may reach the control API; `*`
    /// allows any.
    pub allowed_hosts: Vec<String>,
    /// Origins (`https://app.example:8443`) whose pages may change state through the
    /// control API, beyond the sandbox's own.
    pub allowed_origins: Vec<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            header_timeout: Duration::from_secs(30),
            max_header_bytes: 64 * 1024,
            max_connections: 4096,
            allowed_hosts: Vec::new(),
            allowed_origins: Vec::new(),
        }
    }
}

/// Why a control request was refused: a status and a message saying how to allow it.
pub(crate) type Refusal = (StatusCode, String);

impl Policy {
    /// Whether this request may reach the control API.
    pub(crate) fn admit_control(&self, parts: &Parts) -> Result<(), Refusal> {
        let host = match parts.headers.get(HOST) {
            Some(value) => Some(value.to_str().map(str::to_string).map_err(|_| {
                (
                    StatusCode::BAD_REQUEST,
                    "the Host header is not readable text".to_string(),
                )
            })?),
            None => parts.uri.authority().map(|a| a.to_string()),
        };
        // HTTP/1.0 clients may leave out Host; browsers never do.
        if let Some(host) = &host {
            let name = host_name(host);
            if !self.host_allowed(&name) {
                return Err((
                    StatusCode::FORBIDDEN,
                    format!(
                        "the control API answers only requests addressed to this machine; Host `{host}` \
                         is not a loopback name (a web page using DNS rebinding looks like this). \
                         If you reach the sandbox by this name on purpose, start it with --allow-host {name}"
                    ),
                ));
            }
        }
        if is_safe(&parts.method) {
            return Ok(());
        }
        if let Some(origin) = parts.headers.get(ORIGIN) {
            let origin = origin.to_str().unwrap_or("null");
            if !self.origin_allowed(origin, host.as_deref()) {
                return Err((
                    StatusCode::FORBIDDEN,
                    format!(
                        "{} from a page on {origin} is refused: other origins may not change the sandbox's state. \
                         To allow that page, start the sandbox with --allow-origin {origin}",
                        parts.method
                    ),
                ));
            }
        } else if parts
            .headers
            .get("sec-fetch-site")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"))
        {
            return Err((
                StatusCode::FORBIDDEN,
                format!(
                    "{} from another site is refused: other origins may not change the sandbox's state",
                    parts.method
                ),
            ));
        }
        // A browser sends these without a preflight; a script or the SDKs send JSON.
        let content_type = parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if content_type.starts_with("text/plain") || content_type.starts_with("multipart/form-data")
        {
            return Err((
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "a control request's body is JSON; send it with Content-Type: application/json (got `{content_type}`)"
                ),
            ));
        }
        Ok(())
    }

    /// Loopback names, any address literal (DNS rebinding needs a DNS name, and a user
    /// who binds `--host 0.0.0.0` reaches the sandbox by its address), and allowed names.
    fn host_allowed(&self, name: &str) -> bool {
        is_loopback_name(name)
            || name.parse::<IpAddr>().is_ok()
            || self
                .allowed_hosts
                .iter()
                .any(|allowed| allowed == "*" || allowed.eq_ignore_ascii_case(name))
    }

    /// The sandbox's own pages (same origin as the request's loopback `Host`), or an
    /// origin the user allowed.
    fn origin_allowed(&self, origin: &str, host: Option<&str>) -> bool {
        if self
            .allowed_origins
            .iter()
            .any(|allowed| allowed == "*" || same_origin(allowed, origin))
        {
            return true;
        }
        let Some(authority) = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
        else {
            return false;
        };
        host.is_some_and(|host| authority.eq_ignore_ascii_case(host))
            && is_loopback_name(&host_name(authority))
    }
}

/// Answers a connection over the cap with a 503 that says why, then closes it.
pub(crate) async fn refuse_connection(mut stream: tokio::net::TcpStream, cap: usize) {
    use tokio::io::AsyncWriteExt;
    tracing::warn!(
        target: "sandbox::http",
        "refused a connection: {cap} connections are open (raise --max-connections, or close idle ones)"
    );
    let body = format!(
        "{{\"message\":\"Service Unavailable: the sandbox already has {cap} open connections; close idle ones or raise --max-connections\"}}"
    );
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\nretry-after: 1\r\n\r\n{body}",
        body.len()
    );
    // Answer, close our side, then read what the client already sent until it closes:
    // closing with unread data would reset the connection, and some TCP stacks drop the
    // answer on a reset. The client may already be gone; nothing more to do then.
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        use tokio::io::AsyncReadExt;
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
        let mut sink = [0u8; 1024];
        while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}

/// Origins compare without a trailing slash, case-insensitively, with the scheme's default
/// port implied (`https://a.example:443` is `https://a.example`).
fn same_origin(a: &str, b: &str) -> bool {
    fn normal(origin: &str) -> String {
        let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
        if let Some(rest) = origin.strip_prefix("https://") {
            format!("https://{}", rest.strip_suffix(":443").unwrap_or(rest))
        } else if let Some(rest) = origin.strip_prefix("http://") {
            format!("http://{}", rest.strip_suffix(":80").unwrap_or(rest))
        } else {
            origin
        }
    }
    normal(a) == normal(b)
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// `localhost:3333` → `localhost`; `[::1]:3333` → `::1`.
fn host_name(host: &str) -> String {
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        host.rsplit_once(':')
            .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
            .map_or(host, |(name, _)| name)
    };
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// `localhost`, `*.localhost` (which resolve to loopback by RFC 6761), and loopback
/// addresses.
fn is_loopback_name(name: &str) -> bool {
    name == "localhost"
        || name.ends_with(".localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(method: &str, headers: &[(&str, &str)]) -> Parts {
        let mut builder = http::Request::builder()
            .method(method)
            .uri("/_sandbox/clock");
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[test]
    fn only_loopback_hosts_reach_the_control_api() {
        let policy = Policy::default();
        for host in [
            "localhost:3333",
            "127.0.0.1:3333",
            "[::1]:3333",
            "app.localhost",
            "127.1.2.3",
        ] {
            assert!(
                policy
                    .admit_control(&parts("GET", &[("host", host)]))
                    .is_ok(),
                "{host}"
            );
        }
        let (status, message) = policy
            .admit_control(&parts("GET", &[("host", "evil.example")]))
            .unwrap_err();
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(message.contains("--allow-host evil.example"), "{message}");
        let allowing = Policy {
            allowed_hosts: vec!["devbox.lan".into()],
            allowed_origins: vec!["https://Tool.example:443/".into()],
            ..Policy::default()
        };
        assert!(allowing
            .admit_control(&parts(
                "POST",
                &[("host", "localhost"), ("origin", "https://tool.example")]
            ))
            .is_ok());
        assert!(allowing
            .admit_control(&parts("GET", &[("host", "devbox.lan:3333")]))
            .is_ok());
        // HTTP/1.0 without Host: not a browser. An address literal cannot be rebound.
        assert!(policy.admit_control(&parts("GET", &[])).is_ok());
        assert!(policy
            .admit_control(&parts("GET", &[("host", "192.168.1.20:3333")]))
            .is_ok());
    }

    #[test]
    fn other_origins_may_not_change_state() {
        let policy = Policy::default();
        let host = ("host", "localhost:3333");
        let evil = parts(
            "POST",
            &[
                host,
                ("origin", "https://evil.example"),
                ("content-type", "application/json"),
            ],
        );
        let (status, message) = policy.admit_control(&evil).unwrap_err();
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(
            message.contains("--allow-origin https://evil.example"),
            "{message}"
        );
        assert!(policy
            .admit_control(&parts("POST", &[host, ("origin", "http://localhost:3333")]))
            .is_ok());
        assert!(policy
            .admit_control(&parts("POST", &[host, ("origin", "http://localhost:5173")]))
            .is_err());
        assert!(policy
            .admit_control(&parts("POST", &[host, ("sec-fetch-site", "cross-site")]))
            .is_err());
        assert!(policy
            .admit_control(&parts(
                "POST",
                &[host, ("content-type", "text/plain;charset=UTF-8")]
            ))
            .is_err());
        // curl: no Origin, its default form content type.
        assert!(policy
            .admit_control(&parts(
                "POST",
                &[host, ("content-type", "application/x-www-form-urlencoded")]
            ))
            .is_ok());
        // Reading is not changing.
        assert!(policy
            .admit_control(&parts("GET", &[host, ("origin", "https://evil.example")]))
            .is_ok());
    }
}
