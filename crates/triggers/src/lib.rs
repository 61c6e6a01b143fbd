//! The services behind every trigger other than HTTP, and their front ends.
//!
//! - A driver per service (`schedules`, `queues`, `topics`, `buses`, `streams`) around a
//!   state machine from `sandbox-services`: it reads the sandbox [`Clock`], asks the state
//!   machine what is due, builds the exact AWS event and calls
//!   [`App::invoke`](sandbox_app::App::invoke). Drivers are the only place where tokio
//!   meets the services. `driver` holds the one `Driver` trait every service implements
//!   (reconfigure, pending, has_due, one round of work) and the one loop that runs them;
//!   `lock`, `invoke` and `lambda_async` are the pieces the drivers share.
//! - Front ends over the same services, speaking the typed operations of `sandbox-ops`:
//!   [`control`] (the `/_sandbox` router table) and `host` (handlers' `sandbox.call`),
//!   both answered by the per-service modules in `api`.
//! - [`drain`]: waiting until nothing is running and nothing is due anywhere.
//! - [`Triggers`]: owns the clock and the drivers (walked as a list for drain and
//!   reload); swaps in a reloaded app.

mod activity;
mod alarms;
mod api;
pub mod buses;
pub mod control;
pub mod drain;
mod driver;
mod host;
mod invoke;
mod lambda_async;
mod lock;
pub mod metrics;
mod queue_store;
pub mod queues;
mod recursion;
mod reload;
pub mod remote;
pub mod schedules;
pub mod streams;
pub mod topics;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sandbox_app::App;
use sandbox_services::{parse_duration, Clock};

use driver::{Context, Drivers};

pub use activity::Activity;
pub use alarms::AlarmService;
pub use api::queues::send_request;
pub use buses::BusService;
pub use drain::DrainReport;
pub use metrics::Metrics;
pub use queue_store::Restored;
pub use queues::QueueService;
pub use schedules::{ScheduleView, Schedules};
pub use streams::StreamService;
pub use topics::TopicService;

pub use sandbox_app::AppCell;

pub use sandbox_ops::clock::ClockView;
pub use sandbox_ops::control::ControlError;

/// The sandbox's drivers and the clock they share.
pub struct Triggers {
    app: AppCell,
    clock: Clock,
    activity: Arc<Activity>,
    /// Every service's driver, for drain and reload; the typed handles below are the
    /// same services as the control API and handlers reach them.
    drivers: Drivers,
    schedules: Schedules,
    queues: QueueService,
    topics: TopicService,
    buses: BusService,
    streams: StreamService,
    /// With `--state`: where the manual clock's moves are recorded.
    state: Option<Arc<sandbox_state::Store>>,
    alarms: AlarmService,
    metrics: Arc<Metrics>,
    /// Resources that live in AWS (`remote` entries), when any are registered.
    remote: remote::Slot,
}

impl Triggers {
    /// Starts every driver for the app in `cell`. Must run inside a tokio runtime.
    pub fn start(app: AppCell, clock: Clock) -> Result<Arc<Triggers>, String> {
        Ok(Triggers::start_with(app, clock, None)?.0)
    }

    /// Like [`Triggers::start`], keeping state in `dir` (`--state DIR`): what it holds is
    /// restored, reconciled with the manifest as a reload would, and every acknowledged
    /// change is written there before it is answered. Says what was restored.
    pub fn start_durable(
        app: AppCell,
        clock: Clock,
        dir: &std::path::Path,
    ) -> Result<(Arc<Triggers>, Restored), String> {
        let store = sandbox_state::Store::open(dir).map_err(|e| e.to_string())?;
        // A manual clock goes on from where it stood, so stored deadlines keep their meaning.
        let stored_clock = store.clock().map_err(|e| e.to_string())?;
        let clock_restored = match stored_clock {
            Some(at) if clock.is_manual() && at > clock.now() => {
                clock.set(at).map_err(|e| e.to_string())?;
                Some(at)
            }
            _ => None,
        };
        let state = Some((Arc::new(store), dir.to_path_buf()));
        let (triggers, restored) = Triggers::start_with(app, clock, state)?;
        let mut restored = restored.unwrap_or_default();
        restored.clock = clock_restored;
        Ok((triggers, restored))
    }

