//! The HTTP benchmark's results and their Markdown summary for BENCHMARKS.md.
//!
//! Results are judged against the project's stated targets and each one is marked
//! `met` or `MISSED` from the numbers alone, so the summary can be pasted as is.

use std::fmt::Write as _;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::load::LoadResult;
use crate::process::Memory;
use crate::stats::{fmt_duration, median, median_duration};

/// Targets from the project brief.
const MIN_THROUGHPUT_RATIO: f64 = 0.20;
const MAX_P50_AT_1: Duration = Duration::from_micros(150);
const MAX_WARM_FIRST_RESPONSE: Duration = Duration::from_millis(100);
const MAX_IDLE_RSS_MIB: f64 = 30.0;

/// Which server a measurement was taken against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Bare,
    Sandbox,
}

impl Target {
    pub fn label(self) -> &'static str {
        match self {
            Target::Bare => "bare hyper",
            Target::Sandbox => "sandbox",
        }
    }
}

/// The repeated runs of one (target, connections) pair, combined by median.
#[derive(Debug, Clone)]
pub struct Measurement {
    pub target: Target,
    pub connections: usize,
    pub runs: Vec<LoadResult>,
}

impl Measurement {
    pub fn requests_per_sec(&self) -> f64 {
        median(
            &self
                .runs
                .iter()
                .map(LoadResult::requests_per_sec)
                .collect::<Vec<_>>(),
        )
    }

    pub fn p50(&self) -> Duration {
        median_duration(&self.runs.iter().map(|r| r.latency.p50).collect::<Vec<_>>())
    }

    pub fn p99(&self) -> Duration {
        median_duration(&self.runs.iter().map(|r| r.latency.p99).collect::<Vec<_>>())
    }

    pub fn errors(&self) -> u64 {
        self.runs.iter().map(|r| r.errors).sum()
    }
}

/// Start-to-first-response times of the sandbox.
#[derive(Debug, Clone, Default)]
pub struct Startup {
    /// The first start, after the compile cache was removed.
    pub cold: Option<Duration>,
    /// Starts with the cache filled by the cold start.
    pub warm: Vec<Duration>,
    /// Anything that makes the cold/warm distinction doubtful.
    pub notes: Vec<String>,
}

/// Resident memory of the sandbox (and the baseline, for scale).
#[derive(Debug, Clone, Copy)]
pub struct MemoryUse {
    pub sandbox_after_startup: Memory,
    pub sandbox_after_load: Memory,
    pub bare_after_load: Memory,
}

/// The machine the numbers came from.
#[derive(Debug, Clone)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
}

impl Machine {
    pub fn detect() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        Self {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model: cpu_model(&cpuinfo).unwrap_or_else(|| "unknown CPU".to_string()),
        }
    }
}

fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == "model name").then(|| value.trim().to_string())
    })
}

/// How the load was generated, printed so the numbers can be reproduced.
#[derive(Debug, Clone)]
pub struct Settings {
    pub duration: Duration,
    pub warmup: Duration,
    pub repeats: usize,
    pub client_threads: usize,
}

/// Everything one `http` run measured.
#[derive(Debug, Clone)]
pub struct HttpReport {
    pub date: DateTime<Utc>,
    pub machine: Machine,
    pub settings: Settings,
    pub measurements: Vec<Measurement>,
    pub startup: Startup,
    pub memory: Option<MemoryUse>,
}

/// One target from the brief, judged.
#[derive(Debug, Clone, PartialEq)]
pub struct Goal {
    pub name: &'static str,
    pub goal: &'static str,
    /// `None` when the run did not measure it.
    pub measured: Option<(String, bool)>,
}

impl HttpReport {
    fn find(&self, target: Target, connections: usize) -> Option<&Measurement> {
        self.measurements
            .iter()
            .find(|m| m.target == target && m.connections == connections)
    }

    /// Sandbox req/s as a fraction of bare req/s at `connections`.
    pub fn throughput_ratio(&self, connections: usize) -> Option<f64> {
        let bare = self.find(Target::Bare, connections)?.requests_per_sec();
        let sandbox = self.find(Target::Sandbox, connections)?.requests_per_sec();
        (bare > 0.0).then(|| sandbox / bare)
    }

