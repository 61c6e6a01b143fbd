//! The alarm driver: gathers the services' numbers and hands them, with the sandbox's
//! `now`, to the pure alarm state machine (`sandbox_services::alarm`), logging each
//! firing and clearing as one warning line.
//!
//! It wakes when the clock moves, when an invocation ends (an error may count; a queue
//! may have emptied) and, on the system clock, every second (ages grow by themselves).
//! Readers (`GET /_sandbox/alarms`, the metrics, a dashboard) evaluate first too, so
//! what they show is never older than the services' numbers they read with it.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use sandbox_manifest::Manifest;
use sandbox_services::alarm::{AlarmView, Alarms, Facts, QueueFacts, Watch};
use sandbox_services::PendingWork;
use tokio::sync::Notify;

use crate::driver::{Context, Driver, Drivers, Round};
use crate::{QueueService, StreamService};

/// The alarms of one sandbox: their states, for the control API and the metrics.
#[derive(Clone)]
pub struct AlarmService {
    inner: Arc<Inner>,
}

struct Inner {
    cx: Context,
    alarms: Mutex<Alarms>,
    queues: QueueService,
    streams: StreamService,
    /// Rung when an invocation ends.
    wake: Notify,
}

fn rules(manifest: &Manifest) -> Vec<Watch> {
    manifest.alarms.iter().map(|a| a.watch.clone()).collect()
}

impl AlarmService {
    pub(crate) fn start(
        cx: &Context,
        drivers: &mut Drivers,
        queues: &QueueService,
        streams: &StreamService,
    ) -> AlarmService {
        let now = cx.clock.now();
        let inner = Arc::new(Inner {
            alarms: Mutex::new(Alarms::new(rules(cx.app.load().manifest()), now)),
            cx: cx.clone(),
            queues: queues.clone(),
            streams: streams.clone(),
            wake: Notify::new(),
        });
        let observer = Arc::downgrade(&inner);
        cx.app.load().invocations().observe(Arc::new(move |record| {
            if let Some(inner) = observer.upgrade() {
                if crate::metrics::failed(record) {
                    let now = inner.clock.now();
                    inner.lock().record_error(&record.function, now);
                }
                inner.wake.notify_one();
            }
        }));
        drivers.add(inner.clone());
        AlarmService { inner }
    }

    /// Every alarm with its state, reason and since when, evaluated now.
    pub fn list(&self) -> Vec<AlarmView> {
        self.inner.evaluate(self.inner.clock.now());
        self.inner.lock().list()
    }
}

impl Deref for Inner {
    type Target = Context;
    fn deref(&self) -> &Context {
        &self.cx
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, Alarms> {
        self.alarms.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The numbers every rule reads. Taken before the alarms' lock, so no two service
    /// locks are ever held together.
    fn facts(&self) -> Facts {
        let list = self.queues.list().queues;
        let queues: HashMap<String, QueueFacts> = list
            .into_iter()
            .map(|q| {
                (
                    q.name,
                    QueueFacts {
                        oldest_age_seconds: q.oldest_age_seconds,
                        depth: q.visible + q.in_flight + q.delayed,
                    },
                )
            })
            .collect();
        Facts {
            queues,
            consumers: self.streams.consumer_facts().into_iter().collect(),
        }
    }

    fn evaluate(&self, now: DateTime<Utc>) {
        if self.lock().is_empty() {
            return;
        }
        let facts = self.facts();
        let changes = self.lock().evaluate(&facts, now);
        for change in &changes {
            tracing::warn!(target: "sandbox::alarm", "{change}");
        }
        if !changes.is_empty() {
            self.activity.changed();
        }
    }
}

impl Driver for Inner {
    fn reconfigure(&self, manifest: &Manifest) -> Result<Vec<String>, String> {
        let now = self.clock.now();
        self.lock().set_rules(rules(manifest), now);
        Ok(Vec::new())
    }

    fn pending(&self, _: DateTime<Utc>) -> Vec<PendingWork> {
        Vec::new()
    }

    fn has_due(&self, _: DateTime<Utc>) -> bool {
        false
    }

    fn round(self: Arc<Self>, now: DateTime<Utc>) -> Round {
        self.evaluate(now);
        Round::Wait(Some(now + TimeDelta::seconds(1)))
    }

    fn own_wake(&self) -> Option<&Notify> {
        Some(&self.wake)
    }
}
