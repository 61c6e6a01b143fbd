//! `GET /_sandbox/events`: server-sent events that tell an open dashboard to look again.
//!
//! Each stream watches cheap numbers: the control plane's change count (it grows when a
//! service's state may have moved: a driver's round after a wake-up, an alarm turning, a
//! control request), the invocations finished (HTTP ones too), which app is loaded (a
//! reload), and how often [`Live`] was woken. When they moved it sends one small
//! `changed` event and the page refetches what it shows through the ordinary control API.
//!
//! It looks when woken, not on a fast timer: every invocation recorded (an observer on
//! the app's invocation log, which reloaded apps share) and every control-API change or
//! AWS API call the server answered ([`Live::touched`]) wakes the open streams. After
//! telling, it looks once more [`FOLLOW_UP`] later, for what settles just after (a
//! delivery is settled after its invocation is recorded) and to coalesce a burst into
//! one event per [`FOLLOW_UP`]. What nothing wakes it for (a driver's own change without
//! an invocation, such as an expiry; an alarm turning; a reload) is seen by the
//! [`FALLBACK`] look: the control plane offers no wake-up of its own. An idle page costs
//! one look a second.
//!
//! Streams end when the client goes away or the server shuts down ([`Live::close`]), so a
//! graceful shutdown never waits on an open page.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Once};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE as CONTENT_TYPE_HEADER};
use http::Response;
use http_body_util::Either;
use hyper::body::Frame;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::Body;
use crate::Shared;

pub(crate) const CONTENT_TYPE: &str = "text/event-stream";

/// How soon after telling a stream looks again (and so at most how often it tells).
const FOLLOW_UP: Duration = Duration::from_millis(200);

/// How often an idle stream looks anyway, for changes nothing woke it for: the page's
/// delay at most for those.
const FALLBACK: Duration = Duration::from_secs(1);

/// Counts a wake-up, only while a page listens: the server calls this on every AWS call
/// and the invocation log on every invocation, so with no dashboard open it must cost
/// no more than a load (a stream opened later starts from the count as it is).
fn wake(woken: &watch::Sender<u64>) {
    if woken.receiver_count() > 0 {
        woken.send_modify(|n| *n += 1);
    }
}

/// A comment this often keeps proxies and the browser from thinking the stream died.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Wakes open event streams when something changed, and ends them all when the server
/// shuts down.
pub(crate) struct Live {
    closing: watch::Sender<bool>,
    /// How often it was woken: invocations recorded (from the first stream on), control
    /// and AWS API calls answered.
    woken: Arc<watch::Sender<u64>>,
    observing: Once,
}

impl Default for Live {
    fn default() -> Self {
        Live {
            closing: watch::Sender::new(false),
            woken: Arc::new(watch::Sender::new(0)),
            observing: Once::new(),
        }
    }
}

impl Live {
    pub(crate) fn close(&self) {
        self.closing.send_replace(true);
    }

    /// The server answered a call that may have changed what the page shows (a control
    /// request other than a read, an AWS API call): open streams look now.
    pub(crate) fn touched(&self) {
        wake(&self.woken);
    }

