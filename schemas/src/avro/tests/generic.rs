//! The schema files alone (read from disk, parsed by apache-avro, no Rust
//! message type involved) decode what the codec writes.

use std::collections::BTreeSet;

use apache_avro::{GenericSingleObjectReader, Schema, types::Value};
use serde_json::json;

use super::{events, order_envelopes, place_envelope, reply_envelopes, stock_envelopes};
use crate::avro::{AvroMessage, SCHEMA_FILES, SINGLE_OBJECT_MAGIC, canonical};
use crate::{OrderReply, ReplyBody};

/// The text of `schemas/avro/<name>`, read from disk.
pub(super) fn schema_file(name: &str) -> String {
    let path = format!("{}/avro/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Parses the schema file alone and reads `bytes` with a generic
/// single-object reader, which checks the header against the fingerprint of
/// the file's Parsing Canonical Form (apache-avro's own is not the
/// specification's: AVRO-4004).
pub(super) fn read_generic(file: &str, bytes: &[u8]) -> (Schema, Value) {
    let text = schema_file(file);
    let schema = Schema::parse_str(&text).unwrap();
    let mut header = SINGLE_OBJECT_MAGIC.to_vec();
    header.extend_from_slice(&canonical::fingerprint(&text).unwrap());
    let reader = GenericSingleObjectReader::builder()
        .schema(schema.clone())
        .header(header)
        .build()
        .unwrap();
    let value = reader.read_value(&mut &bytes[..]).unwrap();
    (schema, value)
}

/// Field `name` of a record value.
fn field<'a>(v: &'a Value, name: &str) -> &'a Value {
    match v {
        Value::Record(fields) => fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("no field {name}")),
        other => panic!("not a record: {other:?}"),
    }
}

/// The schema of field `name` of a record schema.
fn field_schema<'a>(s: &'a Schema, name: &str) -> &'a Schema {
    match s {
        Schema::Record(r) => &r.fields[r.lookup[name]].schema,
        other => panic!("not a record schema: {other:?}"),
    }
}

/// For a union field value: the full name of the branch taken, its schema and value.
fn branch<'a>(
    record_schema: &'a Schema,
    record: &'a Value,
    name: &str,
) -> (String, &'a Schema, &'a Value) {
    let Schema::Union(u) = field_schema(record_schema, name) else {
        panic!("{name} is not a union");
    };
    let Value::Union(index, inner) = field(record, name) else {
        panic!("{name} holds no union value");
    };
    let s = &u.variants()[*index as usize];
    (s.name().unwrap().fullname(None), s, inner)
}

#[test]
fn every_schema_file_parses_on_its_own() {
    let dir = format!("{}/avro", env!("CARGO_MANIFEST_DIR"));
    let on_disk: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".avsc"))
        .collect();
    let embedded: BTreeSet<String> = SCHEMA_FILES.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(on_disk, embedded, "every .avsc file is embedded");
    let mut fingerprints = BTreeSet::new();
    for (name, text) in SCHEMA_FILES {
        assert_eq!(schema_file(name), text, "{name} embedded as on disk");
        let schema = Schema::parse_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let Schema::Record(root) = &schema else {
            panic!("{name}: the root is not a record");
        };
        assert_eq!(root.name.namespace(), Some("dev.agusto.v1"), "{name}");
        assert!(root.doc.is_some(), "{name}: root has a doc");
        fingerprints.insert(canonical::fingerprint(text).unwrap());
    }
    assert_eq!(fingerprints.len(), SCHEMA_FILES.len());
}

/// Every sample decodes with the schema file alone to the same generic value
/// the codec built.
fn matches_generic<T: AvroMessage + std::fmt::Debug>(samples: &[T]) {
    for sample in samples {
        let (_, value) = read_generic(T::codec().file(), &sample.encode());
        assert_eq!(value, sample.to_value(), "{sample:?}");
    }
}

#[test]
fn every_sample_decodes_with_the_schema_file_alone() {
    matches_generic(&stock_envelopes());
    matches_generic(&order_envelopes());
    matches_generic(&reply_envelopes());
    matches_generic(&events());
}

