//! Small helpers to build and take apart generic Avro values.

use apache_avro::types::Value;
use chrono::DateTime;

use super::CodecError;
use crate::Timestamp;

/// A record value from `(field, value)` pairs, in schema order.
pub(super) fn record(fields: Vec<(&str, Value)>) -> Value {
    Value::Record(
        fields
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect(),
    )
}

/// A record with no fields (a Rust enum variant without data).
pub(super) fn unit() -> Value {
    Value::Record(Vec::new())
}

/// Branch `index` of a union.
pub(super) fn branch(index: u32, value: Value) -> Value {
    Value::Union(index, Box::new(value))
}

/// A string value.
pub(super) fn string(s: &str) -> Value {
    Value::String(s.to_owned())
}

/// A `timestamp-micros` value.
pub(super) fn ts(t: &Timestamp) -> Value {
    Value::TimestampMicros(t.timestamp_micros())
}

/// `["null", T]`: branch 0 for `None`, branch 1 for `Some`.
pub(super) fn opt<T>(o: Option<&T>, f: impl FnOnce(&T) -> Value) -> Value {
    match o {
        None => branch(0, Value::Null),
        Some(v) => branch(1, f(v)),
    }
}

/// `["null", "string"]`.
pub(super) fn opt_string(o: &Option<String>) -> Value {
    opt(o.as_ref(), |s| string(s))
}

/// `["null", "string"]` holding JSON text.
pub(super) fn opt_json(o: &Option<serde_json::Value>) -> Value {
    opt(o.as_ref(), |v| Value::String(v.to_string()))
}

/// An array value.
pub(super) fn array<T>(items: &[T], f: impl Fn(&T) -> Value) -> Value {
    Value::Array(items.iter().map(f).collect())
}

/// The error for a value of the wrong kind.
pub(super) fn shape(what: &str, got: &Value) -> CodecError {
    let kind = apache_avro::types::ValueKind::from(got);
    CodecError::Shape(format!("{what}: unexpected {kind:?}"))
}

/// A union's branch index and value.
pub(super) fn as_branch(what: &str, v: Value) -> Result<(u32, Value), CodecError> {
    match v {
        Value::Union(i, inner) => Ok((i, *inner)),
        other => Err(shape(what, &other)),
    }
}

/// The error for a union branch index the type does not have.
pub(super) fn bad_branch(what: &str, index: u32) -> CodecError {
    CodecError::Shape(format!("{what}: no union branch {index}"))
}

/// A string.
pub(super) fn as_string(what: &str, v: Value) -> Result<String, CodecError> {
    match v {
        Value::String(s) => Ok(s),
        other => Err(shape(what, &other)),
    }
}

/// A long.
pub(super) fn as_long(what: &str, v: Value) -> Result<i64, CodecError> {
    match v {
        Value::Long(n) => Ok(n),
        Value::Int(n) => Ok(i64::from(n)),
        other => Err(shape(what, &other)),
    }
}

/// A `timestamp-micros` (or plain long) as a UTC timestamp.
pub(super) fn as_ts(what: &str, v: Value) -> Result<Timestamp, CodecError> {
    let micros = match v {
        Value::TimestampMicros(n) | Value::Long(n) => n,
        other => return Err(shape(what, &other)),
    };
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| CodecError::Shape(format!("{what}: timestamp {micros} out of range")))
}

/// An enum symbol.
pub(super) fn as_symbol(what: &str, v: Value) -> Result<String, CodecError> {
    match v {
        Value::Enum(_, symbol) => Ok(symbol),
        other => Err(shape(what, &other)),
    }
}

/// `["null", T]` as an option: branch 0 is `None`, branch 1 goes through `f`.
/// (A null inside branch 1 is an error: the decoder yields one for a string
/// cut short by the end of the input.)
pub(super) fn as_opt<T>(
    what: &str,
    v: Value,
    f: impl FnOnce(&str, Value) -> Result<T, CodecError>,
) -> Result<Option<T>, CodecError> {
    match v {
        Value::Union(0, inner) if *inner == Value::Null => Ok(None),
        Value::Union(1, inner) => f(what, *inner).map(Some),
        other => Err(shape(what, &other)),
    }
}