    fn start_with(
        app: AppCell,
        clock: Clock,
        state: Option<(Arc<sandbox_state::Store>, std::path::PathBuf)>,
    ) -> Result<(Arc<Triggers>, Option<Restored>), String> {
        let cx = Context {
            app,
            clock,
            activity: Arc::new(Activity::default()),
            metrics: Arc::new(Metrics::default()),
        };
        let metrics = cx.metrics.clone();
        cx.app
            .load()
            .invocations()
            .observe(Arc::new(move |record| metrics.invoked(record)));
        let mut drivers = Drivers::default();
        // In the order reloads reconfigure them: topics, buses and streams hand work to
        // queues (subscribers, targets, on-failure destinations), so queues come first.
        let store = state.as_ref().map(|(store, _)| store.clone());
        // Streams and schedules share one writer; queues keep their own.
        let committer = store
            .as_ref()
            .map(|s| Arc::new(sandbox_state::Committer::start(s.clone())));
        let durable = || store.as_deref().zip(committer.clone());
        let (schedules, resumed) = Schedules::start(&cx, &mut drivers, durable())?;
        let (queues, restored) = QueueService::start(&cx, &mut drivers, state)?;
        let (topics, retries) = TopicService::start(&cx, &mut drivers, &queues, durable())?;
        let (buses, bus_retries) =
            BusService::start(&cx, &mut drivers, &queues, &topics, durable())?;
        let (streams, streams_restored) =
            StreamService::start(&cx, &mut drivers, &queues, &topics, durable())?;
        let restored = restored.map(|mut r| {
            r.streams = streams_restored.unwrap_or_default();
            r.schedules = resumed;
            r.retries = retries.retries + bus_retries.retries;
            r.topics = retries;
            r.buses = bus_retries;
            r
        });
        let alarms = AlarmService::start(&cx, &mut drivers, &queues, &streams);
        drivers.spawn();
        let triggers = Arc::new(Triggers {
            app: cx.app,
            clock: cx.clock,
            activity: cx.activity,
            drivers,
            schedules,
            queues,
            topics,
            buses,
            streams,
            state: store,
            alarms,
            metrics: cx.metrics,
            remote: remote::Slot::default(),
        });
        triggers.connect(&triggers.app.load());
        Ok((triggers, restored))
    }

    pub fn clock(&self) -> ClockView {
        ClockView {
            now: sandbox_services::rfc3339_auto(self.clock.now()),
            mode: if self.clock.is_manual() {
                "manual"
            } else {
                "system"
            }
            .to_string(),
        }
    }

    /// Moves the clock forward by a duration such as `1h` or `1d12h`. Everything that
    /// becomes due fires, in time order.
    pub fn advance(&self, by: &str) -> Result<ClockView, ControlError> {
        let by = parse_duration(by).map_err(|e| ControlError::bad_request(e.to_string()))?;
        self.clock
            .advance(by)
            .map_err(|e| ControlError::bad_request(e.to_string()))?;
        self.save_clock()?;
        self.activity.clock_moved();
        Ok(self.clock())
    }

    /// Sets the clock to an RFC 3339 time (never backwards).
    pub fn set(&self, to: &str) -> Result<ClockView, ControlError> {
        let to = DateTime::parse_from_rfc3339(to)
            .map_err(|e| {
                ControlError::bad_request(format!(
                    "`{to}` is not an RFC 3339 time ({e}); e.g. 2030-01-01T00:00:00Z"
                ))
            })?
            .with_timezone(&Utc);
        self.clock
            .set(to)
            .map_err(|e| ControlError::bad_request(e.to_string()))?;
        self.save_clock()?;
        self.activity.clock_moved();
        Ok(self.clock())
    }

