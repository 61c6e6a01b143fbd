//! The server over a real socket with a real (tiny, `.wat`) app: routing, the event
//! reaching the handler, response mapping, failures, static files, control API,
//! hot swap of the app and graceful shutdown.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sandbox_app::{App, BuildOptions};
use sandbox_runtime::{Runtime, RuntimeConfig};
use sandbox_server::{app_cell, NoControlPlane, Server, ServerConfig};
use serde_json::{json, Value};

/// Copies stdin to stdout: answers with the event it received (inferred JSON).
const ECHO: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "_start")
    (local $n i32)
    (block $done
      (loop $more
        (i32.store (i32.const 0) (i32.const 1024))
        (i32.store (i32.const 4) (i32.const 65536))
        (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
        (local.set $n (i32.load (i32.const 8)))
        (br_if $done (i32.eqz (local.get $n)))
        (i32.store (i32.const 4) (local.get $n))
        (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 12)))
        (br $more)))))"#;

fn printing(text: &str) -> String {
    let escaped: String = text.bytes().map(|b| format!("\\{b:02x}")).collect();
    format!(
        r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "{escaped}")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const {len}))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#,
        len = text.len()
    )
}

/// Spins for a while (hundreds of millions of iterations), then answers `"done"`.
const SLOW: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "\"done\"")
  (func (export "_start")
    (local $i i32)
    (local.set $i (i32.const 300000000))
    (loop $spin
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (br_if $spin (i32.ne (local.get $i) (i32.const 0))))
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 6))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;

const TRAP: &str = r#"(module (memory (export "memory") 1) (func (export "_start") unreachable))"#;

fn write(root: &Path, relative: &str, contents: &str) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
}

fn project(dir: &Path, hello: &str) {
    write(
        dir,
        "app.arc",
        "@app\nserve-test\n\n@http\nany /echo/*\nget /users/:id\nget /hello\nget /bad\nget /trap\nget /slow\n",
    );
    write(dir, "src/http/any-echo-catchall/handler.wat", ECHO);
    write(dir, "src/http/get-users-000id/handler.wat", ECHO);
    write(
        dir,
        "src/http/get-hello/handler.wat",
        &printing(&format!(
            r#"{{"statusCode":201,"headers":{{"x-test":"yes"}},"cookies":["a=1","b=2"],"body":"{hello}"}}"#
        )),
    );
    write(
        dir,
        "src/http/get-bad/handler.wat",
        &printing("this is not json"),
    );
    write(dir, "src/http/get-trap/handler.wat", TRAP);
    write(dir, "src/http/get-slow/handler.wat", SLOW);
    write(dir, "public/index.html", "<h1>home</h1>");
    write(dir, "public/css/site.css", "body{}");
    write(dir, "secret.txt", "top secret");
}

async fn load(dir: &Path, runtime: &Runtime) -> App {
    let manifest = sandbox_manifest::load(dir).unwrap_or_else(|e| panic!("{e:?}"));
    let options = BuildOptions {
        target_dir: dir.join("target"),
        skip: true,
        endpoint: None,
    };
    App::load(manifest, runtime.clone(), &options).await
}

struct Reply {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Vec<String> {
        self.head
            .lines()
            .skip(1)
            .filter_map(|line| line.split_once(':'))
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
            .collect()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }
}

/// One request on its own connection, sent byte for byte as given.
fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    stream.write_all(request.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    Reply {
        status,
        head,
        body: raw[split + 4..].to_vec(),
    }
}

