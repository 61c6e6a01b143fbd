//! The Query protocol's requests (`Action=SendMessage&MessageAttribute.1.Name=…`) read
//! into the JSON form the service modules work on, by walking the operation's input shape
//! the way botocore's `QuerySerializer` writes it: structure members by `locationName`,
//! lists as `Name.member.N` (or `Name.N` when flattened), maps as `Name.entry.N.key` (or
//! `Name.N.Name`/`Name.N.Value` with the model's names), numbers and booleans typed by
//! their shape, blobs left base64 and timestamps turned into epoch seconds as the JSON
//! protocols carry them.

use std::collections::HashMap;

use serde_json::{Map, Number, Value};

use crate::error::AwsError;
use crate::model::{Kind, Model, ShapeRef};

/// Form parameters by name (the first value of a repeated name wins).
pub struct Params(HashMap<String, String>);

impl Params {
    /// Parses a form body and a query string together.
    pub fn parse(parts: &[&[u8]]) -> Params {
        let mut map = HashMap::new();
        for part in parts {
            for (k, v) in form_urlencoded(part) {
                map.entry(k).or_insert(v);
            }
        }
        Params(map)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Whether anything is set at `prefix` or below it.
    fn has(&self, prefix: &str) -> bool {
        self.0.contains_key(prefix) || {
            let dotted = format!("{prefix}.");
            self.0.keys().any(|k| k.starts_with(&dotted))
        }
    }
}

fn form_urlencoded(bytes: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes).unwrap_or_default()
}

/// Reads the input of `operation` from `params` into its JSON form.
pub fn decode(model: &Model, operation: &str, params: &Params) -> Result<Value, AwsError> {
    let Some(op) = model.operation(operation) else {
        return Err(AwsError::invalid_action(operation));
    };
    match &op.input {
        Some(input) => structure(model, &input.shape, "", params),
        None => Ok(Value::Object(Map::new())),
    }
}

fn structure(model: &Model, shape: &str, prefix: &str, params: &Params) -> Result<Value, AwsError> {
    let mut out = Map::new();
    for (name, member) in &model.shape(shape).members {
        let key = join(prefix, model.wire_name(member, name));
        if let Some(value) = read(model, member, &key, params)? {
            out.insert(name.clone(), value);
        }
    }
    Ok(Value::Object(out))
}

fn read(
    model: &Model,
    r: &ShapeRef,
    key: &str,
    params: &Params,
) -> Result<Option<Value>, AwsError> {
    let shape = model.shape(&r.shape);
    match shape.kind {
        Kind::Structure => {
            if !params.has(key) {
                return Ok(None);
            }
            structure(model, &r.shape, key, params).map(Some)
        }
        Kind::List => {
            let member = shape.member.as_ref().expect("list shapes have a member");
            let base = if shape.flattened || r.flattened {
                match model.ref_name(member) {
                    // botocore replaces the last name with the member's.
                    Some(name) => replace_last(key, name),
                    None => key.to_string(),
                }
            } else {
                join(key, model.ref_name(member).unwrap_or("member"))
            };
            if params.get(key) == Some("") {
                return Ok(Some(Value::Array(Vec::new())));
            }
            let mut items = Vec::new();
            for i in 1.. {
                let item_key = format!("{base}.{i}");
                match read(model, member, &item_key, params)? {
                    Some(item) => items.push(item),
                    None => break,
                }
            }
            Ok((!items.is_empty()).then_some(Value::Array(items)))
        }
        Kind::Map => {
            let (k, v) = (shape.key.as_ref(), shape.value.as_ref());
            let (k, v) = (k.expect("map key"), v.expect("map value"));
            let base = if shape.flattened || r.flattened {
                key.to_string()
            } else {
                join(key, "entry")
            };
            let key_name = model.ref_name(k).unwrap_or("key");
            let value_name = model.ref_name(v).unwrap_or("value");
            let mut out = Map::new();
            for i in 1.. {
                let Some(name) = params.get(&format!("{base}.{i}.{key_name}")) else {
                    break;
                };
                let value = read(model, v, &format!("{base}.{i}.{value_name}"), params)?
                    .unwrap_or(Value::Null);
                out.insert(name.to_string(), value);
            }
            Ok((!out.is_empty()).then_some(Value::Object(out)))
        }
        kind => params
            .get(key)
            .map(|text| scalar(kind, key, text))
            .transpose(),
    }
}