    /// With `--state` and a manual clock: records where it stands before answering.
    fn save_clock(&self) -> Result<(), ControlError> {
        match &self.state {
            Some(store) if self.clock.is_manual() => {
                store
                    .save_clock(self.clock.now())
                    .map_err(|e| ControlError {
                        status: 503,
                        message: e.to_string(),
                    })
            }
            _ => Ok(()),
        }
    }

    pub fn schedules(&self) -> &Schedules {
        &self.schedules
    }

    pub fn queues(&self) -> &QueueService {
        &self.queues
    }

    pub fn topics(&self) -> &TopicService {
        &self.topics
    }

    pub fn buses(&self) -> &BusService {
        &self.buses
    }

    pub fn streams(&self) -> &StreamService {
        &self.streams
    }

    pub fn alarms(&self) -> &AlarmService {
        &self.alarms
    }

    /// A number that grows whenever a service's state may have changed: the dashboard's
    /// live updates compare it (see [`Activity`]).
    pub fn changes(&self) -> u64 {
        self.activity.changes()
    }

    pub(crate) fn changed(&self) {
        self.activity.changed();
    }

    /// The counters kept as things happen (see [`metrics`]).
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Whether any service has work due now that no driver has taken yet. Cheap (drain
    /// asks on every wake-up).
    pub fn has_due(&self, now: DateTime<Utc>) -> bool {
        self.drivers.iter().any(|d| d.has_due(now))
    }

    /// Everything every service holds, for drain.
    pub fn pending(&self, now: DateTime<Utc>) -> Vec<sandbox_services::PendingWork> {
        self.drivers.iter().flat_map(|d| d.pending(now)).collect()
    }

    /// Waits until no invocation runs and nothing is due anywhere, or `timeout`.
    pub async fn drain(&self, timeout: std::time::Duration) -> DrainReport {
        drain::drain(self, timeout).await
    }

    /// Swaps in a new app (after a reload): services are reconfigured first, so new
    /// queues exist before code that sends to them runs; then the app is stored, and
    /// running invocations finish on the app they started with. Returns what changed.
    pub fn swap(self: &Arc<Self>, app: App) -> Result<Vec<String>, String> {
        let mut changes = Vec::new();
        let manifest_changed = app.manifest() != self.app.load().manifest();
        if manifest_changed {
            for driver in self.drivers.iter() {
                match driver.reconfigure(app.manifest()) {
                    Ok(lines) => changes.extend(lines),
                    Err(e) => {
                        self.metrics.reloaded(false);
                        return Err(e);
                    }
                }
            }
        }
        self.metrics.reloaded(true);
        self.connect(&app);
        let app = Arc::new(app);
        self.app.store(app.clone());
        // Remote consumers start after the store, so a new one invokes the new code.
        if let Some(remote) = self.remote().filter(|_| manifest_changed) {
            changes.extend(remote.reconfigure(app.manifest()));
        }
        self.activity.clock_moved();
        Ok(changes)
    }

    /// Lets `app`'s handlers publish to these services (call for every app swapped in).
    pub fn connect(self: &Arc<Self>, app: &App) {
        let host = host::ServiceHost(Arc::downgrade(self));
        app.connect(Arc::new(host));
    }

    /// Registers what answers calls to remote resources (once, at start).
    pub fn set_remote(&self, remote: Arc<dyn remote::Remote>) -> Result<(), String> {
        self.remote.set(remote)
    }

    pub(crate) fn remote(&self) -> Option<&Arc<dyn remote::Remote>> {
        self.remote.get()
    }

    /// The cell holding the app being served.
    pub fn app_cell(&self) -> &AppCell {
        &self.app
    }

    pub(crate) fn app(&self) -> Arc<App> {
        self.app.load_full()
    }
}