fn get(addr: SocketAddr, path: &str) -> Reply {
    send(addr, "GET", path, &[], b"")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_an_app_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path(), "first");
    let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
    let cell = app_cell(load(dir.path(), &runtime).await);

    let config = ServerConfig {
        port: 0,
        ..ServerConfig::default()
    };
    let (server, addr) = Server::bind(&config).await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(cell.clone(), Arc::new(NoControlPlane), async {
        let _ = stopped.await;
    }));

    let checks = tokio::task::spawn_blocking(move || {
        // The event the handler sees.
        let reply = send(
            addr,
            "POST",
            "/echo/a%20b/c?x=1&x=2",
            &[
                ("content-type", "application/json"),
                ("cookie", "k=v"),
                ("x-dup", "1"),
                ("x-dup", "2"),
            ],
            b"{\"n\":1}",
        );
        assert_eq!(reply.status, 200, "{}", reply.head);
        assert_eq!(reply.header("content-type"), ["application/json"]);
        let request_id = reply
            .header("apigw-requestid")
            .pop()
            .expect("apigw-requestid");
        let event = reply.json();
        assert_eq!(event["routeKey"], "ANY /echo/{proxy+}");
        assert_eq!(event["rawPath"], "/echo/a%20b/c");
        assert_eq!(event["rawQueryString"], "x=1&x=2");
        assert_eq!(event["pathParameters"], json!({"proxy": "a b/c"}));
        assert_eq!(event["queryStringParameters"], json!({"x": "1,2"}));
        assert_eq!(event["cookies"], json!(["k=v"]));
        assert_eq!(event["headers"]["x-dup"], "1,2");
        assert_eq!(
            event["headers"]["x-forwarded-port"],
            addr.port().to_string()
        );
        assert_eq!(event["body"], "{\"n\":1}");
        assert_eq!(event["requestContext"]["requestId"], request_id.as_str());
        assert_eq!(event["requestContext"]["http"]["sourceIp"], "127.0.0.1");
        assert_eq!(event["requestContext"]["domainName"], "localhost");

        let event = get(addr, "/users/42").json();
        assert_eq!(event["pathParameters"], json!({"id": "42"}));
        assert_eq!(event["routeKey"], "GET /users/{id}");

        // Structured response.
        let reply = get(addr, "/hello");
        assert_eq!(reply.status, 201);
        assert_eq!(reply.body, b"first");
        assert_eq!(reply.header("x-test"), ["yes"]);
        assert_eq!(reply.header("set-cookie"), ["a=1", "b=2"]);
        assert_eq!(reply.header("content-type"), ["text/plain; charset=utf-8"]);

        // Failures are 502 with the request id, and the daemon keeps serving.
        for path in ["/bad", "/trap"] {
            let reply = get(addr, path);
            assert_eq!(reply.status, 502, "{path}");
            let body = reply.json();
            assert_eq!(body["message"], "Internal Server Error");
            assert_eq!(
                body["requestId"].as_str(),
                reply.header("apigw-requestid").first().map(String::as_str)
            );
        }

        // Static files as the fallback for GET/HEAD only.
        let reply = get(addr, "/");
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body, b"<h1>home</h1>");
        assert_eq!(
            get(addr, "/css/site.css").header("content-type"),
            ["text/css; charset=utf-8"]
        );
        let reply = send(addr, "HEAD", "/css/site.css", &[], b"");
        assert_eq!(reply.status, 200);
        assert!(reply.body.is_empty());
        assert_eq!(send(addr, "POST", "/css/site.css", &[], b"").status, 404);
        for path in [
            "/../secret.txt",
            "/%2e%2e/secret.txt",
            "/css/..%2f..%2fsecret.txt",
            "/..%5csecret.txt",
        ] {
            let reply = get(addr, path);
            assert_eq!(reply.status, 404, "{path}");
            assert_eq!(reply.json(), json!({"message": "Not Found"}));
        }

        // Wrong method on a route, no route at all: API Gateway's 404.
        assert_eq!(send(addr, "DELETE", "/hello", &[], b"").status, 404);
        assert_eq!(
            get(addr, "/echo").status,
            404,
            "a catch-all needs something after its prefix"
        );

        // Too large, by declaration.
        let mut stream = TcpStream::connect(addr).unwrap();
        write!(
            stream,
            "POST /echo/x HTTP/1.1\r\nhost: x\r\ncontent-length: 7000000\r\n\r\n"
        )
        .unwrap();
        let mut head = [0u8; 256];
        let n = stream.read(&mut head).unwrap();
        let head = String::from_utf8_lossy(&head[..n]).to_string();
        assert!(head.starts_with("HTTP/1.1 413"), "{head}");
        assert!(head.contains("Request Entity Too Large"), "{head}");

        // Control API.
        let status = get(addr, "/_sandbox/status").json();
        assert_eq!(status["app"], "serve-test");
        let recent = get(addr, "/_sandbox/invocations?function=get-hello&limit=1").json();
        assert_eq!(recent.as_array().map(Vec::len), Some(1), "{recent}");
        assert_eq!(recent[0]["function"], "http/get-hello");
        assert_eq!(get(addr, "/_sandbox/invocations?function=nope").status, 404);
        assert_eq!(get(addr, "/_sandbox/invocations?limit=zero").status, 400);
        let reply = send(addr, "POST", "/_sandbox/status", &[], b"");
        assert_eq!(reply.status, 405);
        assert!(reply.json()["error"].is_string());
        let reply = get(addr, "/_sandbox/nothing");
        assert_eq!(reply.status, 404);
        assert!(reply.json()["endpoints"].is_array());
    });
    checks.await.unwrap();

    // A hot swap: new requests see the new app (and its freshly built router).
    project(dir.path(), "second");
    cell.store(Arc::new(load(dir.path(), &runtime).await));
    let reply = tokio::task::spawn_blocking(move || get(addr, "/hello"))
        .await
        .unwrap();
    assert_eq!(reply.body, b"second");

    // Keep-alive: several requests on one connection.
    let pipelined = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut answers = 0;
        let mut buffer = [0u8; 4096];
        for _ in 0..3 {
            stream
                .write_all(b"GET /hello HTTP/1.1\r\nhost: x\r\n\r\n")
                .unwrap();
            let n = stream.read(&mut buffer).unwrap();
            if String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 201") {
                answers += 1;
            }
        }
        answers
    })
    .await
    .unwrap();
    assert_eq!(pipelined, 3);

    // Graceful shutdown returns and stops accepting.
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), serving)
        .await
        .expect("shutdown completes")
        .unwrap()
        .unwrap();
    assert!(TcpStream::connect(addr).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_requests_in_flight_finish() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path(), "x");
    let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
    let cell = app_cell(load(dir.path(), &runtime).await);
    let (server, addr) = Server::bind(&ServerConfig {
        port: 0,
        ..ServerConfig::default()
    })
    .await
    .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(cell, Arc::new(NoControlPlane), async {
        let _ = stopped.await;
    }));
    let started = std::time::Instant::now();
    let slow = tokio::task::spawn_blocking(move || get(addr, "/slow"));
    // Let the request reach the handler, then ask for shutdown while it runs.
    tokio::time::sleep(Duration::from_millis(50)).await;
    stop.send(()).unwrap();
    let reply = slow.await.unwrap();
    assert_eq!(reply.status, 200, "{}", reply.head);
    assert_eq!(reply.body, b"done");
    tokio::time::timeout(Duration::from_secs(10), serving)
        .await
        .expect("shutdown completes")
        .unwrap()
        .unwrap();
    println!("slow request took {:?}", started.elapsed());
}