    pub fn goals(&self) -> Vec<Goal> {
        let throughput = self.throughput_ratio(64).map(|ratio| {
            (
                format!("{:.0} % of bare", ratio * 100.0),
                ratio >= MIN_THROUGHPUT_RATIO,
            )
        });
        let p50 = self
            .find(Target::Sandbox, 1)
            .map(|m| (fmt_duration(m.p50()), m.p50() < MAX_P50_AT_1));
        let first = (!self.startup.warm.is_empty()).then(|| {
            let warm = median_duration(&self.startup.warm);
            (fmt_duration(warm), warm < MAX_WARM_FIRST_RESPONSE)
        });
        let rss = self.memory.map(|m| {
            let worst = m
                .sandbox_after_startup
                .rss_mib
                .max(m.sandbox_after_load.rss_mib);
            (format!("{worst:.1} MiB"), worst < MAX_IDLE_RSS_MIB)
        });
        vec![
            Goal {
                name: "Throughput, 64 connections",
                goal: "≥ 20 % of bare req/s",
                measured: throughput,
            },
            Goal {
                name: "Latency p50, 1 connection",
                goal: "< 150 µs",
                measured: p50,
            },
            Goal {
                name: "First response, warm cache",
                goal: "< 100 ms",
                measured: first,
            },
            Goal {
                name: "Idle RSS (worse of after startup / after load)",
                goal: "< 30 MiB",
                measured: rss,
            },
        ]
    }

    /// The summary block, ready to paste into BENCHMARKS.md.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let s = &self.settings;
        let _ = writeln!(out, "### HTTP — {}", self.date.format("%Y-%m-%d %H:%M UTC"));
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "Machine: {} CPUs (nproc), {}. Load: closed-loop keep-alive HTTP/1.1 client \
             ({} threads) on the same machine, `GET /`, {} warm-up + {} per run, {}.",
            self.machine.cpus,
            self.machine.cpu_model,
            s.client_threads,
            fmt_secs(s.warmup),
            fmt_secs(s.duration),
            if s.repeats == 1 {
                "one run per row".to_string()
            } else {
                format!("median of {} interleaved runs per row", s.repeats)
            }
        );
        let _ = writeln!(out);
        let _ = writeln!(out, "| Target | Connections | req/s | p50 | p99 | errors |");
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
        let mut connection_levels: Vec<usize> =
            self.measurements.iter().map(|m| m.connections).collect();
        connection_levels.dedup();
        for &connections in &connection_levels {
            for target in [Target::Bare, Target::Sandbox] {
                if let Some(m) = self.find(target, connections) {
                    let _ = writeln!(
                        out,
                        "| {} | {} | {:.0} | {} | {} | {} |",
                        target.label(),
                        connections,
                        m.requests_per_sec(),
                        fmt_duration(m.p50()),
                        fmt_duration(m.p99()),
                        m.errors()
                    );
                }
            }
            if let (Some(bare), Some(sandbox)) = (
                self.find(Target::Bare, connections),
                self.find(Target::Sandbox, connections),
            ) {
                let _ = writeln!(
                    out,
                    "| *sandbox / bare* | {} | {} | {} | {} | |",
                    connections,
                    ratio(sandbox.requests_per_sec(), bare.requests_per_sec(), "%"),
                    ratio(sandbox.p50().as_secs_f64(), bare.p50().as_secs_f64(), "×"),
                    ratio(sandbox.p99().as_secs_f64(), bare.p99().as_secs_f64(), "×"),
                );
            }
        }
        let _ = writeln!(out);
        let _ = writeln!(out, "| Sandbox process | Value |");
        let _ = writeln!(out, "|---|---:|");
        if let Some(cold) = self.startup.cold {
            let _ = writeln!(
                out,
                "| Start to first response, cold compile cache | {} |",
                fmt_duration(cold)
            );
        }
        if !self.startup.warm.is_empty() {
            let warm = &self.startup.warm;
            let min = warm.iter().min().copied().unwrap_or_default();
            let max = warm.iter().max().copied().unwrap_or_default();
            let _ = writeln!(
                out,
                "| Start to first response, warm cache (median of {}; min {}, max {}) | {} |",
                warm.len(),
                fmt_duration(min),
                fmt_duration(max),
                fmt_duration(median_duration(warm))
            );
        }
        if let Some(m) = self.memory {
            let _ = writeln!(
                out,
                "| Idle RSS after startup | {:.1} MiB |",
                m.sandbox_after_startup.rss_mib
            );
            let _ = writeln!(
                out,
                "| Idle RSS after load (peak during run) | {:.1} MiB ({:.1} MiB) |",
                m.sandbox_after_load.rss_mib, m.sandbox_after_load.peak_mib
            );
            let _ = writeln!(
                out,
                "| *bare hyper server RSS after load, for scale* | {:.1} MiB |",
                m.bare_after_load.rss_mib
            );
        }
        for note in &self.startup.notes {
            let _ = writeln!(out);
            let _ = writeln!(out, "Note: {note}");
        }
        let _ = writeln!(out);
        let _ = writeln!(out, "| Target | Goal | Measured | Result |");
        let _ = writeln!(out, "|---|---|---:|---|");
        for goal in self.goals() {
            let (measured, verdict) = match &goal.measured {
                Some((value, true)) => (value.as_str(), "met"),
                Some((value, false)) => (value.as_str(), "**MISSED**"),
                None => ("not measured", "—"),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                goal.name, goal.goal, measured, verdict
            );
        }
        out
    }
}

