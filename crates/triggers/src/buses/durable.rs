//! `--state DIR` for buses: the catalog (buses, rules, targets and archives, whoever
//! made them, and every replay), each archive's events, and the function deliveries
//! rule targets have not finished (`retry_store`'s table), all in one delta per change.
//!
//! PutEvents and StartReplay wait for the commit of what they archived and queued; the
//! API's management calls wait for the catalog they changed. The driver's own changes
//! (deliveries handed out and settled, archives trimmed) are submitted without waiting,
//! as the topics' are. At start the stored buses are restored and then reconciled with
//! the manifest by `Buses::replace_configs`, the call a reload makes.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sandbox_services::async_retry::RetryPolicy;
use sandbox_services::bus::image::StoredBus;
use sandbox_services::bus::{BusConfig, Buses};
use sandbox_state::{BusesDelta, Committer, Delta, Store, Ticket};

use crate::queue_store::Durable;
use crate::ControlError;

/// What came back at start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BusesRestored {
    /// Archived events, over every archive.
    pub archived: usize,
    /// Buses, rules and archives the API had made.
    pub api_made: usize,
    /// Function deliveries of rule targets waiting for an attempt or a retry.
    pub retries: usize,
}

pub(crate) struct BusStore {
    durable: Durable<BTreeMap<String, StoredBus>>,
}

impl BusStore {
    /// The stored buses reconciled with the manifest's `configs`, journaling from now on,
    /// and the result written.
    pub(crate) fn open(
        store: &Store,
        committer: Arc<Committer>,
        configs: Vec<BusConfig>,
        now: DateTime<Utc>,
    ) -> Result<(BusStore, Buses, BusesRestored), String> {
        let (catalog, events) = store.load_buses().map_err(|e| e.to_string())?;
        let mut buses = Buses::restore(&catalog, events, configs, RetryPolicy::default(), now)
            .map_err(|e| format!("restoring the buses from the state directory: {e}"))?;
        let (next_id, stored) = store.load_invocations("buses").map_err(|e| e.to_string())?;
        let retries = buses.restore_deliveries(next_id, stored);
        buses.settle_replays(now);
        buses.start_journal();
        let archived = buses
            .names()
            .iter()
            .filter_map(|b| buses.archives(b, now).ok())
            .flatten()
            .map(|a| a.event_count as usize)
            .sum();
        let api_made = api_made(&buses.catalog());
        let this = BusStore {
            durable: Durable::new(committer, catalog),
        };
        let ticket = this.record(&mut buses, true);
        this.wait(ticket).map_err(|e| e.message)?;
        let restored = BusesRestored {
            archived,
            api_made,
            retries,
        };
        Ok((this, buses, restored))
    }

    /// Submits what changed since the last call: deliveries, archived events, and with
    /// `catalog` the catalog when it differs from the last one submitted (management
    /// calls, replays and reloads change it; PutEvents cannot, so it skips the
    /// comparison). Call under the buses' lock.
    pub(crate) fn record(&self, buses: &mut Buses, catalog: bool) -> Option<Ticket> {
        let catalog = self.durable.changed(catalog.then(|| buses.catalog()));
        self.durable.submit(Delta {
            invocations: buses
                .take_changes()
                .map(|c| vec![("buses".to_string(), c)])
                .unwrap_or_default(),
            buses: BusesDelta {
                catalog,
                archived: buses.take_archive_changes(),
            },
            ..Delta::default()
        })
    }

    pub(crate) fn wait(&self, ticket: Option<Ticket>) -> Result<(), ControlError> {
        self.durable.wait(ticket)
    }
}

/// Buses, rules, targets and archives made through the API.
fn api_made(catalog: &BTreeMap<String, StoredBus>) -> usize {
    use sandbox_services::bus::Origin::Api;
    catalog
        .values()
        .map(|b| {
            usize::from(b.origin == Api)
                + b.rules
                    .iter()
                    .map(|r| {
                        usize::from(r.origin == Api)
                            + r.targets.iter().filter(|t| t.origin == Api).count()
                    })
                    .sum::<usize>()
                + b.archives.iter().filter(|a| a.origin == Api).count()
        })
        .sum()
}
