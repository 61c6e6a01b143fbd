//! `GET /_sandbox/events`: server-sent events that tell an open dashboard to look again.
//!
//! Each stream watches three cheap numbers: the control plane's change count (it grows
//! when a service's state may have moved: a driver's round after a wake-up, an alarm
//! turning, a control request), the invocations finished (HTTP ones too), and which app
//! is loaded (a reload). Every [`POLL`] it compares them with what it last told; when they
//! moved it sends one small `changed` event and the page refetches what it shows through
//! the ordinary control API. Nothing is computed for a page that is not open, and
//! comparing three numbers costs the services nothing.
//!
//! Streams end when the client goes away or the server shuts down ([`Live::close`]), so a
//! graceful shutdown never waits on an open page.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE as CONTENT_TYPE_HEADER};
use http::Response;
use http_body_util::Either;
use hyper::body::Frame;
use tokio::sync::{mpsc, watch};

use super::Body;
use crate::Shared;

pub(crate) const CONTENT_TYPE: &str = "text/event-stream";

/// How often an open stream compares the numbers: the page's delay at most.
const POLL: Duration = Duration::from_millis(200);

/// A comment this often keeps proxies and the browser from thinking the stream died.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Ends every open event stream when the server shuts down.
pub(crate) struct Live {
    closing: watch::Sender<bool>,
}

impl Default for Live {
    fn default() -> Self {
        Live {
            closing: watch::Sender::new(false),
        }
    }
}

impl Live {
    pub(crate) fn close(&self) {
        self.closing.send_replace(true);
    }
}

/// The streamed body: chunks as the watching task sends them; ends when it stops.
pub(crate) struct EventStream {
    chunks: mpsc::Receiver<Bytes>,
}

impl hyper::body::Body for EventStream {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.chunks
            .poll_recv(cx)
            .map(|chunk| chunk.map(|bytes| Ok(Frame::data(bytes))))
    }
}

/// What the page shows may have changed when any of these moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fingerprint {
    changes: u64,
    finished: u64,
    app: usize,
}

fn fingerprint(shared: &Shared) -> Fingerprint {
    let app = shared.cell.load();
    Fingerprint {
        changes: shared.control.changes(),
        finished: app.finished(),
        app: Arc::as_ptr(&app) as usize,
    }
}

/// Starts a stream for one page.
pub(crate) fn stream(shared: &Arc<Shared>) -> Response<Body> {
    let (tx, chunks) = mpsc::channel(4);
    tokio::spawn(watch_changes(shared.clone(), tx));
    let mut response = Response::new(Either::Right(EventStream { chunks }));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE_HEADER, HeaderValue::from_static(CONTENT_TYPE));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn watch_changes(shared: Arc<Shared>, tx: mpsc::Sender<Bytes>) {
    let mut closing = shared.live.closing.subscribe();
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    // A dropped connection is retried by the browser after a second.
    if tx
        .send(Bytes::from_static(b"retry: 1000\n\n"))
        .await
        .is_err()
    {
        return;
    }
    let mut told: Option<Fingerprint> = None;
    let mut sent = 0u64;
    let mut quiet = Duration::ZERO;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = closing.wait_for(|closing| *closing) => return,
            () = tx.closed() => return,
        }
        let now = fingerprint(&shared);
        let chunk = if told != Some(now) {
            told = Some(now);
            sent += 1;
            quiet = Duration::ZERO;
            Bytes::from(format!("event: changed\ndata: {sent}\n\n"))
        } else {
            quiet += POLL;
            if quiet < KEEP_ALIVE {
                continue;
            }
            quiet = Duration::ZERO;
            Bytes::from_static(b": still here\n\n")
        };
        if tx.send(chunk).await.is_err() {
            return;
        }
    }
}
