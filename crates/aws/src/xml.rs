//! The Query protocol's XML answers, written from the JSON form of an operation's output
//! by walking its output shape the way botocore's `QueryParser` reads them back:
//! `<OpResponse><OpResult>…</OpResult><ResponseMetadata>…`, element names from
//! `locationName`, lists as `<member>` (or repeated elements when flattened), maps as
//! `<entry><key/><value/></entry>` (or repeated named pairs when flattened), and the
//! `<ErrorResponse>` form of errors.

use std::fmt::Write;

use serde_json::Value;

use crate::error::AwsError;
use crate::model::{Kind, Model, ShapeRef};

/// The whole answer to `operation`.
pub fn response(model: &Model, operation: &str, output: &Value, request_id: &str) -> String {
    let namespace = model.metadata.xml_namespace.as_deref().unwrap_or("");
    let mut xml = String::new();
    let _ = write!(
        xml,
        "<?xml version=\"1.0\"?><{operation}Response xmlns=\"{namespace}\">"
    );
    if let Some(out) = model.operation(operation).and_then(|op| op.output.as_ref()) {
        let wrapper = out
            .result_wrapper
            .clone()
            .unwrap_or_else(|| format!("{operation}Result"));
        let _ = write!(xml, "<{wrapper}>");
        members(model, &out.shape, output, &mut xml);
        let _ = write!(xml, "</{wrapper}>");
    }
    let _ = write!(
        xml,
        "<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{operation}Response>"
    );
    xml
}

/// An error, as the Query protocol answers it.
pub fn error(model: &Model, error: &AwsError, request_id: &str) -> String {
    let namespace = model.metadata.xml_namespace.as_deref().unwrap_or("");
    format!(
        "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"{namespace}\"><Error><Type>{}</Type><Code>{}</Code>\
         <Message>{}</Message><Detail/></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
        if error.sender { "Sender" } else { "Receiver" },
        escape(error.query_code()),
        escape(&error.message),
    )
}

fn members(model: &Model, shape: &str, value: &Value, xml: &mut String) {
    let Some(object) = value.as_object() else {
        return;
    };
    for (name, member) in &model.shape(shape).members {
        if let Some(v) = object.get(name).filter(|v| !v.is_null()) {
            let element = model.wire_name(member, name);
            write_value(model, member, element, v, xml);
        }
    }
}

fn write_value(model: &Model, r: &ShapeRef, element: &str, value: &Value, xml: &mut String) {
    let shape = model.shape(&r.shape);
    match shape.kind {
        Kind::Structure => {
            let _ = write!(xml, "<{element}>");
            members(model, &r.shape, value, xml);
            let _ = write!(xml, "</{element}>");
        }
        Kind::List => {
            let member = shape.member.as_ref().expect("list shapes have a member");
            let items = value.as_array().map(Vec::as_slice).unwrap_or_default();
            if shape.flattened || r.flattened {
                let name = model.ref_name(member).unwrap_or(element);
                for item in items {
                    write_value(model, member, name, item, xml);
                }
            } else {
                let name = model.ref_name(member).unwrap_or("member");
                let _ = write!(xml, "<{element}>");
                for item in items {
                    write_value(model, member, name, item, xml);
                }
                let _ = write!(xml, "</{element}>");
            }
        }
        Kind::Map => {
            let (k, v) = (
                shape.key.as_ref().expect("key"),
                shape.value.as_ref().expect("value"),
            );
            let key_name = model.ref_name(k).unwrap_or("key");
            let value_name = model.ref_name(v).unwrap_or("value");
            let Some(entries) = value.as_object() else {
                return;
            };
            let flat = shape.flattened || r.flattened;
            if !flat {
                let _ = write!(xml, "<{element}>");
            }
            for (key, item) in entries {
                let _ = write!(xml, "<{}>", if flat { element } else { "entry" });
                let _ = write!(xml, "<{key_name}>{}</{key_name}>", escape(key));
                write_value(model, v, value_name, item, xml);
                let _ = write!(xml, "</{}>", if flat { element } else { "entry" });
            }
            if !flat {
                let _ = write!(xml, "</{element}>");
            }
        }
        kind => {
            let text = match (kind, value) {
                (Kind::Timestamp, Value::Number(n)) => {
                    let millis = (n.as_f64().unwrap_or(0.0) * 1000.0).round() as i64;
                    chrono::DateTime::from_timestamp_millis(millis)
                        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                        .unwrap_or_default()
                }
                (_, Value::String(s)) => s.clone(),
                (_, other) => other.to_string(),
            };
            let _ = write!(xml, "<{element}>{}</{element}>", escape(&text));
        }
    }
}

/// XML text escaping, including the carriage return SQS bodies may carry.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SNS, SQS_QUERY};
    use serde_json::json;

    #[test]
    fn writes_sqs_messages_as_flattened_elements() {
        let output = json!({"Messages": [{"MessageId": "m1", "Body": "a<b",
            "Attributes": {"SenderId": "x"},
            "MessageAttributes": {"c": {"DataType": "String", "StringValue": "red"}}}]});
        let xml = response(&SQS_QUERY, "ReceiveMessage", &output, "r1");
        assert!(xml.contains("<ReceiveMessageResult><Message>"), "{xml}");
        assert!(xml.contains("<Body>a&lt;b</Body>"), "{xml}");
        assert!(
            xml.contains("<Attribute><Name>SenderId</Name><Value>x</Value></Attribute>"),
            "{xml}"
        );
        assert!(xml.contains("<MessageAttribute><Name>c</Name><Value><DataType>String</DataType><StringValue>red</StringValue></Value></MessageAttribute>"), "{xml}");
        assert!(xml.contains("<RequestId>r1</RequestId>"));
        let xml = response(
            &SQS_QUERY,
            "ListQueues",
            &json!({"QueueUrls": ["u1", "u2"]}),
            "r",
        );
        assert!(xml.contains("<ListQueuesResult><QueueUrl>u1</QueueUrl><QueueUrl>u2</QueueUrl></ListQueuesResult>"), "{xml}");
    }

    #[test]
    fn writes_sns_member_lists_and_entry_maps() {
        let xml = response(
            &SNS,
            "ListTopics",
            &json!({"Topics": [{"TopicArn": "a"}]}),
            "r",
        );
        assert!(
            xml.contains("<Topics><member><TopicArn>a</TopicArn></member></Topics>"),
            "{xml}"
        );
        let xml = response(
            &SNS,
            "GetTopicAttributes",
            &json!({"Attributes": {"k": "v"}}),
            "r",
        );
        assert!(
            xml.contains("<Attributes><entry><key>k</key><value>v</value></entry></Attributes>"),
            "{xml}"
        );
    }
}