#[test]
fn a_stock_command_read_generically() {
    let env = stock_envelopes()
        .into_iter()
        .find(|e| matches!(e.command, crate::StockCommand::Reserve { .. }) && e.reply_to.is_some())
        .unwrap();
    let (schema, v) = read_generic("stock_envelope.avsc", &env.encode());
    assert_eq!(
        field(&v, "correlation_id"),
        &Value::String(env.correlation_id)
    );
    assert_eq!(
        field(&v, "issued_at"),
        &Value::TimestampMicros(env.issued_at.timestamp_micros())
    );
    let (name, _, reply_to) = branch(&schema, &v, "reply_to");
    assert_eq!(name, "dev.agusto.v1.ReplyTo");
    assert_eq!(field(reply_to, "partition"), &Value::Long(3));
    let (name, _, command) = branch(&schema, &v, "command");
    assert_eq!(name, "dev.agusto.v1.stock_command.Reserve");
    let Value::Array(lines) = field(command, "lines") else {
        panic!("lines is not an array");
    };
    assert_eq!(
        field(&lines[1], "product_code"),
        &Value::String("P-ÆØÅ-😀".into())
    );
    assert_eq!(field(&lines[1], "quantity"), &Value::Long(i64::MAX));
}

#[test]
fn an_order_place_read_generically() {
    let env = place_envelope();
    let (schema, v) = read_generic("order_envelope.avsc", &env.encode());
    assert_eq!(
        field(&v, "correlation_id"),
        &Value::String(env.correlation_id)
    );
    let (name, s, place) = branch(&schema, &v, "command");
    assert_eq!(name, "dev.agusto.v1.order_command.Place");
    let order = field(place, "order");
    assert_eq!(
        field(order, "order_id"),
        &Value::String("ord_3f9c2a7b1e0d4c5a6b7c".into())
    );
    let Value::Union(1, customer) = field(order, "customer") else {
        panic!("customer is not set");
    };
    let Value::String(text) = customer.as_ref() else {
        panic!("customer is not a string");
    };
    let parsed: serde_json::Value = serde_json::from_str(text).unwrap();
    assert_eq!(
        parsed,
        json!({"name": "Ada Lovelace", "email": "ada@example.com"})
    );
    let Value::Array(lines) = field(order, "lines") else {
        panic!("lines is not an array");
    };
    assert_eq!(
        field(&lines[0], "sku"),
        &Value::String("SHIRT-RED-M".into())
    );
    let order_schema = field_schema(s, "order");
    assert_eq!(
        order_schema.name().unwrap().fullname(None),
        "dev.agusto.v1.NewOrder"
    );
}

#[test]
fn an_order_reply_read_generically() {
    let env = reply_envelopes()
        .into_iter()
        .find(|e| matches!(&e.body, ReplyBody::Order(OrderReply::Existing(_))))
        .unwrap();
    let (schema, v) = read_generic("reply_envelope.avsc", &env.encode());
    assert_eq!(field(&v, "instance"), &Value::String("ingest-7f3a".into()));
    let (name, body_schema, body) = branch(&schema, &v, "body");
    assert_eq!(name, "dev.agusto.v1.OrderReply");
    let (name, _, reply) = branch(body_schema, body, "reply");
    assert_eq!(name, "dev.agusto.v1.order_reply.Existing");
    let order = field(reply, "order");
    assert_eq!(field(order, "status"), &Value::Enum(4, "dispatched".into()));
    let Value::Array(history) = field(order, "history") else {
        panic!("history is not an array");
    };
    let symbols: Vec<_> = history
        .iter()
        .map(|h| match field(h, "status") {
            Value::Enum(_, s) => s.as_str(),
            other => panic!("{other:?}"),
        })
        .collect();
    let expected: Vec<_> = crate::OrderStatus::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(symbols, expected);
}

#[test]
fn an_event_read_generically() {
    let event = &events()[0];
    let (_, v) = read_generic("event.avsc", &event.encode());
    assert_eq!(field(&v, "id"), &Value::String("evt_1".into()));
    assert_eq!(
        field(&v, "event_type"),
        &Value::Enum(0, "stock_changed".into())
    );
    assert_eq!(
        field(&v, "channel_id"),
        &Value::Union(0, Box::new(Value::Null))
    );
    let Value::String(data) = field(&v, "data") else {
        panic!("data is not a string");
    };
    let data: serde_json::Value = serde_json::from_str(data).unwrap();
    assert_eq!(data["sku"], "P-MUG");
}
