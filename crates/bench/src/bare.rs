//! The baseline: the smallest reasonable hyper 1.x server answering `hello`.
//!
//! It runs as a child process of the bench binary (hidden `bare-server` subcommand)
//! rather than inside the benchmark's own runtime, so that — like the sandbox — it has
//! its own process, its own tokio runtime and its own scheduler, and the load client
//! never steals its worker threads. Settings mirror what a tuned server would use:
//! HTTP/1.1 keep-alive, `TCP_NODELAY`, a multi-thread runtime with two workers.

use std::convert::Infallible;

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// Serves `hello` on `127.0.0.1:<port>` until killed (port 0 picks a free one).
pub fn run(port: u16) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("building the bare server's runtime")?;
    runtime.block_on(serve(port))
}

async fn serve(port: u16) -> Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| format!("binding 127.0.0.1:{port}"))?;
    println!("listening on {}", listener.local_addr()?);
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Transient accept failures (e.g. out of file descriptors) must not stop
            // the baseline in the middle of a measurement.
            Err(err) => {
                eprintln!("bare-server: accept failed: {err}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        // Without NODELAY small responses can wait for Nagle/delayed-ACK (~40 ms).
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service_fn(hello))
                .await;
        });
    }
}

/// What SQS answers to `SendMessage` of the body `bench` (its MD5 is the real one, so a
/// client that checks digests accepts it): the `sqs` benchmark's baseline.
pub const CANNED_SEND: &[u8] = br#"{"MessageId":"5fea7756-0ea4-451a-a703-a558b933e274","MD5OfMessageBody":"1d28d258250876fb7dde22a17436ef9c"}"#;

async fn hello(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    // An AWS call (the `sqs` benchmark) gets the canned SendMessage answer; anything
    // else `hello`.
    if request.headers().contains_key("x-amz-target") {
        let mut response = Response::new(Full::new(Bytes::from_static(CANNED_SEND)));
        response.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/x-amz-json-1.0"),
        );
        return Ok(response);
    }
    Ok(Response::new(Full::new(Bytes::from_static(b"hello"))))
}
