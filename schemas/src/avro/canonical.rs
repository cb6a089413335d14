//! The Avro specification's [Parsing Canonical Form] of a schema and its
//! CRC-64-AVRO (Rabin) fingerprint, computed from the schema's JSON text.
//!
//! apache-avro 0.22 keeps the attributes of a logical type's base type
//! (`{"type":"long"}` instead of `"long"`; upstream AVRO-4004), so its
//! fingerprints differ from those of Java, fastavro and schema registries.
//! This module follows the specification instead:
//!
//! - \[PRIMITIVES\] a primitive is written in its simple form, `"long"`;
//! - \[FULLNAMES\] names (of definitions and of references) are full names;
//! - \[STRIP\] only `name`, `type`, `fields`, `symbols`, `items`, `values` and
//!   `size` are kept: no `doc`, `namespace`, `default`, `aliases`, `order` or
//!   `logicalType` (so a logical type is its base type);
//! - \[ORDER\] attributes in the order just listed;
//! - \[STRINGS\] / \[INTEGERS\] / \[WHITESPACE\] JSON without escapes that UTF-8
//!   can spell, sizes as plain integers, no whitespace.
//!
//! [Parsing Canonical Form]: https://avro.apache.org/docs/1.12.0/specification/#parsing-canonical-form-for-schemas

use serde_json::{Map, Value};

/// Why a schema's JSON has no canonical form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an Avro schema: {0}")]
pub struct CanonicalError(String);

const PRIMITIVES: [&str; 8] = [
    "null", "boolean", "int", "long", "float", "double", "bytes", "string",
];

/// The Parsing Canonical Form of the schema given as JSON text (an `.avsc` file).
pub fn parsing_canonical_form_str(avsc: &str) -> Result<String, CanonicalError> {
    let json: Value = serde_json::from_str(avsc).map_err(|e| CanonicalError(e.to_string()))?;
    parsing_canonical_form(&json)
}

/// The Parsing Canonical Form of a schema given as parsed JSON. Two schemas
/// that read and write the same binary data have the same form.
pub fn parsing_canonical_form(schema: &Value) -> Result<String, CanonicalError> {
    let mut out = String::new();
    write_schema(schema, "", &mut out)?;
    Ok(out)
}

/// The CRC-64-AVRO (Rabin) fingerprint of `bytes`, as the 8 little-endian
/// bytes that single-object encoding writes after `C3 01`.
pub fn rabin_fingerprint(bytes: &[u8]) -> [u8; 8] {
    const EMPTY: u64 = 0xc15d_213a_a4d7_a795;
    let table: [u64; 256] = std::array::from_fn(|i| {
        let mut fp = i as u64;
        for _ in 0..8 {
            fp = (fp >> 1) ^ (EMPTY & (fp & 1).wrapping_neg());
        }
        fp
    });
    let fp = bytes.iter().fold(EMPTY, |fp, b| {
        (fp >> 8) ^ table[((fp ^ u64::from(*b)) & 0xff) as usize]
    });
    fp.to_le_bytes()
}

/// The single-object fingerprint of the schema given as JSON text: CRC-64-AVRO
/// of its Parsing Canonical Form, little-endian.
pub fn fingerprint(avsc: &str) -> Result<[u8; 8], CanonicalError> {
    Ok(rabin_fingerprint(
        parsing_canonical_form_str(avsc)?.as_bytes(),
    ))
}

/// Writes `s` as a JSON string literal (UTF-8 kept, only what JSON requires escaped).
fn write_str(s: &str, out: &mut String) {
    out.push_str(&Value::from(s).to_string());
}

/// The full name of a name used in namespace `ns` (the FULLNAMES rule).
fn full_name(name: &str, ns: &str) -> String {
    if name.contains('.') || ns.is_empty() {
        name.to_owned()
    } else {
        format!("{ns}.{name}")
    }
}