    /// From the first open page on, every invocation recorded wakes the streams (the log
    /// is shared by every app a reload makes, so once is enough).
    fn observe(&self, shared: &Shared) {
        self.observing.call_once(|| {
            let woken = self.woken.clone();
            shared
                .cell
                .load()
                .invocations()
                .observe(Arc::new(move |_| wake(&woken)));
        });
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
    /// Wake-ups: an invocation is recorded a moment before `finished` moves, so a wake-up
    /// tells even before the other numbers move.
    woken: u64,
}

fn fingerprint(shared: &Shared, woken: &mut watch::Receiver<u64>) -> Fingerprint {
    let app = shared.cell.load();
    Fingerprint {
        changes: shared.control.changes(),
        finished: app.finished(),
        app: Arc::as_ptr(&app) as usize,
        woken: *woken.borrow_and_update(),
    }
}

/// Starts a stream for one page.
pub(crate) fn stream(shared: &Arc<Shared>) -> Response<Body> {
    let (tx, chunks) = mpsc::channel(4);
    shared.live.observe(shared);
    tokio::spawn(watch_changes(shared.clone(), tx));
    let mut response = Response::new(Either::Right(EventStream { chunks }));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE_HEADER, HeaderValue::from_static(CONTENT_TYPE));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn watch_changes(shared: Arc<Shared>, tx: mpsc::Sender<Bytes>) {
    let mut closing = shared.live.closing.subscribe();
    let mut woken = shared.live.woken.subscribe();
    let mut fallback = tokio::time::interval(FALLBACK);
    fallback.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
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
    let mut last_chunk = Instant::now();
    // Whether the last look told: then the next comes FOLLOW_UP later, woken or not.
    let mut telling = false;
    loop {
        if telling {
            tokio::select! {
                () = tokio::time::sleep(FOLLOW_UP) => {}
                _ = closing.wait_for(|closing| *closing) => return,
                () = tx.closed() => return,
            }
        } else {
            tokio::select! {
                _ = fallback.tick() => {}
                changed = woken.changed() => if changed.is_err() { return },
                _ = closing.wait_for(|closing| *closing) => return,
                () = tx.closed() => return,
            }
        }
        let now = fingerprint(&shared, &mut woken);
        telling = told != Some(now);
        let chunk = if telling {
            told = Some(now);
            sent += 1;
            Bytes::from(format!("event: changed\ndata: {sent}\n\n"))
        } else if last_chunk.elapsed() >= KEEP_ALIVE {
            Bytes::from_static(b": still here\n\n")
        } else {
            continue;
        };
        last_chunk = Instant::now();
        if tx.send(chunk).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use sandbox_app::{App, BuildOptions, InvocationRecord, Outcome, Trigger};
    use sandbox_runtime::{Runtime, RuntimeConfig};

    use super::*;

    async fn app(dir: &Path, runtime: &Runtime) -> App {
        std::fs::write(dir.join("app.arc"), "@app\nquiet\n").unwrap();
        let manifest = sandbox_manifest::load(dir).unwrap_or_else(|e| panic!("{e:?}"));
        let options = BuildOptions {
            target_dir: dir.join("target"),
            skip: true,
            endpoint: None,
        };
        App::load(manifest, runtime.clone(), &options).await
    }

    fn record() -> InvocationRecord {
        InvocationRecord {
            function: "f".into(),
            trigger: Trigger::Queue,
            request_id: "r".into(),
            outcome: Outcome::Success,
            error: None,
            duration_ms: 1.0,
            started_at: chrono::Utc::now(),
            logs: Vec::new(),
            event: None,
            response: None,
        }
    }

    async fn next(body: &mut EventStream) -> String {
        let chunk = body.chunks.recv().await.expect("the stream goes on");
        String::from_utf8(chunk.to_vec()).unwrap()
    }

    /// On tokio's paused clock: time moves only when every task waits on a timer, so
    /// "no time passed" means a wake-up, not a timer, sent the event.
    #[tokio::test(start_paused = true)]
    async fn an_invocation_or_a_call_wakes_an_idle_stream_at_once_and_a_reload_shows_by_the_fallback(
    ) {
        let dir = tempfile::tempdir().unwrap();
        let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
        let cell = crate::app_cell(app(dir.path(), &runtime).await);
        let reloaded = app(dir.path(), &runtime).await;
        let shared = Arc::new(Shared::new(
            cell.clone(),
            Arc::new(crate::NoControlPlane),
            None,
            Arc::new(crate::Policy::default()),
        ));
        let Either::Right(mut body) = stream(&shared).into_body() else {
            panic!("the events answer is a stream");
        };
        assert_eq!(next(&mut body).await, "retry: 1000\n\n");
        assert_eq!(next(&mut body).await, "event: changed\ndata: 1\n\n");

        // Idle (past the follow-up look, between any two of a poller's looks), then a
        // delivery's invocation is recorded.
        tokio::time::sleep(FOLLOW_UP * 3 / 2).await;
        let idle = Instant::now();
        cell.load().invocations().push(record());
        assert_eq!(next(&mut body).await, "event: changed\ndata: 2\n\n");
        assert_eq!(idle.elapsed(), Duration::ZERO, "woken, not polled");

        // So does a control request the server answered.
        tokio::time::sleep(FOLLOW_UP * 3 / 2).await;
        let idle = Instant::now();
        shared.live.touched();
        assert_eq!(next(&mut body).await, "event: changed\ndata: 3\n\n");
        assert_eq!(idle.elapsed(), Duration::ZERO, "woken, not polled");

        // A reload wakes nothing: the fallback look tells it.
        tokio::time::sleep(FOLLOW_UP * 3 / 2).await;
        let idle = Instant::now();
        cell.store(Arc::new(reloaded));
        assert_eq!(next(&mut body).await, "event: changed\ndata: 4\n\n");
        assert!(idle.elapsed() <= FALLBACK, "{:?}", idle.elapsed());

        shared.live.close();
        assert!(body.chunks.recv().await.is_none(), "ended at shutdown");
    }
}