fn ratio(numerator: f64, denominator: f64, unit: &str) -> String {
    if denominator <= 0.0 {
        return "—".to_string();
    }
    let value = numerator / denominator;
    match unit {
        "%" => format!("{:.0} %", value * 100.0),
        _ => format!("{value:.1}{unit}"),
    }
}

fn fmt_secs(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs.fract() == 0.0 {
        format!("{secs:.0} s")
    } else {
        format!("{secs} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::LatencySummary;

    fn run(rps: u64, p50_us: u64) -> LoadResult {
        LoadResult {
            requests: rps,
            errors: 0,
            duration: Duration::from_secs(1),
            latency: LatencySummary {
                count: rps as usize,
                p50: Duration::from_micros(p50_us),
                p99: Duration::from_micros(p50_us * 3),
                max: Duration::from_micros(p50_us * 10),
            },
        }
    }

    fn measurement(target: Target, connections: usize, rps: u64, p50_us: u64) -> Measurement {
        Measurement {
            target,
            connections,
            // The noisy middle run must not decide the median.
            runs: vec![
                run(rps, p50_us),
                run(rps / 10, p50_us * 10),
                run(rps, p50_us),
            ],
        }
    }

    fn memory(rss: f64) -> Memory {
        Memory {
            rss_mib: rss,
            peak_mib: rss + 1.0,
        }
    }

    fn report(sandbox_rps_64: u64, warm_ms: u64) -> HttpReport {
        HttpReport {
            date: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            machine: Machine {
                cpus: 2,
                cpu_model: "Test CPU".into(),
            },
            settings: Settings {
                duration: Duration::from_secs(5),
                warmup: Duration::from_secs(1),
                repeats: 3,
                client_threads: 2,
            },
            measurements: vec![
                measurement(Target::Bare, 1, 20_000, 40),
                measurement(Target::Sandbox, 1, 8_000, 120),
                measurement(Target::Bare, 64, 50_000, 1_000),
                measurement(Target::Sandbox, 64, sandbox_rps_64, 5_000),
            ],
            startup: Startup {
                cold: Some(Duration::from_millis(900)),
                warm: vec![Duration::from_millis(warm_ms); 5],
                notes: vec![],
            },
            memory: Some(MemoryUse {
                sandbox_after_startup: memory(12.0),
                sandbox_after_load: memory(14.5),
                bare_after_load: memory(3.0),
            }),
        }
    }

    #[test]
    fn medians_ignore_one_noisy_run() {
        let m = measurement(Target::Bare, 1, 20_000, 40);
        assert_eq!(m.requests_per_sec(), 20_000.0);
        assert_eq!(m.p50(), Duration::from_micros(40));
    }

    #[test]
    fn goals_are_judged_honestly() {
        let good = report(15_000, 40);
        assert_eq!(good.throughput_ratio(64), Some(0.3));
        assert!(good.goals().iter().all(|g| g.measured.as_ref().unwrap().1));

        let bad = report(5_000, 150);
        let verdicts: Vec<bool> = bad
            .goals()
            .iter()
            .map(|g| g.measured.clone().unwrap().1)
            .collect();
        assert_eq!(verdicts, vec![false, true, false, true]);
        let text = bad.markdown();
        assert!(
            text.contains(
                "| Throughput, 64 connections | ≥ 20 % of bare req/s | 10 % of bare | **MISSED** |"
            ),
            "{text}"
        );
    }

    #[test]
    fn markdown_has_tables_and_ratios() {
        let text = report(15_000, 40).markdown();
        assert!(text.contains("### HTTP — 2027-01-15 08:00 UTC"), "{text}");
        assert!(text.contains("2 CPUs (nproc), Test CPU"));
        assert!(text.contains("median of 3 interleaved runs per row"));
        assert!(
            text.contains("| sandbox | 1 | 8000 | 120 µs | 360 µs | 0 |"),
            "{text}"
        );
        assert!(
            text.contains("| *sandbox / bare* | 64 | 30 % | 5.0× | 5.0× | |"),
            "{text}"
        );
        assert!(text.contains("| Idle RSS after startup | 12.0 MiB |"));
        assert!(text.contains("| Latency p50, 1 connection | < 150 µs | 120 µs | met |"));
    }

    #[test]
    fn missing_measurements_are_not_judged() {
        let mut partial = report(15_000, 40);
        partial.measurements.retain(|m| m.connections == 1);
        partial.memory = None;
        let goals = partial.goals();
        assert_eq!(goals[0].measured, None);
        assert_eq!(goals[3].measured, None);
        assert!(partial.markdown().contains("| not measured | — |"));
    }

    #[test]
    fn cpu_model_is_read_from_cpuinfo() {
        let info = "processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t: x\n";
        assert_eq!(cpu_model(info).as_deref(), Some("AMD EPYC 7B13"));
        assert_eq!(cpu_model(""), None);
    }
}