/// The full name a named type (record, enum, fixed) defines, enclosed in `ns`.
fn defined_name(obj: &Map<String, Value>, ns: &str) -> Result<String, CanonicalError> {
    let name = obj
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| CanonicalError(format!("a named type without a name: {obj:?}")))?;
    if name.contains('.') {
        return Ok(name.to_owned());
    }
    let ns = match obj.get("namespace") {
        None | Some(Value::Null) => ns,
        Some(Value::String(own)) => own.as_str(),
        Some(other) => return Err(CanonicalError(format!("namespace {other} is no string"))),
    };
    Ok(full_name(name, ns))
}

/// The namespace part of a full name ("" for none).
fn namespace_of(full: &str) -> &str {
    full.rsplit_once('.').map_or("", |(ns, _)| ns)
}

fn write_schema(schema: &Value, ns: &str, out: &mut String) -> Result<(), CanonicalError> {
    match schema {
        Value::String(name) => write_reference(name, ns, out),
        Value::Array(branches) => {
            out.push('[');
            for (i, branch) in branches.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_schema(branch, ns, out)?;
            }
            out.push(']');
            Ok(())
        }
        Value::Object(obj) => write_object(obj, ns, out),
        other => Err(CanonicalError(format!("{other} is no schema"))),
    }
}

/// A primitive's name, or a reference to a named type by its full name.
fn write_reference(name: &str, ns: &str, out: &mut String) -> Result<(), CanonicalError> {
    if PRIMITIVES.contains(&name) {
        write_str(name, out);
    } else {
        write_str(&full_name(name, ns), out);
    }
    Ok(())
}

fn write_object(
    obj: &Map<String, Value>,
    ns: &str,
    out: &mut String,
) -> Result<(), CanonicalError> {
    let Some(Value::String(kind)) = obj.get("type") else {
        return Err(CanonicalError(format!("no type name in {obj:?}")));
    };
    let attr = |key: &str| {
        obj.get(key)
            .ok_or_else(|| CanonicalError(format!("a {kind} without {key}")))
    };
    match kind.as_str() {
        // Java writes an error's form as a record's; errors are records on the wire.
        "record" | "error" => {
            let full = defined_name(obj, ns)?;
            let inner = namespace_of(&full);
            out.push_str("{\"name\":");
            write_str(&full, out);
            out.push_str(",\"type\":\"record\",\"fields\":[");
            let fields = attr("fields")?
                .as_array()
                .ok_or_else(|| CanonicalError(format!("fields of {full} are no array")))?;
            for (i, field) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let name = field.get("name").and_then(Value::as_str);
                let (Some(name), Some(ty)) = (name, field.get("type")) else {
                    return Err(CanonicalError(format!("a field of {full}: {field}")));
                };
                out.push_str("{\"name\":");
                write_str(name, out);
                out.push_str(",\"type\":");
                write_schema(ty, inner, out)?;
                out.push('}');
            }
            out.push_str("]}");
        }
        "enum" => {
            let full = defined_name(obj, ns)?;
            out.push_str("{\"name\":");
            write_str(&full, out);
            out.push_str(",\"type\":\"enum\",\"symbols\":[");
            let symbols = attr("symbols")?
                .as_array()
                .ok_or_else(|| CanonicalError(format!("symbols of {full} are no array")))?;
            for (i, symbol) in symbols.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let symbol = symbol
                    .as_str()
                    .ok_or_else(|| CanonicalError(format!("symbol {symbol} of {full}")))?;
                write_str(symbol, out);
            }
            out.push_str("]}");
        }
        "array" => {
            out.push_str("{\"type\":\"array\",\"items\":");
            write_schema(attr("items")?, ns, out)?;
            out.push('}');
        }
        "map" => {
            out.push_str("{\"type\":\"map\",\"values\":");
            write_schema(attr("values")?, ns, out)?;
            out.push('}');
        }
        "fixed" => {
            let full = defined_name(obj, ns)?;
            let size = match attr("size")? {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => s.trim().parse::<u64>().ok(),
                _ => None,
            }
            .ok_or_else(|| CanonicalError(format!("size of {full} is no integer")))?;
            out.push_str("{\"name\":");
            write_str(&full, out);
            out.push_str(&format!(",\"type\":\"fixed\",\"size\":{size}}}"));
        }
        // A primitive in object form, logical type or not, or `{"type": "<a named type>"}`.
        other => write_reference(other, ns, out)?,
    }
    Ok(())
}
