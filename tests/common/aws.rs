//! The official AWS SDK clients, pointed at a sandbox the way users point them: endpoint
//! URL, any credentials, a region. Plain HTTP (the sandbox listens on loopback), so the
//! tests need no TLS stack.

#![allow(dead_code)]

use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region, SharedHttpClient};
use sandbox_testing::Sandbox;

/// One tokio runtime for a test's SDK calls (the tests themselves are synchronous).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new().build_http()
}

fn credentials() -> Credentials {
    Credentials::new("test", "test", None, None, "sandbox-tests")
}

macro_rules! client {
    ($name:ident, $krate:ident) => {
        pub fn $name(sandbox: &Sandbox) -> $krate::Client {
            let config = $krate::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .endpoint_url(sandbox.base_url())
                .region(Region::new("us-east-1"))
                .credentials_provider(credentials())
                .http_client(http_client())
                .build();
            $krate::Client::from_conf(config)
        }
    };
}

client!(sqs, aws_sdk_sqs);
client!(sns, aws_sdk_sns);
client!(kinesis, aws_sdk_kinesis);
client!(eventbridge, aws_sdk_eventbridge);

/// The service error code of a failed SDK call (`QueueDoesNotExist`, …), for asserting.
pub fn code<E, R>(err: &aws_sdk_sqs::error::SdkError<E, R>) -> String
where
    E: aws_sdk_sqs::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    match err {
        aws_sdk_sqs::error::SdkError::ServiceError(e) => {
            e.err().code().unwrap_or("<no code>").to_string()
        }
        other => format!("<not a service error: {other:?}>"),
    }
}

/// Makes the topic `name` through SNS and subscribes the queue `queue_arn` to it with
/// `attributes` (RawMessageDelivery, FilterPolicy, …); the topic's ARN.
pub fn topic_to_queue(
    rt: &tokio::runtime::Runtime,
    sandbox: &Sandbox,
    name: &str,
    queue_arn: &str,
    attributes: &[(&str, &str)],
) -> String {
    let sns = sns(sandbox);
    let topic = rt
        .block_on(sns.create_topic().name(name).send())
        .unwrap()
        .topic_arn
        .unwrap();
    let mut subscribe = sns
        .subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(queue_arn);
    for (key, value) in attributes {
        subscribe = subscribe.attributes(*key, *value);
    }
    rt.block_on(subscribe.send()).unwrap();
    topic
}
