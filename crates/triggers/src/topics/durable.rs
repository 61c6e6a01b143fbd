//! `--state DIR` for topics: the catalog (every topic with its settings, attributes,
//! tags and subscriptions, whoever made them) and the function deliveries subscribers
//! have not finished (`retry_store`'s table), in one delta per change.
//!
//! Publish waits for the commit of the deliveries it queued; the SNS API's management
//! calls wait for the catalog they changed, and a failed write answers 503. The driver's
//! own changes are submitted without waiting. At start the stored topics are restored
//! and then reconciled with the manifest by `Topics::replace_configs`, the call a reload
//! makes. FIFO topics' deduplication windows and sequence numbers are not stored: they
//! start afresh.

use std::collections::BTreeMap;
use std::sync::Arc;

use sandbox_services::topic::image::{restore, StoredTopic};
use sandbox_services::topic::{RetryPolicy, TopicConfig, Topics};
use sandbox_state::{Committer, Delta, Store, Ticket};

use crate::queue_store::Durable;
use crate::ControlError;

/// What came back at start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TopicsRestored {
    /// Topics and subscriptions the API had made.
    pub api_made: usize,
    /// Function deliveries of subscriptions waiting for an attempt or a retry.
    pub retries: usize,
}

pub(crate) struct TopicStore {
    durable: Durable<BTreeMap<String, StoredTopic>>,
}

impl TopicStore {
    /// The stored topics reconciled with the manifest's `configs`, journaling from now
    /// on, and the result written.
    pub(crate) fn open(
        store: &Store,
        committer: Arc<Committer>,
        configs: Vec<TopicConfig>,
    ) -> Result<(TopicStore, Topics, TopicsRestored), String> {
        let catalog = store.load_topics().map_err(|e| e.to_string())?;
        let mut topics = restore(&catalog, configs, RetryPolicy::default())
            .map_err(|e| format!("restoring the topics from the state directory: {e}"))?;
        let (next_id, stored) = store
            .load_invocations("topics")
            .map_err(|e| e.to_string())?;
        let retries = topics.restore_deliveries(next_id, stored);
        topics.start_journal();
        let api_made = topics
            .catalog()
            .values()
            .map(|t| {
                usize::from(t.from_api) + t.subscriptions.iter().filter(|s| s.from_api).count()
            })
            .sum();
        let this = TopicStore {
            durable: Durable::new(committer, catalog),
        };
        let ticket = this.record(&mut topics, true);
        this.wait(ticket).map_err(|e| e.message)?;
        Ok((this, topics, TopicsRestored { api_made, retries }))
    }

    /// Submits the deliveries that changed since the last call and, with `catalog`, the
    /// catalog when it differs from the last one submitted (a publish cannot change it,
    /// so it skips the comparison). Call under the topics' lock.
    pub(crate) fn record(&self, topics: &mut Topics, catalog: bool) -> Option<Ticket> {
        let catalog = self.durable.changed(catalog.then(|| topics.catalog()));
        self.durable.submit(Delta {
            invocations: topics
                .take_changes()
                .map(|c| vec![("topics".to_string(), c)])
                .unwrap_or_default(),
            topics: catalog,
            ..Delta::default()
        })
    }

    pub(crate) fn wait(&self, ticket: Option<Ticket>) -> Result<(), ControlError> {
        self.durable.wait(ticket)
    }
}
