//! Avro encoding of every message on every topic (distributed mode).
//!
//! Each topic's value type has a schema file under `schemas/avro/` (embedded
//! here with `include_str!`), and values are written with Avro
//! [single-object encoding]: `0xC3 0x01`, the 8-byte little-endian
//! CRC-64-AVRO (Rabin) fingerprint of the schema's Parsing Canonical Form
//! (computed by [`canonical`] as the specification defines it, so Java,
//! fastavro and schema registries compute the same value), then the binary
//! datum. Any Avro reader that has the schema file can decode a message
//! without this crate.
//!
//! Transition: versions before this one wrote the fingerprint apache-avro 0.22
//! computes from its non-conformant canonical form (AVRO-4004). Decoding still
//! accepts that *legacy* fingerprint, so the commands left in a topic by an
//! older version (and the log a writer replays from its applied offset) are
//! read after an upgrade; encoding writes only the specification's. An older
//! process skips messages with the new fingerprint as undecodable, so upgrade
//! every process together: stop the ingress processes, then the workers, and
//! start the new workers before the new ingress processes. The legacy
//! fingerprint can be dropped once every writer has applied past the upgrade.
//!
//! | topic | Rust type | schema file |
//! |---|---|---|
//! | `agusto.stock.commands` | [`StockEnvelope`](crate::StockEnvelope) | `stock_envelope.avsc` |
//! | `agusto.order.commands` | [`OrderEnvelope`](crate::OrderEnvelope) | `order_envelope.avsc` |
//! | `agusto.replies` | [`ReplyEnvelope`](crate::ReplyEnvelope) | `reply_envelope.avsc` |
//! | `agusto.events` (and the webhook retry/dead topics) | [`Event`](crate::Event) | `event.avsc` |
//!
//! Rust values are mapped to [`Value`]s by hand (one `to_value` / `from_value`
//! per type), so the mapping of Rust enums onto Avro unions is explicit: a
//! Rust enum with data is a union of one record per variant, named after the
//! variant in the namespace `dev.agusto.v1.<enum_name>`; a Rust enum without
//! data is an Avro enum whose symbols are the wire names.
//!
//! [single-object encoding]: https://avro.apache.org/docs/1.12.0/specification/#single-object-encoding

pub mod canonical;
mod envelope;
mod event;
mod order;
mod reply;
mod stock;
#[cfg(test)]
mod tests;
mod value;

use std::io::Read;
use std::sync::OnceLock;

use apache_avro::{
    Schema, rabin::Rabin, reader::datum::GenericDatumReader, types::Value,
    writer::datum::GenericDatumWriter,
};

use crate::{Event, OrderEnvelope, ReplyEnvelope, StockEnvelope};

/// `stock_envelope.avsc`: values of `agusto.stock.commands`.
pub const STOCK_ENVELOPE_AVSC: &str = include_str!("../../avro/stock_envelope.avsc");
/// `order_envelope.avsc`: values of `agusto.order.commands`.
pub const ORDER_ENVELOPE_AVSC: &str = include_str!("../../avro/order_envelope.avsc");
/// `reply_envelope.avsc`: values of `agusto.replies`.
pub const REPLY_ENVELOPE_AVSC: &str = include_str!("../../avro/reply_envelope.avsc");
/// `event.avsc`: values of `agusto.events`, `agusto.webhooks.retry` and `agusto.webhooks.dead`.
pub const EVENT_AVSC: &str = include_str!("../../avro/event.avsc");

/// Every schema file as (file name under `schemas/avro/`, text).
pub const SCHEMA_FILES: [(&str, &str); 4] = [
    ("stock_envelope.avsc", STOCK_ENVELOPE_AVSC),
    ("order_envelope.avsc", ORDER_ENVELOPE_AVSC),
    ("reply_envelope.avsc", REPLY_ENVELOPE_AVSC),
    ("event.avsc", EVENT_AVSC),
];

/// The two bytes that start every single-object encoded message.
pub const SINGLE_OBJECT_MAGIC: [u8; 2] = [0xC3, 0x01];
/// Length of the single-object header: magic + 8-byte fingerprint.
pub const HEADER_LEN: usize = 10;