fn scalar(kind: Kind, key: &str, text: &str) -> Result<Value, AwsError> {
    let bad = |what: &str| {
        AwsError::invalid_parameter_value(format!(
            "Value ({text}) for parameter {key} is invalid. Must be {what}."
        ))
    };
    Ok(match kind {
        Kind::Integer | Kind::Long => Value::Number(
            text.trim()
                .parse::<i64>()
                .map_err(|_| bad("an integer"))?
                .into(),
        ),
        Kind::Double | Kind::Float => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| bad("a number"))?,
        Kind::Boolean => match text.trim().to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(bad("true or false")),
        },
        Kind::Timestamp => {
            let seconds = match chrono::DateTime::parse_from_rfc3339(text.trim()) {
                Ok(t) => t.timestamp_millis() as f64 / 1000.0,
                Err(_) => text.trim().parse::<f64>().map_err(|_| bad("a timestamp"))?,
            };
            Number::from_f64(seconds)
                .map(Value::Number)
                .ok_or_else(|| bad("a timestamp"))?
        }
        _ => Value::String(text.to_string()),
    })
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

fn replace_last(key: &str, name: &str) -> String {
    match key.rsplit_once('.') {
        Some((head, _)) => format!("{head}.{name}"),
        None => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SNS, SQS_QUERY};
    use serde_json::json;

    fn params(form: &str) -> Params {
        Params::parse(&[form.as_bytes()])
    }

    #[test]
    fn reads_sqs_flattened_maps_and_lists_as_botocore_writes_them() {
        let form = "Action=SendMessage&Version=2012-11-05&QueueUrl=http%3A%2F%2Fq&MessageBody=hi\
            &DelaySeconds=5&MessageAttribute.1.Name=color&MessageAttribute.1.Value.DataType=String\
            &MessageAttribute.1.Value.StringValue=red";
        let input = decode(&SQS_QUERY, "SendMessage", &params(form)).unwrap();
        assert_eq!(
            input,
            json!({"QueueUrl": "http://q", "MessageBody": "hi", "DelaySeconds": 5,
                   "MessageAttributes": {"color": {"DataType": "String", "StringValue": "red"}}})
        );
        let form = "AttributeName.1=All&MessageAttributeName.1=a.*&MessageAttributeName.2=b\
            &QueueUrl=u&MaxNumberOfMessages=10";
        let input = decode(&SQS_QUERY, "ReceiveMessage", &params(form)).unwrap();
        assert_eq!(input["AttributeNames"], json!(["All"]));
        assert_eq!(input["MessageAttributeNames"], json!(["a.*", "b"]));
        assert_eq!(input["MaxNumberOfMessages"], json!(10));
        let form = "QueueName=q&Attribute.1.Name=DelaySeconds&Attribute.1.Value=3&Tag.1.Key=k&Tag.1.Value=v";
        let input = decode(&SQS_QUERY, "CreateQueue", &params(form)).unwrap();
        assert_eq!(input["Attributes"], json!({"DelaySeconds": "3"}));
        assert_eq!(input["tags"], json!({"k": "v"}));
    }

    #[test]
    fn reads_sns_member_lists_and_entry_maps() {
        let form = "TopicArn=t&PublishBatchRequestEntries.member.1.Id=a&PublishBatchRequestEntries.member.1.Message=m\
            &PublishBatchRequestEntries.member.1.MessageAttributes.entry.1.Name=k\
            &PublishBatchRequestEntries.member.1.MessageAttributes.entry.1.Value.DataType=Number\
            &PublishBatchRequestEntries.member.1.MessageAttributes.entry.1.Value.StringValue=1";
        let input = decode(&SNS, "PublishBatch", &params(form)).unwrap();
        assert_eq!(
            input["PublishBatchRequestEntries"],
            json!([{"Id": "a", "Message": "m",
                    "MessageAttributes": {"k": {"DataType": "Number", "StringValue": "1"}}}])
        );
        let input = decode(
            &SNS,
            "CreateTopic",
            &params("Name=t&Attributes.entry.1.key=FifoTopic&Attributes.entry.1.value=true"),
        )
        .unwrap();
        assert_eq!(input["Attributes"], json!({"FifoTopic": "true"}));
    }

    #[test]
    fn a_badly_typed_parameter_is_named() {
        let err = decode(
            &SQS_QUERY,
            "ReceiveMessage",
            &params("QueueUrl=u&MaxNumberOfMessages=ten"),
        )
        .unwrap_err();
        assert!(
            err.message.contains("MaxNumberOfMessages"),
            "{}",
            err.message
        );
        assert_eq!(err.code, "InvalidParameterValue");
    }
}
