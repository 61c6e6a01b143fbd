//! The sandbox against hostile and careless clients: web pages that try to drive the
//! control API (cross-origin requests, DNS rebinding), clients that trickle their headers
//! or hold thousands of idle connections, and `curl -I`. Every loop here is bounded.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use sandbox_testing::Sandbox;
use serde_json::Value;

/// An app with one GET route (a WAT handler: nothing to build) and a queue without a
/// consumer, so sent messages stay put.
fn app(dir: &Path) {
    std::fs::write(
        dir.join("app.arc"),
        "@app\nhardening\n\n@http\nget /\n\n@queues\ngood\n",
    )
    .unwrap();
    let handler = dir.join("src/http/get-index");
    std::fs::create_dir_all(&handler).unwrap();
    std::fs::write(
        handler.join("handler.wat"),
        sandbox_testing::wat::responding("hello"),
    )
    .unwrap();
}

fn start(dir: &Path, args: &[&str]) -> Sandbox {
    let mut builder = Sandbox::builder(dir).bin(env!("CARGO_BIN_EXE_sandbox"));
    for arg in args {
        builder = builder.arg(*arg);
    }
    builder.start().unwrap()
}

fn addr(sandbox: &Sandbox) -> SocketAddr {
    sandbox
        .base_url()
        .trim_start_matches("http://")
        .parse()
        .unwrap()
}