/// Why bytes could not be decoded into a message.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// Fewer bytes than a single-object header.
    #[error("{0} bytes are too few for an Avro single-object message")]
    TooShort(usize),
    /// The first two bytes are not `C3 01`.
    #[error("not Avro single-object encoded: starts with {0:02x?}, expected [c3, 01]")]
    BadMagic([u8; 2]),
    /// Written with another schema (or another version of it).
    #[error("schema fingerprint {found:02x?} is not that of {schema} ({expected:02x?})")]
    WrongFingerprint {
        /// The schema file expected.
        schema: &'static str,
        /// Its fingerprint.
        expected: [u8; 8],
        /// The fingerprint in the message.
        found: [u8; 8],
    },
    /// The datum is not valid Avro binary for the schema (or a value did not
    /// validate against it on encoding).
    #[error("invalid Avro datum: {0}")]
    Avro(#[from] apache_avro::Error),
    /// The datum ends before its schema says it does.
    #[error("the Avro datum is cut short")]
    Truncated,
    /// Bytes left over after the datum.
    #[error("{0} bytes left after the Avro datum")]
    TrailingBytes(usize),
    /// The datum is valid Avro but does not fit the Rust type.
    #[error("Avro value does not match the message type: {0}")]
    Shape(String),
    /// A field documented as JSON text does not hold JSON.
    #[error("field {field} is not valid JSON text: {source}")]
    Json {
        /// The field.
        field: &'static str,
        /// The parse error.
        source: serde_json::Error,
    },
}

/// A parsed schema file with what encoding and decoding need, built once per type.
pub struct AvroCodec {
    file: &'static str,
    schema: &'static Schema,
    header: [u8; HEADER_LEN],
    legacy_fingerprint: [u8; 8],
    writer: GenericDatumWriter<'static>,
    reader: GenericDatumReader<'static>,
}

impl AvroCodec {
    /// Parses `text` (the schema file `file`).
    ///
    /// # Panics
    /// When the text is not a valid schema: the embedded files are tested to parse.
    fn new(file: &'static str, text: &str) -> Self {
        let parsed = Schema::parse_str(text)
            .unwrap_or_else(|e| panic!("embedded Avro schema {file} is invalid: {e}"));
        // One schema per message type for the life of the process; the
        // writer and reader borrow it.
        let schema: &'static Schema = Box::leak(Box::new(parsed));
        let fingerprint = canonical::fingerprint(text)
            .unwrap_or_else(|e| panic!("embedded Avro schema {file}: {e}"));
        let mut header = [0u8; HEADER_LEN];
        header[..2].copy_from_slice(&SINGLE_OBJECT_MAGIC);
        header[2..].copy_from_slice(&fingerprint);
        let mut legacy_fingerprint = [0u8; 8];
        legacy_fingerprint.copy_from_slice(&schema.fingerprint::<Rabin>().bytes[..8]);
        let writer = GenericDatumWriter::builder(schema)
            .build()
            .unwrap_or_else(|e| panic!("Avro writer for {file}: {e}"));
        let reader = GenericDatumReader::builder(schema)
            .build()
            .unwrap_or_else(|e| panic!("Avro reader for {file}: {e}"));
        AvroCodec {
            file,
            schema,
            header,
            legacy_fingerprint,
            writer,
            reader,
        }
    }

