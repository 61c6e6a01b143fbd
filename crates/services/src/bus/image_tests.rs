//! Unit tests for the buses' durable image: what the journal and the catalog hand a
//! store is enough to rebuild the buses, reconciled with the manifest as a reload is.

use chrono::{TimeDelta, TimeZone};
use serde_json::json;

use super::super::{
    ArchiveConfig, BusConfig, BusTarget, Buses, Origin, PutEntry, ReplayRequest, ReplayState,
    RuleConfig, RuleTargetConfig, TargetInput,
};
use super::{ArchiveChange, StoredArchived};
use crate::async_retry::RetryPolicy;
use crate::pattern::EventPattern;
use chrono::{DateTime, Utc};

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + TimeDelta::seconds(seconds)
}

fn manifest() -> Vec<BusConfig> {
    let p = json!({"source": ["a"]});
    let target =
        RuleTargetConfig::compile("f", BusTarget::Function("f".into()), TargetInput::default())
            .unwrap();
    vec![BusConfig {
        rules: vec![RuleConfig {
            targets: vec![target],
            ..RuleConfig::new("r", EventPattern::compile(&p).unwrap(), p.to_string())
        }],
        archives: vec![ArchiveConfig::new("all")],
        ..BusConfig::new("default")
    }]
}

/// Applies journaled changes the way the store's table does: rows by sequence.
fn apply(rows: &mut Vec<StoredArchived>, changes: Vec<ArchiveChange>) {
    for change in changes {
        match change {
            ArchiveChange::Added(e) => rows.push(e),
            ArchiveChange::Trimmed {
                bus,
                archive,
                below,
            } => rows.retain(|e| !(e.bus == bus && e.archive == archive && e.seq < below)),
        }
    }
}

#[test]
fn archives_api_buses_and_replays_come_back_reconciled_with_the_manifest() {
    let mut before = Buses::new(manifest()).unwrap();
    before.start_journal();
    before
        .create_bus(
            BusConfig {
                origin: Origin::Api,
                ..BusConfig::new("api")
            },
            at(0),
        )
        .unwrap();
    let short = ArchiveConfig {
        retention_days: Some(1),
        ..ArchiveConfig::new("short")
    };
    before.create_archive("default", short, at(0)).unwrap();
    let mut rows = Vec::new();
    for n in 0..3 {
        let entry = PutEntry::new("a", "t", &json!({ "n": n }).to_string());
        before.put_events(vec![entry], at(n)).unwrap();
    }
    let request = ReplayRequest {
        name: "r1".into(),
        archive: "all".into(),
        from: at(0),
        to: at(10),
        rules: None,
    };
    before.start_replay("default", request, at(5)).unwrap();
    // `short` keeps a day: trimmed by the next tick after it.
    before.tick(at(86_400 + 1));
    apply(&mut rows, before.take_archive_changes());
    let catalog = before.catalog();

    let after = Buses::restore(
        &catalog,
        rows,
        manifest(),
        RetryPolicy::default(),
        at(90_000),
    )
    .unwrap();
    let count = |archive: &str| {
        after
            .archived_events("default", archive, at(90_000))
            .unwrap()
            .len()
    };
    assert_eq!(count("all"), 3);
    assert_eq!(count("short"), 0, "the trim reached the store");
    assert!(after.names().contains(&"api".to_string()), "API bus kept");
    let replay = after.replay("default", "r1").unwrap();
    assert_eq!(replay.events_replayed, 3);
    assert_eq!(
        replay.state,
        ReplayState::Running,
        "its deliveries are pending"
    );

    // The manifest no longer declares `default`'s archive: it goes, the API's stays.
    let mut gone = manifest();
    gone[0].archives.clear();
    let after = Buses::restore(&catalog, Vec::new(), gone, RetryPolicy::default(), at(0)).unwrap();
    let names: Vec<String> = after
        .archives("default", at(0))
        .unwrap()
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(names, ["short"]);
}
