//! Putting events on the app's EventBridge buses from a handler, through `sandbox.call`
//! (see `host`), as `PutEvents` takes them:
//!
//! ```no_run
//! # fn main() -> Result<(), sandbox_sdk::Error> {
//! use sandbox_sdk::bus::{self, Entry};
//!
//! let detail = sandbox_sdk::serde_json::json!({"orderId": 7});
//! let result = bus::put_events(&[Entry::new("shop", "OrderPlaced", &detail).bus("orders")])?;
//! assert_eq!(result.failed_entry_count, 0);
//! # Ok(()) }
//! ```

use crate::Error;

/// One `PutEvents` entry: `Entry::new(source, detail_type, &detail).bus("orders")`.
pub use sandbox_ops::bus::PutEventsEntry as Entry;
/// What `PutEvents` answers: one entry per request entry, in order.
pub use sandbox_ops::bus::PutEventsResult;
/// One result entry: an `event_id`, or an error code and message.
pub use sandbox_ops::bus::PutEventsResultEntry as ResultEntry;

/// `PutEvents`: up to 10 entries; refused entries are reported per entry, not as an error.
pub fn put_events(entries: &[Entry]) -> Result<PutEventsResult, Error> {
    let request = sandbox_ops::bus::PutEvents {
        entries: entries.to_vec(),
    };
    crate::host::call("bus", "PutEvents", &request)
}
