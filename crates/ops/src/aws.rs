//! The AWS identity the sandbox plays: one account, one default region, and the ARNs and
//! URLs built from them. Every event, envelope, log line and answer takes them from here,
//! so they agree.

/// The account every sandbox ARN uses.
pub const ACCOUNT: &str = "123456789012";
/// The region every sandbox ARN uses unless a request names another.
pub const REGION: &str = "us-east-1";
/// The execution role named in stream events' `invokeIdentityArn`.
pub const INVOKE_IDENTITY_ARN: &str = "arn:aws:iam::123456789012:role/lambda-role";

/// `arn:aws:sqs:<region>:<account>:<queue>`.
pub fn queue_arn(name: &str, region: &str, account: &str) -> String {
    format!("arn:aws:sqs:{region}:{account}:{name}")
}

/// `arn:aws:sns:us-east-1:123456789012:<topic>`.
pub fn topic_arn(topic: &str) -> String {
    format!("arn:aws:sns:{REGION}:{ACCOUNT}:{topic}")
}

/// `arn:aws:sns:us-east-1:123456789012:<topic>:<subscription id>`.
pub fn subscription_arn(topic: &str, subscription_id: &str) -> String {
    format!("{}:{subscription_id}", topic_arn(topic))
}

/// `arn:aws:events:us-east-1:123456789012:event-bus/<bus>`.
pub fn bus_arn(bus: &str) -> String {
    format!("arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{bus}")
}

/// A rule's ARN: `rule/<rule>` on the default bus, `rule/<bus>/<rule>` on others.
pub fn rule_arn(bus: &str, rule: &str) -> String {
    if bus == "default" {
        format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}")
    } else {
        format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/{bus}/{rule}")
    }
}

/// `arn:aws:events:us-east-1:123456789012:archive/<archive>`.
pub fn archive_arn(archive: &str) -> String {
    format!("arn:aws:events:{REGION}:{ACCOUNT}:archive/{archive}")
}

/// `arn:aws:events:us-east-1:123456789012:replay/<replay>`.
pub fn replay_arn(replay: &str) -> String {
    format!("arn:aws:events:{REGION}:{ACCOUNT}:replay/{replay}")
}

/// `arn:aws:kinesis:<region>:123456789012:stream/<name>`.
pub fn stream_arn(name: &str, region: &str) -> String {
    format!("arn:aws:kinesis:{region}:{ACCOUNT}:stream/{name}")
}

/// A function's Lambda name: Lambda names have no `/`, so `queues/jobs` is `queues-jobs`.
pub fn function_name(function: &str) -> String {
    function.replace('/', "-")
}

/// `arn:aws:lambda:us-east-1:123456789012:function:<name>`.
pub fn function_arn(function: &str) -> String {
    format!(
        "arn:aws:lambda:{REGION}:{ACCOUNT}:function:{}",
        function_name(function)
    )
}

/// The name at the end of a queue URL (`http://host/123456789012/jobs`), an ARN
/// (`arn:aws:sqs:...:jobs`, `...:event-bus/orders`, `...:stream/clicks`) or a plain name.
pub fn resource_name(id: &str) -> &str {
    if id.starts_with("arn:") {
        let last = id.rsplit(':').next().unwrap_or(id);
        return last.rsplit('/').next().unwrap_or(last);
    }
    id.rsplit('/').next().unwrap_or(id)
}

/// The region and service a SigV4 `Authorization` header's credential scope names
/// (`Credential=KEY/20261130/us-east-1/sqs/aws4_request`); the sandbox checks no signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialScope<'a> {
    pub region: &'a str,
    pub service: &'a str,
}

impl<'a> CredentialScope<'a> {
    pub fn parse(authorization: &'a str) -> Option<CredentialScope<'a>> {
        let rest = authorization.strip_prefix("AWS4-HMAC-SHA256")?;
        let credential = rest
            .split(',')
            .map(str::trim)
            .find_map(|part| part.strip_prefix("Credential="))?;
        let parts: Vec<&str> = credential.split('/').collect();
        match parts[..] {
            [_, _, region, service, "aws4_request"] => Some(CredentialScope { region, service }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_and_names() {
        assert_eq!(
            queue_arn("orders", REGION, ACCOUNT),
            "arn:aws:sqs:us-east-1:123456789012:orders"
        );
        assert_eq!(
            rule_arn("default", "r"),
            "arn:aws:events:us-east-1:123456789012:rule/r"
        );
        assert_eq!(
            rule_arn("b", "r"),
            "arn:aws:events:us-east-1:123456789012:rule/b/r"
        );
        assert_eq!(
            function_arn("streams/clicks/one"),
            "arn:aws:lambda:us-east-1:123456789012:function:streams-clicks-one"
        );
        assert_eq!(
            resource_name("http://127.0.0.1:3333/123456789012/jobs"),
            "jobs"
        );
        assert_eq!(
            resource_name("arn:aws:sqs:us-east-1:123456789012:jobs"),
            "jobs"
        );
        assert_eq!(
            resource_name("arn:aws:events:us-east-1:1:event-bus/orders"),
            "orders"
        );
        assert_eq!(resource_name("jobs"), "jobs");
    }

    #[test]
    fn reads_a_credential_scope() {
        let header = "AWS4-HMAC-SHA256 Credential=k/20261130/eu-west-1/sqs/aws4_request, SignedHeaders=host, Signature=x";
        assert_eq!(
            CredentialScope::parse(header),
            Some(CredentialScope {
                region: "eu-west-1",
                service: "sqs"
            })
        );
        assert_eq!(
            CredentialScope::parse("AWS4-HMAC-SHA256 Credential=broken"),
            None
        );
        assert_eq!(CredentialScope::parse("Bearer x"), None);
    }
}
