//! The `@scheduled` driver: fires each schedule's handler with EventBridge's scheduled
//! event when the sandbox clock reaches its next tick.
//!
//! With the manual clock every tick between two readings fires, in order (a test that
//! advances a day sees 24 hourly fires). With the system clock a schedule that missed
//! several ticks (the laptop slept) fires once for the period and says so in the log.
//! The on-demand trigger (`POST /_sandbox/schedules/{name}/invoke`) lives here too.

mod durable;

use std::collections::BTreeMap;
use std::ops::Deref;
use std::sync::{Arc, MutexGuard};

use chrono::{DateTime, Utc};
use sandbox_app::Trigger;
use sandbox_manifest::Manifest;
use sandbox_services::{
    scheduled_event_json, CatchUp, Fire, Pending, PendingWork, ScheduleSpec, Scheduler,
};

use crate::driver::{Context, Driver, Drivers, Round};
use crate::invoke::invoke;
use crate::lock::Lock;
use crate::{AppCell, ControlError};
use durable::ScheduleStore;
use sandbox_ops::aws::{ACCOUNT, REGION};

/// One schedule as `GET /_sandbox/schedules` lists it.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleView {
    pub name: String,
    pub expression: String,
    pub timezone: String,
    pub function: String,
    /// The next fire times, soonest first.
    pub next: Vec<DateTime<Utc>>,
}

#[derive(Clone)]
pub struct Schedules {
    inner: Arc<Inner>,
}

struct Inner {
    cx: Context,
    scheduler: Lock<Scheduler>,
    /// With `--state`: each schedule's anchor and last fire (`durable`).
    store: Option<ScheduleStore>,
}

impl Schedules {
    /// Starts the schedules from the manifest; with a `state` store (`--state DIR`),
    /// unchanged schedules resume from their last fire. Says how many resumed.
    pub(crate) fn start(
        cx: &Context,
        drivers: &mut Drivers,
        state: Option<(&sandbox_state::Store, Arc<sandbox_state::Committer>)>,
    ) -> Result<(Schedules, usize), String> {
        let specs = specs(&cx.app);
        let mut scheduler = Scheduler::new(specs, cx.clock.now()).map_err(|e| e.to_string())?;
        let (store, resumed) = match state {
            Some((store, committer)) => {
                let (store, resumed) = ScheduleStore::open(store, committer, &mut scheduler)?;
                (Some(store), resumed)
            }
            None => (None, 0),
        };
        let inner = drivers.add(Arc::new(Inner {
            cx: cx.clone(),
            scheduler: Lock::new(scheduler),
            store,
        }));
        Ok((Schedules { inner }, resumed))
    }

    pub fn list(&self) -> Vec<ScheduleView> {
        let functions = functions(&self.inner.app);
        let scheduler = self.inner.scheduler();
        scheduler
            .names()
            .map(|name| ScheduleView {
                name: name.to_string(),
                expression: scheduler.expression(name).unwrap_or_default().to_string(),
                timezone: scheduler.timezone(name).unwrap_or("UTC").to_string(),
                function: functions.get(name).cloned().unwrap_or_default(),
                next: scheduler.next_fires(name, 5),
            })
            .collect()
    }

    /// Fires `name` once now, outside its schedule, and answers with the outcome.
    pub async fn invoke(&self, name: &str) -> Result<serde_json::Value, ControlError> {
        let functions = functions(&self.inner.app);
        let Some(function) = functions.get(name) else {
            let known: Vec<_> = functions.keys().cloned().collect();
            return Err(ControlError::not_found(format!(
                "no schedule named `{name}`; known schedules: {}",
                if known.is_empty() {
                    "(none)".to_string()
                } else {
                    known.join(", ")
                }
            )));
        };
        let fire = Fire {
            schedule: name.to_string(),
            time: self.inner.clock.now(),
            missed: 0,
        };
        let app = self.inner.app.load_full();
        let invoked = app
            .invoke(function, Trigger::Schedule, None, event(&fire))
            .await
            .map_err(|e| ControlError {
                status: 409,
                message: e.to_string(),
            })?;
        let output = invoked.output.as_ref().ok().map(|bytes| {
            serde_json::from_slice(bytes).unwrap_or_else(|_| {
                serde_json::Value::String(String::from_utf8_lossy(bytes).into())
            })
        });
        Ok(serde_json::json!({
            "schedule": name,
            "function": function,
            "requestId": invoked.request_id,
            "outcome": sandbox_app::Outcome::from_result(&invoked.output),
            "error": invoked.output.as_ref().err().map(|e| e.to_string()),
            "output": output,
            "durationMs": invoked.duration.as_secs_f64() * 1000.0,
        }))
    }
}

