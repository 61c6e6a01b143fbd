//! Every end-to-end test, in one test binary. Each module below is one area, in its own
//! file beside this one; `common` holds what they share. One binary rather than one per
//! file because each links the whole sandbox and four AWS SDKs: thirty links cost CI
//! minutes and gigabytes of disk, and one process lets libtest keep both cores busy
//! across areas. Run one area with `cargo test --test e2e -- alarms::`.

mod common;

mod alarms;
mod architecture;
mod aws_events;
mod aws_kinesis;
mod aws_query;
mod aws_sns;
mod aws_sqs;
mod bus;
mod cli;
mod dashboard;
mod durable;
mod durable_api;
mod durable_buses;
mod durable_streams;
mod hardening;
mod http;
mod js;
mod js_reload;
mod js_seeds;
mod js_snapshot;
mod loops;
mod metrics;
mod misbehave;
mod queues;
mod reload;
mod remote;
mod remote_reshard;
mod schedules;
mod streams;
mod topics;