/// Parses JSON text.
pub(super) fn parse_json(field: &'static str, text: &str) -> Result<serde_json::Value, CodecError> {
    serde_json::from_str(text).map_err(|source| CodecError::Json { field, source })
}

/// An array, each item converted by `f`.
pub(super) fn as_array<T>(
    what: &str,
    v: Value,
    f: impl Fn(Value) -> Result<T, CodecError>,
) -> Result<Vec<T>, CodecError> {
    match v {
        Value::Array(items) => items.into_iter().map(f).collect(),
        other => Err(shape(what, &other)),
    }
}

/// The fields of a record value, taken out by name.
pub(super) struct Fields {
    what: &'static str,
    fields: Vec<(String, Value)>,
}

impl Fields {
    /// The fields of `v`, which must be a record (`what` names it in errors).
    pub(super) fn of(what: &'static str, v: Value) -> Result<Fields, CodecError> {
        match v {
            Value::Record(fields) => Ok(Fields { what, fields }),
            other => Err(shape(what, &other)),
        }
    }

    /// Takes out field `name`.
    pub(super) fn take(&mut self, name: &str) -> Result<Value, CodecError> {
        self.fields
            .iter_mut()
            .find(|(n, _)| n == name)
            .map(|(_, v)| std::mem::replace(v, Value::Null))
            .ok_or_else(|| CodecError::Shape(format!("{}: no field {name}", self.what)))
    }

    fn at(&self, name: &str) -> String {
        format!("{}.{name}", self.what)
    }

    /// A string field.
    pub(super) fn string(&mut self, name: &str) -> Result<String, CodecError> {
        let v = self.take(name)?;
        as_string(&self.at(name), v)
    }

    /// A boolean field.
    pub(super) fn boolean(&mut self, name: &str) -> Result<bool, CodecError> {
        match self.take(name)? {
            Value::Boolean(b) => Ok(b),
            other => Err(shape(&self.at(name), &other)),
        }
    }

    /// A long field.
    pub(super) fn long(&mut self, name: &str) -> Result<i64, CodecError> {
        let v = self.take(name)?;
        as_long(&self.at(name), v)
    }

    /// A `timestamp-micros` field.
    pub(super) fn ts(&mut self, name: &str) -> Result<Timestamp, CodecError> {
        let v = self.take(name)?;
        as_ts(&self.at(name), v)
    }

    /// A `["null", "string"]` field.
    pub(super) fn opt_string(&mut self, name: &str) -> Result<Option<String>, CodecError> {
        let v = self.take(name)?;
        as_opt(&self.at(name), v, as_string)
    }

    /// A `["null", "long"]` field.
    pub(super) fn opt_long(&mut self, name: &str) -> Result<Option<i64>, CodecError> {
        let v = self.take(name)?;
        as_opt(&self.at(name), v, as_long)
    }

    /// A `["null", timestamp-micros]` field.
    pub(super) fn opt_ts(&mut self, name: &str) -> Result<Option<Timestamp>, CodecError> {
        let v = self.take(name)?;
        as_opt(&self.at(name), v, as_ts)
    }

    /// A `["null", "string"]` field holding JSON text.
    pub(super) fn opt_json(
        &mut self,
        name: &'static str,
    ) -> Result<Option<serde_json::Value>, CodecError> {
        self.opt_string(name)?
            .map(|text| parse_json(name, &text))
            .transpose()
    }

    /// A union field: its branch index and value.
    pub(super) fn branch(&mut self, name: &str) -> Result<(u32, Value), CodecError> {
        let v = self.take(name)?;
        as_branch(&self.at(name), v)
    }

    /// An enum field's symbol.
    pub(super) fn symbol(&mut self, name: &str) -> Result<String, CodecError> {
        let v = self.take(name)?;
        as_symbol(&self.at(name), v)
    }

    /// An array field.
    pub(super) fn array<T>(
        &mut self,
        name: &str,
        f: impl Fn(Value) -> Result<T, CodecError>,
    ) -> Result<Vec<T>, CodecError> {
        let v = self.take(name)?;
        as_array(&self.at(name), v, f)
    }
}
