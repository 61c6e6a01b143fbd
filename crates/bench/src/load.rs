//! The HTTP load client, identical for every target so their numbers compare.
//!
//! A closed-loop client: each of N keep-alive HTTP/1.1 connections is a task that
//! sends a request, waits for the whole response, records the latency and sends the
//! next one. That measures what a single caller sees (latency at 1 connection) and
//! what the server sustains under concurrency (throughput at 64), without the
//! coordinated-omission questions an open-loop rate would add.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::stats::LatencySummary;

/// How long a single request may take before the client gives up on it; generous,
/// because a first request may include compiling the handler.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// One load measurement against one target.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    pub addr: SocketAddr,
    pub path: String,
    pub connections: usize,
    /// Requests during the warm-up are sent but not recorded.
    pub warmup: Duration,
    pub duration: Duration,
}

/// What one measurement observed.
#[derive(Debug, Clone, Default)]
pub struct LoadResult {
    /// Successful (200) responses completed inside the measured window.
    pub requests: u64,
    /// Failed connects, failed requests and non-200 responses, warm-up included.
    pub errors: u64,
    pub duration: Duration,
    pub latency: LatencySummary,
}

impl LoadResult {
    pub fn requests_per_sec(&self) -> f64 {
        let secs = self.duration.as_secs_f64();
        if secs > 0.0 {
            self.requests as f64 / secs
        } else {
            0.0
        }
    }
}

/// Runs `config.connections` request loops concurrently and merges their samples.
pub async fn run(config: &LoadConfig) -> Result<LoadResult> {
    let measure_from = Instant::now() + config.warmup;
    let until = measure_from + config.duration;
    let tasks: Vec<_> = (0..config.connections.max(1))
        .map(|_| {
            let addr = config.addr;
            let path = config.path.clone();
            tokio::spawn(connection_loop(addr, path, measure_from, until))
        })
        .collect();

    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let stats = task.await.context("a load connection task panicked")?;
        latencies.extend_from_slice(&stats.latencies);
        errors += stats.errors;
    }
    Ok(LoadResult {
        requests: latencies.len() as u64,
        errors,
        duration: config.duration,
        latency: LatencySummary::from_nanos(&mut latencies),
    })
}

#[derive(Default)]
struct ConnectionStats {
    latencies: Vec<u64>,
    errors: u64,
}

async fn connection_loop(
    addr: SocketAddr,
    path: String,
    measure_from: Instant,
    until: Instant,
) -> ConnectionStats {
    let mut stats = ConnectionStats::default();
    let host = addr.to_string();
    let mut sender: Option<SendRequest<Empty<Bytes>>> = None;
    while Instant::now() < until {
        if sender.is_none() {
            match connect(addr).await {
                Ok(fresh) => sender = Some(fresh),
                Err(_) => {
                    stats.errors += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let Some(current) = sender.as_mut() else {
            continue;
        };
        let started = Instant::now();
        let outcome = tokio::time::timeout(REQUEST_TIMEOUT, request(current, &host, &path)).await;
        let finished = Instant::now();
        match outcome {
            Ok(Ok(StatusCode::OK)) => {
                // Only requests entirely inside the window count, so the warm-up and
                // the tail after the deadline do not skew either number.
                if started >= measure_from && finished <= until {
                    stats
                        .latencies
                        .push(u64::try_from((finished - started).as_nanos()).unwrap_or(u64::MAX));
                }
            }
            Ok(Ok(_)) => stats.errors += 1,
            Ok(Err(_)) | Err(_) => {
                stats.errors += 1;
                // The connection may be unusable; start a fresh one.
                sender = None;
            }
        }
    }
    stats
}

/// Opens one keep-alive HTTP/1.1 connection; its driver runs as a separate task.
async fn connect(addr: SocketAddr) -> Result<SendRequest<Empty<Bytes>>> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

/// Sends `GET path` and reads the whole body, returning the status.
async fn request(
    sender: &mut SendRequest<Empty<Bytes>>,
    host: &str,
    path: &str,
) -> Result<StatusCode> {
    sender.ready().await?;
    let request = Request::get(path)
        .header(hyper::header::HOST, host)
        .body(Empty::new())?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    response.into_body().collect().await?;
    Ok(status)
}

/// One request on a fresh connection: used to poll for readiness and first response.
pub async fn probe(addr: SocketAddr, path: &str) -> Result<StatusCode> {
    let attempt = async {
        let mut sender = connect(addr).await?;
        request(&mut sender, &addr.to_string(), path).await
    };
    tokio::time::timeout(REQUEST_TIMEOUT, attempt)
        .await
        .with_context(|| format!("GET {path} on {addr} timed out"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny in-process server so the client can be tested without child processes.
    async fn start_server(status: StatusCode) -> SocketAddr {
        use hyper::server::conn::http1 as server;
        use hyper::service::service_fn;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let service = service_fn(move |_req| async move {
                        let mut response =
                            hyper::Response::new(http_body_util::Full::new(Bytes::from("hi")));
                        *response.status_mut() = status;
                        Ok::<_, std::convert::Infallible>(response)
                    });
                    let _ = server::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        addr
    }

    fn config(addr: SocketAddr, connections: usize) -> LoadConfig {
        LoadConfig {
            addr,
            path: "/".into(),
            connections,
            warmup: Duration::from_millis(50),
            duration: Duration::from_millis(200),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn measures_requests_and_latency() {
        let addr = start_server(StatusCode::OK).await;
        let result = run(&config(addr, 4)).await.unwrap();
        assert!(result.requests > 10, "only {} requests", result.requests);
        assert_eq!(result.errors, 0);
        assert_eq!(result.latency.count as u64, result.requests);
        assert!(result.latency.p50 <= result.latency.p99);
        assert!(result.requests_per_sec() > 0.0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn counts_non_200_as_errors() {
        let addr = start_server(StatusCode::INTERNAL_SERVER_ERROR).await;
        let result = run(&config(addr, 1)).await.unwrap();
        assert_eq!(result.requests, 0);
        assert!(result.errors > 0);
    }

    #[tokio::test]
    async fn probe_reports_status_and_refusal() {
        let addr = start_server(StatusCode::OK).await;
        assert_eq!(probe(addr, "/").await.unwrap(), StatusCode::OK);
        let closed = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap()
        };
        assert!(probe(closed, "/").await.is_err());
    }
}
