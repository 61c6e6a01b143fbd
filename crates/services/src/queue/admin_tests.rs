//! Tests of queues made and changed at run time.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};

use super::*;
use crate::queue::{Queues, SendRequest};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap()
}

fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn create_is_idempotent_and_refuses_conflicting_attributes() {
    let mut queues = Queues::new(Vec::new()).unwrap();
    let a = attrs(&[("DelaySeconds", "5")]);
    assert!(queues.create("jobs", &a, BTreeMap::new(), now()).unwrap());
    assert!(!queues.create("jobs", &a, BTreeMap::new(), now()).unwrap());
    assert!(!queues
        .create("jobs", &BTreeMap::new(), BTreeMap::new(), now())
        .unwrap());
    let err = queues
        .create(
            "jobs",
            &attrs(&[("DelaySeconds", "6")]),
            BTreeMap::new(),
            now(),
        )
        .unwrap_err();
    assert!(matches!(err, AdminError::NameExists { ref attribute } if attribute == "DelaySeconds"));
    assert_eq!(
        queues.attributes("jobs", now()).unwrap()["DelaySeconds"],
        "5"
    );
}

#[test]
fn fifo_names_and_attributes_must_agree() {
    let mut queues = Queues::new(Vec::new()).unwrap();
    let fifo = attrs(&[("FifoQueue", "true")]);
    assert!(queues
        .create("a.fifo", &fifo, BTreeMap::new(), now())
        .is_ok());
    for (name, a) in [
        ("b.fifo", BTreeMap::new()),
        ("c", fifo.clone()),
        ("bad name", BTreeMap::new()),
    ] {
        assert!(
            matches!(
                queues.create(name, &a, BTreeMap::new(), now()),
                Err(AdminError::InvalidName(_))
            ),
            "{name}"
        );
    }
    let err = queues
        .create(
            "d",
            &attrs(&[("ContentBasedDeduplication", "true")]),
            BTreeMap::new(),
            now(),
        )
        .unwrap_err();
    assert!(matches!(err, AdminError::InvalidAttributeName(_)));
}

#[test]
fn attributes_set_the_configuration_and_a_redrive_policy_needs_its_queue() {
    let mut queues = Queues::new(Vec::new()).unwrap();
    queues
        .create("dlq", &BTreeMap::new(), BTreeMap::new(), now())
        .unwrap();
    queues
        .create("q", &BTreeMap::new(), BTreeMap::new(), now())
        .unwrap();
    let policy =
        r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:dlq","maxReceiveCount":"3"}"#;
    queues
        .set_attributes(
            "q",
            &attrs(&[
                ("RedrivePolicy", policy),
                ("VisibilityTimeout", "7"),
                ("Policy", "{}"),
            ]),
            now(),
        )
        .unwrap();
    let got = queues.attributes("q", now()).unwrap();
    assert_eq!(got["VisibilityTimeout"], "7");
    assert_eq!(got["Policy"], "{}");
    assert!(got["RedrivePolicy"].contains("\"maxReceiveCount\":3"));
    assert_eq!(
        queues.dead_letter_sources("dlq").unwrap(),
        vec!["q".to_string()]
    );
    let missing =
        r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:nope","maxReceiveCount":3}"#;
    assert!(matches!(
        queues.set_attributes("q", &attrs(&[("RedrivePolicy", missing)]), now()),
        Err(AdminError::InvalidAttributeValue { .. })
    ));
    assert!(matches!(
        queues.set_attributes("q", &attrs(&[("VisibilityTimeout", "43201")]), now()),
        Err(AdminError::InvalidAttributeValue { .. })
    ));
    assert!(matches!(
        queues.set_attributes("q", &attrs(&[("Nope", "1")]), now()),
        Err(AdminError::InvalidAttributeName(_))
    ));
}

#[test]
fn api_queues_survive_a_reload_and_deleting_drops_messages() {
    let mut queues = Queues::new(vec![QueueConfig::new("manifest")]).unwrap();
    queues.stamp(now());
    queues
        .create("api", &BTreeMap::new(), BTreeMap::new(), now())
        .unwrap();
    queues.send("api", SendRequest::new("x"), now()).unwrap();
    queues
        .replace_configs(vec![QueueConfig::new("manifest")])
        .unwrap();
    assert_eq!(
        queues.names(),
        vec!["api".to_string(), "manifest".to_string()]
    );
    assert_eq!(queues.delete_queue("api").unwrap(), 1);
    assert!(queues.get("api").is_err());
}
