//! Micro-benchmark for compiled EventBridge patterns: 100 rules with mixed operators,
//! 100 000 events, every event tested against every rule on one core. The workload is
//! `sandbox_services::pattern::workload` (also measured by `sandbox-bench topics`).
//!
//! Run with `cargo run --release -p sandbox-services --example pattern_bench`. Prints the
//! median of five runs in evaluations per second (events × rules).

use std::time::Instant;

use sandbox_services::pattern::workload::{self, RULES};

const EVENTS: usize = 100_000;
const RUNS: usize = 5;

fn main() {
    let rules = workload::rules();
    assert_eq!(rules.len(), RULES, "every workload rule compiles");
    let events = workload::events(EVENTS);
    let mut rates = Vec::with_capacity(RUNS);
    let mut matched = 0usize;
    for run in 1..=RUNS {
        let start = Instant::now();
        matched = workload::evaluate(&rules, &events);
        let secs = start.elapsed().as_secs_f64();
        let rate = (EVENTS * RULES) as f64 / secs;
        println!("run {run}: {:.2} s, {:.0} evaluations/s", secs, rate);
        rates.push(rate);
    }
    rates.sort_by(f64::total_cmp);
    println!(
        "{RULES} rules x {EVENTS} events, {matched} matches per run ({:.1}%)",
        100.0 * matched as f64 / (EVENTS * RULES) as f64
    );
    println!("median: {:.0} evaluations/s on one core", rates[RUNS / 2]);
}
