//! Summary statistics for benchmark samples.
//!
//! Latencies are kept as raw nanosecond samples and sorted once per measurement:
//! a few hundred thousand `u64`s per run is cheap, and exact percentiles avoid the
//! bucket-resolution questions a histogram would raise when comparing two targets.
//! Repeated runs are combined with medians because the benchmark machine is shared
//! and a single noisy run must not decide the result.

use std::time::Duration;

/// Percentiles of one measurement's request latencies.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LatencySummary {
    pub count: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl LatencySummary {
    /// Summarises raw nanosecond samples (sorted in place).
    pub fn from_nanos(samples: &mut [u64]) -> Self {
        samples.sort_unstable();
        Self {
            count: samples.len(),
            p50: Duration::from_nanos(percentile(samples, 50.0)),
            p99: Duration::from_nanos(percentile(samples, 99.0)),
            max: Duration::from_nanos(samples.last().copied().unwrap_or(0)),
        }
    }
}

/// Nearest-rank percentile of already sorted samples; 0 when there are none.
pub fn percentile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Median of a few values (mean of the middle two for an even count); 0 when empty.
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

/// Median of durations, see [`median`].
pub fn median_duration(values: &[Duration]) -> Duration {
    let secs: Vec<f64> = values.iter().map(Duration::as_secs_f64).collect();
    Duration::from_secs_f64(median(&secs))
}

/// Formats a duration with a unit suited to its size (µs below 1 ms, ms above).
pub fn fmt_duration(d: Duration) -> String {
    let micros = d.as_secs_f64() * 1e6;
    if micros < 1_000.0 {
        format!("{micros:.0} µs")
    } else if micros < 10_000.0 {
        format!("{:.2} ms", micros / 1000.0)
    } else {
        format!("{:.1} ms", micros / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_uses_nearest_rank() {
        let samples: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&samples, 50.0), 50);
        assert_eq!(percentile(&samples, 99.0), 99);
        assert_eq!(percentile(&samples, 100.0), 100);
        assert_eq!(percentile(&samples, 0.0), 1);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
    }

    #[test]
    fn summary_sorts_samples() {
        let mut samples = vec![5_000, 1_000, 3_000, 2_000, 4_000];
        let summary = LatencySummary::from_nanos(&mut samples);
        assert_eq!(summary.count, 5);
        assert_eq!(summary.p50, Duration::from_nanos(3_000));
        assert_eq!(summary.p99, Duration::from_nanos(5_000));
        assert_eq!(summary.max, Duration::from_nanos(5_000));
        assert_eq!(
            LatencySummary::from_nanos(&mut []),
            LatencySummary::default()
        );
    }

    #[test]
    fn median_handles_odd_even_and_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
        let ds = [
            Duration::from_millis(30),
            Duration::from_millis(10),
            Duration::from_millis(20),
        ];
        assert_eq!(median_duration(&ds).as_millis(), 20);
    }

    #[test]
    fn durations_are_formatted_by_size() {
        assert_eq!(fmt_duration(Duration::from_micros(87)), "87 µs");
        assert_eq!(fmt_duration(Duration::from_micros(1_124)), "1.12 ms");
        assert_eq!(fmt_duration(Duration::from_micros(42_500)), "42.5 ms");
    }
}