    /// The schema file name under `schemas/avro/`.
    pub fn file(&self) -> &'static str {
        self.file
    }

    /// The parsed schema.
    pub fn schema(&self) -> &'static Schema {
        self.schema
    }

    /// The schema's CRC-64-AVRO fingerprint of its Parsing Canonical Form (as
    /// the Avro specification defines it), little-endian, as written in the header.
    pub fn fingerprint(&self) -> [u8; 8] {
        let mut out = [0u8; 8];
        out.copy_from_slice(&self.header[2..]);
        out
    }

    /// The fingerprint versions before the spec-conformant one wrote
    /// (apache-avro 0.22's canonical form, AVRO-4004); still accepted when
    /// decoding, never written.
    pub fn legacy_fingerprint(&self) -> [u8; 8] {
        self.legacy_fingerprint
    }

    /// Single-object encodes `value`, after validating it against the schema.
    pub fn encode_value(&self, value: &Value) -> Result<Vec<u8>, CodecError> {
        let mut out = Vec::with_capacity(128);
        out.extend_from_slice(&self.header);
        self.writer.write_value_ref(&mut out, value)?;
        Ok(out)
    }

    /// Checks the single-object header (the fingerprint or, for messages of
    /// older versions, the legacy one) and decodes the datum to a generic
    /// value. Every byte must belong to the message.
    pub fn decode_value(&self, bytes: &[u8]) -> Result<Value, CodecError> {
        if bytes.len() < HEADER_LEN {
            return Err(CodecError::TooShort(bytes.len()));
        }
        if bytes[..2] != SINGLE_OBJECT_MAGIC {
            return Err(CodecError::BadMagic([bytes[0], bytes[1]]));
        }
        let mut found = [0u8; 8];
        found.copy_from_slice(&bytes[2..HEADER_LEN]);
        if found != self.fingerprint() && found != self.legacy_fingerprint {
            return Err(CodecError::WrongFingerprint {
                schema: self.file,
                expected: self.fingerprint(),
                found,
            });
        }
        let mut input = EndWatch {
            rest: &bytes[HEADER_LEN..],
            overran: false,
        };
        let value = self.reader.read_value(&mut input);
        // apache-avro reads a union cut off by the end of the input as null
        // (and a cut string as null), so a read past the end is what tells a
        // truncated message from a complete one.
        if input.overran {
            return Err(CodecError::Truncated);
        }
        let value = value?;
        if !input.rest.is_empty() {
            return Err(CodecError::TrailingBytes(input.rest.len()));
        }
        Ok(value)
    }
}

/// The datum's bytes, noting any attempt to read past their end.
struct EndWatch<'a> {
    rest: &'a [u8],
    overran: bool,
}

impl Read for EndWatch<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !buf.is_empty() && self.rest.is_empty() {
            self.overran = true;
        }
        self.rest.read(buf)
    }
}

/// A message that travels on a topic as an Avro single-object encoded value.
pub trait AvroMessage: Sized {
    /// The codec of this type's schema file (parsed once).
    fn codec() -> &'static AvroCodec;

    /// This message as a generic Avro value of its schema.
    fn to_value(&self) -> Value;

    /// The message held by a generic Avro value of its schema.
    fn from_value(value: Value) -> Result<Self, CodecError>;

    /// The schema (parsed once from the `.avsc` file embedded with `include_str!`).
    fn schema() -> &'static Schema {
        Self::codec().schema()
    }

    /// Avro single-object encoding: `0xC3 0x01`, the 8-byte little-endian
    /// CRC-64-AVRO fingerprint of the schema, then the binary datum.
    /// Timestamps keep microsecond precision (finer digits are dropped).
    ///
    /// # Panics
    /// Only if `to_value` builds a value its own schema rejects, a bug the
    /// round-trip tests of every variant rule out.
    fn encode(&self) -> Vec<u8> {
        let codec = Self::codec();
        codec
            .encode_value(&self.to_value())
            .unwrap_or_else(|e| panic!("value does not fit {}: {e}", codec.file()))
    }

    /// Decodes single-object encoded bytes; errors (never panics) on a wrong
    /// magic, a wrong fingerprint or bad data.
    fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        Self::from_value(Self::codec().decode_value(bytes)?)
    }
}

macro_rules! avro_message {
    ($ty:ty, $file:literal, $text:expr, $to:path, $from:path) => {
        impl AvroMessage for $ty {
            fn codec() -> &'static AvroCodec {
                static CODEC: OnceLock<AvroCodec> = OnceLock::new();
                CODEC.get_or_init(|| AvroCodec::new($file, $text))
            }

            fn to_value(&self) -> Value {
                $to(self)
            }

            fn from_value(value: Value) -> Result<Self, CodecError> {
                $from(value)
            }
        }
    };
}

avro_message!(
    StockEnvelope,
    "stock_envelope.avsc",
    STOCK_ENVELOPE_AVSC,
    stock::envelope_to_value,
    stock::envelope_from_value
);
avro_message!(
    OrderEnvelope,
    "order_envelope.avsc",
    ORDER_ENVELOPE_AVSC,
    order::envelope_to_value,
    order::envelope_from_value
);
avro_message!(
    ReplyEnvelope,
    "reply_envelope.avsc",
    REPLY_ENVELOPE_AVSC,
    reply::envelope_to_value,
    reply::envelope_from_value
);
avro_message!(
    Event,
    "event.avsc",
    EVENT_AVSC,
    event::to_value,
    event::from_value
);