/// Sends raw bytes on a fresh connection and reads the whole answer (the request asks
/// the server to close).
fn raw(sandbox: &Sandbox, request: &str) -> String {
    let mut stream = TcpStream::connect(addr(sandbox)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

/// This test process holds thousands of sockets too; the soft limit is often 1024.
fn raise_open_file_limit(wanted: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write only the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < wanted {
            limit.rlim_cur = wanted.min(limit.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

fn status_of(answer: &str) -> u16 {
    answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {answer:?}"))
}

fn post_from_evil_page(path: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://evil.example\r\n\
         Content-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn web_pages_cannot_drive_the_control_api() {
    let dir = tempfile::tempdir().unwrap();
    app(dir.path());
    let sandbox = start(
        dir.path(),
        &["--clock", "manual", "--clock-start", "2030-01-01T00:00:00Z"],
    );

    // A cross-origin "simple" POST (no preflight) that used to send a message.
    let answer = raw(
        &sandbox,
        &post_from_evil_page("/_sandbox/queues/good/messages", r#"{"body":"pwned"}"#),
    );
    assert_eq!(status_of(&answer), 403, "{answer}");
    assert!(
        answer.contains("--allow-origin https://evil.example"),
        "{answer}"
    );
    assert!(sandbox.peek("good").unwrap().is_empty(), "nothing was sent");

    // ... and one that used to move the clock a day.
    let answer = raw(
        &sandbox,
        &post_from_evil_page("/_sandbox/clock", r#"{"advance":"1d"}"#),
    );
    assert_eq!(status_of(&answer), 403, "{answer}");
    assert_eq!(sandbox.clock().unwrap()["now"], "2030-01-01T00:00:00Z");

    // The same body without an Origin, as text/plain: still refused (a browser's form
    // or `fetch` without CORS sends that type), with what to send instead.
    let answer = raw(
        &sandbox,
        "POST /_sandbox/clock HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n\
         Content-Length: 17\r\nConnection: close\r\n\r\n{\"advance\":\"1d\"}",
    );
    assert_eq!(status_of(&answer), 415, "{answer}");
    assert!(answer.contains("application/json"), "{answer}");

    // DNS rebinding: the page's own name, resolved to 127.0.0.1.
    let answer = raw(
        &sandbox,
        "GET /_sandbox/status HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status_of(&answer), 403, "{answer}");
    assert!(answer.contains("--allow-host evil.example"), "{answer}");
    assert!(
        !answer.contains("hardening"),
        "nothing of the app leaks: {answer}"
    );

    // No CORS door anywhere: not on answers, not on a preflight.
    let preflight = raw(
        &sandbox,
        "OPTIONS /_sandbox/clock HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://evil.example\r\n\
         Access-Control-Request-Method: POST\r\nConnection: close\r\n\r\n",
    );
    assert!(
        !preflight
            .to_ascii_lowercase()
            .contains("access-control-allow"),
        "{preflight}"
    );

    // The sandbox's own clients keep working: scripts (no Origin), same-origin pages.
    let moved = sandbox.advance("1h").unwrap();
    assert_eq!(moved["now"], "2030-01-01T01:00:00Z");
    let answer = raw(
        &sandbox,
        &format!(
            "POST /_sandbox/queues/good/messages HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\n\
             Content-Type: application/json\r\nContent-Length: 15\r\nConnection: close\r\n\r\n{{\"body\":\"mine\"}}",
            host = addr(&sandbox)
        ),
    );
    assert_eq!(status_of(&answer), 200, "{answer}");
    assert_eq!(sandbox.peek("good").unwrap().len(), 1);
    assert!(
        !answer.to_ascii_lowercase().contains("access-control-allow"),
        "{answer}"
    );
}

#[test]
fn allowed_hosts_and_origins_are_let_in() {
    let dir = tempfile::tempdir().unwrap();
    app(dir.path());
    let sandbox = start(
        dir.path(),
        &[
            "--allow-host",
            "devbox.lan",
            "--allow-origin",
            "https://tool.example",
        ],
    );
    let answer = raw(
        &sandbox,
        "GET /_sandbox/status HTTP/1.1\r\nHost: devbox.lan:3333\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status_of(&answer), 200, "{answer}");
    let answer = raw(
        &sandbox,
        "POST /_sandbox/queues/good/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://tool.example\r\n\
         Content-Type: application/json\r\nContent-Length: 12\r\nConnection: close\r\n\r\n{\"body\":\"t\"}",
    );
    assert_eq!(status_of(&answer), 200, "{answer}");
}

#[test]
fn head_on_a_get_route_answers_as_the_get_without_a_body() {
    let dir = tempfile::tempdir().unwrap();
    app(dir.path());
    let sandbox = start(dir.path(), &[]);
    let get = sandbox.get("/").unwrap();
    assert_eq!(get.status, 200);
    assert_eq!(get.text(), "hello");
    let head = raw(
        &sandbox,
        "HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status_of(&head), 200, "{head}");
    let (headers, body) = head.split_once("\r\n\r\n").unwrap();
    assert!(body.is_empty(), "HEAD has no body: {body:?}");
    assert!(
        headers.to_ascii_lowercase().contains("content-length: 5"),
        "{headers}"
    );
    // A route that is not there stays a 404 for HEAD too.
    // The control API too.
    let status = raw(
        &sandbox,
        "HEAD /_sandbox/status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status_of(&status), 200, "{status}");
    assert!(status.ends_with("\r\n\r\n"), "no body: {status}");
    let clock = raw(
        &sandbox,
        "HEAD /_sandbox/clock HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status_of(&clock), 200, "{clock}");
    let missing = raw(
        &sandbox,
        "HEAD /nope HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status_of(&missing), 404, "{missing}");
}

#[test]
fn a_client_trickling_its_headers_is_cut_off_and_blocks_nobody() {
    let dir = tempfile::tempdir().unwrap();
    app(dir.path());
    let sandbox = start(dir.path(), &["--header-timeout", "1s"]);
    let mut slow = TcpStream::connect(addr(&sandbox)).unwrap();
    slow.set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .unwrap();
    let started = Instant::now();
    let mut closed = false;
    // One header line every 100 ms; at most 10 s.
    for i in 0..100 {
        if slow
            .write_all(format!("X-Slow-{i}: a\r\n").as_bytes())
            .is_err()
        {
            closed = true;
            break;
        }
        let mut buf = [0u8; 512];
        match slow.read(&mut buf) {
            Ok(0) => {
                closed = true;
                break;
            }
            Ok(_) => {
                closed = true; // an error answer (408) then the close
                break;
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => {
                closed = true;
                break;
            }
        }
        // Everyone else is served meanwhile.
        assert_eq!(sandbox.get("/").unwrap().status, 200);
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(closed, "the trickling connection was never closed");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "closed only after {took:?}");
}

#[test]
fn idle_connections_over_the_cap_get_a_clear_503_and_others_are_served_again() {
    let dir = tempfile::tempdir().unwrap();
    app(dir.path());
    let sandbox = start(dir.path(), &["--max-connections", "50"]);
    let target = addr(&sandbox);
    // The harness's own pooled connection may hold a slot: fill the rest.
    let _ = sandbox.get("/").unwrap();
    let mut idle = Vec::new();
    let mut refused = None;
    for _ in 0..60 {
        let mut stream = TcpStream::connect(target).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut buf = [0u8; 512];
        match stream.read(&mut buf) {
            Ok(n) if n > 0 => {
                refused = Some(String::from_utf8_lossy(&buf[..n]).into_owned());
                break;
            }
            _ => idle.push(stream),
        }
    }
    let refused = refused.expect("a connection over the cap was refused");
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(refused.contains("--max-connections"), "{refused}");
    assert!(
        idle.len() >= 48,
        "{} idle connections were accepted",
        idle.len()
    );
    drop(idle);
    // Slots free up as the idle connections close.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = raw(
            &sandbox,
            "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        );
        if status_of(&answer) == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "never served again: {answer}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn thousands_of_idle_connections_do_not_stop_others_being_served() {
    let dir = tempfile::tempdir().unwrap();
    app(dir.path());
    let sandbox = start(dir.path(), &[]);
    let target = addr(&sandbox);
    raise_open_file_limit(4096);
    let idle: Vec<TcpStream> = (0..2000)
        .map(|_| TcpStream::connect(target).unwrap())
        .collect();
    let started = Instant::now();
    let answer = raw(
        &sandbox,
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status_of(&answer), 200, "{answer}");
    let status: Value = sandbox.status().unwrap();
    assert_eq!(status["app"], "hardening");
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(idle);
}
