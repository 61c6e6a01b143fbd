//! Group commit: one writer thread takes every delta submitted since its last commit and
//! writes them in one transaction, so a hundred concurrent senders cost one fsync, not a
//! hundred. A sender submits under the lock of the state it changed (so deltas are in
//! the order the changes happened), releases the lock, then waits for its ticket.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use crate::store::{Delta, Store, StoreError};

/// A submitted delta's place in the commit order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ticket(u64);

#[derive(Default)]
struct Queue {
    pending: Vec<Delta>,
    submitted: u64,
    committed: u64,
    /// Recent failed commits: (first ticket, last ticket, why). Their waiters fail.
    failed: Vec<(u64, u64, String)>,
    closed: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    /// Rung when there is something to write, or on close.
    work: Condvar,
    /// Rung after each commit.
    done: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The writer thread and its queue. Dropping it writes what is pending, then stops.
pub struct Committer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Committer {
    pub fn start(store: Arc<Store>) -> Committer {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            work: Condvar::new(),
            done: Condvar::new(),
        });
        let writer = shared.clone();
        let thread = std::thread::Builder::new()
            .name("state-commit".into())
            .spawn(move || write_loop(&writer, &store))
            .ok();
        Committer { shared, thread }
    }

    /// Queues a delta for the next commit. Call it while holding the lock of the state the
    /// delta came from, so deltas are committed in the order their changes happened.
    pub fn submit(&self, delta: Delta) -> Ticket {
        let mut q = self.shared.lock();
        q.submitted += 1;
        q.pending.push(delta);
        let ticket = Ticket(q.submitted);
        drop(q);
        self.shared.work.notify_one();
        ticket
    }

    /// Blocks until the commit holding `ticket` is on disk.
    pub fn wait(&self, ticket: Ticket) -> Result<(), StoreError> {
        let mut q = self.shared.lock();
        loop {
            if q.committed >= ticket.0 {
                let failed = q
                    .failed
                    .iter()
                    .find(|(a, b, _)| (*a..=*b).contains(&ticket.0));
                if let Some((_, _, why)) = failed {
                    return Err(StoreError::Failed(why.clone()));
                }
                return Ok(());
            }
            if self.thread.is_none() {
                return Err(StoreError::Failed("the commit thread did not start".into()));
            }
            q = self.shared.done.wait(q).unwrap_or_else(|p| p.into_inner());
        }
    }
}

impl Drop for Committer {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.work.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn write_loop(shared: &Shared, store: &Store) {
    loop {
        let (batch, first, last) = {
            let mut q = shared.lock();
            while q.pending.is_empty() && !q.closed {
                q = shared.work.wait(q).unwrap_or_else(|p| p.into_inner());
            }
            if q.pending.is_empty() {
                return;
            }
            let first = q.submitted - q.pending.len() as u64 + 1;
            (std::mem::take(&mut q.pending), first, q.submitted)
        };
        let result = store.write(&batch);
        let mut q = shared.lock();
        q.committed = last;
        if let Err(e) = result {
            tracing::error!("state not saved ({} change(s) lost): {e}", batch.len());
            // Keep a few: a waiter looks for its ticket here right after it is rung.
            if q.failed.len() >= 64 {
                q.failed.remove(0);
            }
            q.failed.push((first, last, e.to_string()));
        }
        drop(q);
        shared.done.notify_all();
    }
}
