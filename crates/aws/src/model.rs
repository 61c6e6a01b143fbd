//! AWS's own service models (botocore's `service-2.json`, documentation stripped; see
//! `models/strip.py`): the shapes the Query and CBOR codecs walk to turn wire forms into
//! the JSON form every service module works on, and back.
//!
//! Only what the codecs need is read: operations' input and output shapes (and the Query
//! result wrapper), and each shape's type, members, list member, map key and value, and
//! the XML names (`locationName`, `flattened`).

use std::collections::BTreeMap;

use serde::Deserialize;

/// One service's model.
#[derive(Debug, Deserialize)]
pub struct Model {
    pub metadata: Metadata,
    pub operations: BTreeMap<String, Operation>,
    pub shapes: BTreeMap<String, Shape>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    #[serde(default)]
    pub xml_namespace: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Operation {
    #[serde(default)]
    pub input: Option<ShapeRef>,
    #[serde(default)]
    pub output: Option<ShapeRef>,
}

/// A reference to a shape, with the serialisation traits the reference carries.
#[derive(Debug, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ShapeRef {
    pub shape: String,
    #[serde(default)]
    pub location_name: Option<String>,
    #[serde(default)]
    pub result_wrapper: Option<String>,
    #[serde(default)]
    pub flattened: bool,
}

#[derive(Debug, Deserialize)]
pub struct Shape {
    #[serde(rename = "type")]
    pub kind: Kind,
    #[serde(default)]
    pub members: BTreeMap<String, ShapeRef>,
    #[serde(default)]
    pub member: Option<ShapeRef>,
    #[serde(default)]
    pub key: Option<ShapeRef>,
    #[serde(default)]
    pub value: Option<ShapeRef>,
    #[serde(default)]
    pub flattened: bool,
    /// A name the shape gives itself wherever it is used (SQS's `TagMap` is `Tag`).
    #[serde(default, rename = "locationName")]
    pub location_name: Option<String>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Structure,
    List,
    Map,
    String,
    Integer,
    Long,
    Boolean,
    Blob,
    Timestamp,
    Double,
    Float,
}

impl Model {
    /// Parses an embedded model; a broken one is a build defect, caught by the tests.
    pub fn parse(text: &str) -> Model {
        serde_json::from_str(text).expect("embedded AWS model parses")
    }

    pub fn shape(&self, name: &str) -> &Shape {
        &self.shapes[name]
    }

    /// The wire name of a member: the reference's `locationName`, else the shape's, else
    /// the member's own name (botocore merges them the same way).
    pub fn wire_name<'a>(&'a self, member: &'a ShapeRef, name: &'a str) -> &'a str {
        member
            .location_name
            .as_deref()
            .or(self.shape(&member.shape).location_name.as_deref())
            .unwrap_or(name)
    }

    /// The `locationName` a reference carries or its shape gives itself.
    pub fn ref_name<'a>(&'a self, r: &'a ShapeRef) -> Option<&'a str> {
        r.location_name
            .as_deref()
            .or(self.shape(&r.shape).location_name.as_deref())
    }

    pub fn operation(&self, name: &str) -> Option<&Operation> {
        self.operations.get(name)
    }
}

macro_rules! model {
    ($name:ident, $file:literal) => {
        pub static $name: std::sync::LazyLock<Model> =
            std::sync::LazyLock::new(|| Model::parse(include_str!(concat!("../models/", $file))));
    };
}

model!(SQS_QUERY, "sqs-query.json");
model!(SNS, "sns.json");
model!(KINESIS, "kinesis.json");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_model_parses_and_refers_only_to_its_own_shapes() {
        for model in [&*SQS_QUERY, &*SNS, &*KINESIS] {
            for shape in model.shapes.values() {
                let refs = shape
                    .members
                    .values()
                    .chain(&shape.member)
                    .chain(&shape.key)
                    .chain(&shape.value);
                for r in refs {
                    assert!(model.shapes.contains_key(&r.shape), "{}", r.shape);
                }
            }
        }
        assert_eq!(SQS_QUERY.operations.len(), 23);
    }
}