#[tokio::test]
async fn port_in_use_says_so() {
    let (_first, addr) = Server::bind(&ServerConfig {
        port: 0,
        ..ServerConfig::default()
    })
    .await
    .unwrap();
    let err = match Server::bind(&ServerConfig {
        port: addr.port(),
        ..ServerConfig::default()
    })
    .await
    {
        Ok(_) => panic!("second bind should fail"),
        Err(err) => err.to_string(),
    };
    assert!(
        err.contains("already in use") && err.contains("--port"),
        "{err}"
    );
}

/// Rough latency of the whole path (one keep-alive connection, a trivial handler);
/// run with `cargo test --release -p sandbox-server --test serve -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check"]
async fn latency_smoke() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path(), "hi");
    let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
    let cell = app_cell(load(dir.path(), &runtime).await);
    let (server, addr) = Server::bind(&ServerConfig {
        port: 0,
        ..ServerConfig::default()
    })
    .await
    .unwrap();
    tokio::spawn(server.serve(cell, Arc::new(NoControlPlane), std::future::pending()));
    let report = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.set_nodelay(true).unwrap();
        let mut buffer = [0u8; 4096];
        let mut samples = Vec::new();
        for path in ["/hello", "/users/1", "/css/site.css"] {
            samples.clear();
            for i in 0..3000 {
                let started = std::time::Instant::now();
                write!(
                    stream,
                    "GET {path} HTTP/1.1\r\nhost: x\r\nuser-agent: bench\r\n\r\n"
                )
                .unwrap();
                let n = stream.read(&mut buffer).unwrap();
                assert!(n > 0);
                if i >= 200 {
                    samples.push(started.elapsed());
                }
            }
            samples.sort();
            println!(
                "{path}: p50 {:?} p99 {:?}",
                samples[samples.len() / 2],
                samples[samples.len() * 99 / 100]
            );
        }
    });
    report.await.unwrap();
}