impl Deref for Inner {
    type Target = Context;
    fn deref(&self) -> &Context {
        &self.cx
    }
}

impl Inner {
    fn scheduler(&self) -> MutexGuard<'_, Scheduler> {
        self.scheduler.lock()
    }
}

impl Driver for Inner {
    /// Unchanged schedules keep their next tick, new and changed ones count from now,
    /// removed ones stop.
    fn reconfigure(&self, manifest: &Manifest) -> Result<Vec<String>, String> {
        let specs = manifest_specs(manifest);
        let now = self.clock.now();
        let ticket = {
            let mut scheduler = self.scheduler();
            scheduler.replace(specs, now).map_err(|e| e.to_string())?;
            self.store.as_ref().and_then(|s| s.reconfigured(&scheduler))
        };
        if let Some(store) = &self.store {
            store.wait(ticket).map_err(|e| e.message)?;
        }
        Ok(Vec::new())
    }

    fn pending(&self, now: DateTime<Utc>) -> Vec<PendingWork> {
        self.scheduler().pending(now)
    }

    /// Whether a tick is due and not yet taken by the driver.
    fn has_due(&self, now: DateTime<Utc>) -> bool {
        self.scheduler()
            .next_wakeup()
            .is_some_and(|next| next <= now)
    }

    /// Takes the due ticks and fires them in order, one after another, before looking
    /// again; otherwise waits for the next tick or for the clock to move.
    fn round(self: Arc<Self>, now: DateTime<Utc>) -> Round {
        let catch_up = if self.clock.is_manual() {
            CatchUp::EveryTick
        } else {
            CatchUp::Coalesce
        };
        let (due, next) = {
            let mut scheduler = self.scheduler();
            let due = scheduler.due(now, catch_up);
            if !due.is_empty() {
                self.activity.begin(due.len() as u64);
            }
            (due, scheduler.next_wakeup())
        };
        for skipped in &due.skipped {
            tracing::warn!(
                "schedule {}: too many ticks at once; skipped from {} (resumes {:?})",
                skipped.schedule,
                skipped.from,
                skipped.resumes
            );
        }
        if due.is_empty() {
            return Round::Wait(next);
        }
        Round::Finish(Box::pin(async move {
            for fire in due.fires {
                fire_one(&self, &fire).await;
                if let Some(store) = &self.store {
                    // Waited for (a fire is rare): once drain sees it done, it is on
                    // disk and a restart does not fire it again.
                    let ticket = store.fired(&self.scheduler(), &fire.schedule, fire.time);
                    if let Err(e) = store.wait(ticket) {
                        tracing::error!("schedule {}: {}", fire.schedule, e.message);
                    }
                }
                self.activity.end(1);
            }
        }))
    }
}

async fn fire_one(inner: &Inner, fire: &Fire) {
    inner.metrics.schedule_fired(&fire.schedule);
    if fire.missed > 0 {
        tracing::info!(
            "schedule {}: {} tick(s) were missed while the sandbox was not running them (machine asleep?); firing once for the period",
            fire.schedule,
            fire.missed
        );
    }
    let app = inner.app.load_full();
    let Some(function) = app
        .manifest()
        .schedules
        .iter()
        .find(|s| s.name == fire.schedule)
        .map(|s| s.function.clone())
    else {
        return;
    };
    let ran = invoke(&app, &function, Trigger::Schedule, event(fire)).await;
    let time = sandbox_services::rfc3339_seconds(fire.time);
    match &ran.output {
        Ok(_) => tracing::info!(
            "schedule {} fired for {time} → {function} ok in {:.1?}",
            fire.schedule,
            ran.duration
        ),
        Err(failed) if failed.ran => tracing::warn!(
            "schedule {} fired for {time} → {function} FAILED: {failed}",
            fire.schedule
        ),
        Err(e) => tracing::warn!("schedule {}: {e}", fire.schedule),
    }
}

fn event(fire: &Fire) -> Vec<u8> {
    let id = uuid::Uuid::new_v4().to_string();
    scheduled_event_json(&fire.schedule, fire.time, &id, REGION, ACCOUNT).into_bytes()
}

fn specs(app: &AppCell) -> Vec<ScheduleSpec> {
    manifest_specs(app.load().manifest())
}

fn manifest_specs(manifest: &Manifest) -> Vec<ScheduleSpec> {
    manifest
        .schedules
        .iter()
        .map(|s| ScheduleSpec {
            name: s.name.clone(),
            expression: s.expression.clone(),
            timezone: s.timezone.clone(),
        })
        .collect()
}

fn functions(app: &AppCell) -> BTreeMap<String, String> {
    app.load()
        .manifest()
        .schedules
        .iter()
        .map(|s| (s.name.clone(), s.function.clone()))
        .collect()
}
