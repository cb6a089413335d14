//! Fingerprints and canonical forms pinned to what fastavro 1.13.1 (an
//! independent Avro implementation) computes from the same JSON:
//! `fastavro.schema.fingerprint(to_parsing_canonical_form(parse_schema(s)),
//! "CRC-64-AVRO")`, whose hex is the little-endian byte order that
//! single-object encoding writes. `scripts/avro_interop.py` decodes real
//! messages from every topic with fastavro and the `.avsc` files alone.

use apache_avro::rabin::Rabin;
use apache_avro::{GenericSingleObjectReader, Schema};

use super::generic::schema_file;
use super::{events, order_envelopes, place_envelope, reply_envelopes, stock_envelopes};
use crate::avro::canonical::{fingerprint, parsing_canonical_form_str, rabin_fingerprint};
use crate::avro::{AvroMessage, CodecError, HEADER_LEN, SCHEMA_FILES, SINGLE_OBJECT_MAGIC};
use crate::{Event, OrderEnvelope, ReplyEnvelope, StockEnvelope};

/// fastavro's CRC-64-AVRO fingerprint of every schema file (hex, header byte order).
const FASTAVRO_FINGERPRINTS: [(&str, &str); 4] = [
    ("stock_envelope.avsc", "cc9a15873a24f0bb"),
    ("order_envelope.avsc", "aa9b0313cf8af07d"),
    ("reply_envelope.avsc", "dbb29f17871d1abe"),
    ("event.avsc", "e496384acb38305c"),
];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn every_schema_file_has_the_fingerprint_fastavro_computes() {
    assert_eq!(SCHEMA_FILES.len(), FASTAVRO_FINGERPRINTS.len());
    for (file, text) in SCHEMA_FILES {
        let (_, want) = FASTAVRO_FINGERPRINTS
            .iter()
            .find(|(f, _)| *f == file)
            .unwrap_or_else(|| panic!("no pinned fingerprint for {file}"));
        assert_eq!(hex(&fingerprint(text).unwrap()), *want, "{file}");
        // The file on disk, not only the embedded copy.
        assert_eq!(
            hex(&fingerprint(&schema_file(file)).unwrap()),
            *want,
            "{file}"
        );
    }
}

#[test]
fn every_message_header_carries_the_fastavro_fingerprint() {
    fn header_of<T: AvroMessage>(sample: &T) -> String {
        let bytes = sample.encode();
        assert_eq!(bytes[..2], SINGLE_OBJECT_MAGIC);
        hex(&bytes[2..HEADER_LEN])
    }
    let want = |file: &str| {
        FASTAVRO_FINGERPRINTS
            .iter()
            .find(|(f, _)| *f == file)
            .unwrap()
            .1
    };
    for e in stock_envelopes() {
        assert_eq!(header_of(&e), want("stock_envelope.avsc"));
    }
    for e in order_envelopes() {
        assert_eq!(header_of(&e), want("order_envelope.avsc"));
    }
    for e in reply_envelopes() {
        assert_eq!(header_of(&e), want("reply_envelope.avsc"));
    }
    for e in events() {
        assert_eq!(header_of(&e), want("event.avsc"));
    }
}

#[test]
fn the_canonical_form_of_a_schema_file_is_fastavros() {
    let want = concat!(
        r#"{"name":"dev.agusto.v1.Event","type":"record","fields":[{"name":"id","type":"string"},"#,
        r#"{"name":"event_type","type":{"name":"dev.agusto.v1.EventType","type":"enum","#,
        r#""symbols":["stock_changed","order_dispatched","order_status_changed","order_returned"]}},"#,
        r#"{"name":"created_at","type":"long"},{"name":"channel_id","type":["null","string"]},"#,
        r#"{"name":"product_code","type":["null","string"]},{"name":"data","type":"string"}]}"#
    );
    assert_eq!(
        parsing_canonical_form_str(&schema_file("event.avsc")).unwrap(),
        want
    );
}

#[test]
fn canonical_forms_follow_the_specification() {
    // (schema, fastavro's canonical form, fastavro's fingerprint)
    let cases = [
        (r#""int""#, r#""int""#, "8f5c393f1ad57572"),
        (
            r#"{"type":"long","logicalType":"timestamp-micros"}"#,
            r#""long""#,
            "b71df49344e154d0",
        ),
        (
            // Namespaces (inherited, overridden, emptied, in dotted names),
            // references, fixed/array/map, and every attribute to strip.
            r#"{"type":"record","name":"R","namespace":"a.b","doc":"x","aliases":["Q"],"fields":[
              {"name":"f","type":{"type":"fixed","name":"F","size":16,"logicalType":"decimal","precision":4},"default":"x","order":"descending"},
              {"name":"g","type":{"type":"array","items":{"type":"map","values":"F"}}},
              {"name":"h","type":["null",{"type":"enum","name":"c.E","symbols":["A","B"],"default":"A"},
                {"type":"record","name":"Inner","namespace":"","fields":[{"name":"e","type":"c.E"}]}]},
              {"name":"u","type":{"type":"string","logicalType":"uuid"}},
              {"name":"s","type":{"type":"bytes","logicalType":"decimal","precision":3,"scale":1}}]}"#,
            concat!(
                r#"{"name":"a.b.R","type":"record","fields":[{"name":"f","type":{"name":"a.b.F","type":"fixed","size":16}},"#,
                r#"{"name":"g","type":{"type":"array","items":{"type":"map","values":"a.b.F"}}},"#,
                r#"{"name":"h","type":["null",{"name":"c.E","type":"enum","symbols":["A","B"]},"#,
                r#"{"name":"Inner","type":"record","fields":[{"name":"e","type":"c.E"}]}]},"#,
                r#"{"name":"u","type":"string"},{"name":"s","type":"bytes"}]}"#
            ),
            "4b68febf7a2da777",
        ),
    ];
    for (schema, form, fp) in cases {
        assert_eq!(
            parsing_canonical_form_str(schema).unwrap(),
            form,
            "{schema}"
        );
        assert_eq!(hex(&fingerprint(schema).unwrap()), fp, "{schema}");
    }
    // [INTEGERS]: a quoted size with leading zeros is a plain integer.
    assert_eq!(
        parsing_canonical_form_str(r#"{"type":"fixed","name":"F","size":"016"}"#).unwrap(),
        r#"{"name":"F","type":"fixed","size":16}"#
    );
    for bad in [
        r#"{"fields":[]}"#,
        "42",
        r#"{"type":"record","fields":[]}"#,
        "{",
    ] {
        assert!(parsing_canonical_form_str(bad).is_err(), "{bad}");
    }
}

#[test]
fn rabin_agrees_with_apache_avros_digest() {
    // sha2 re-exports the `digest` trait that apache-avro's Rabin implements.
    use sha2::Digest;
    for data in [&b""[..], b"hello world", b"\"long\"", "ÆØÅ😀".as_bytes()] {
        let theirs: [u8; 8] = Rabin::digest(data).into();
        assert_eq!(rabin_fingerprint(data), theirs, "{data:?}");
    }
    // The example in apache-avro's documentation of Rabin.
    assert_eq!(hex(&rabin_fingerprint(b"hello world")), "60335ba6d0415528");
}

#[test]
fn messages_with_the_legacy_fingerprint_still_decode() {
    for (file, text) in SCHEMA_FILES {
        let schema = Schema::parse_str(text).unwrap();
        let legacy = schema.fingerprint::<Rabin>().bytes;
        // apache-avro 0.22 keeps {"type":"long"} for logical types (AVRO-4004).
        // If this fails, it was fixed upstream and the legacy path can go.
        assert_ne!(legacy[..], fingerprint(text).unwrap()[..], "{file}");
    }
    let check = |bytes: Vec<u8>, legacy: [u8; 8], decode: &dyn Fn(&[u8]) -> bool| {
        let mut old = bytes.clone();
        old[2..HEADER_LEN].copy_from_slice(&legacy);
        assert!(decode(&old), "a legacy header decodes");
        let mut other = bytes;
        other[2..HEADER_LEN].copy_from_slice(&[0x5a; 8]);
        assert!(!decode(&other), "an unknown fingerprint does not");
    };
    check(
        place_envelope().encode(),
        OrderEnvelope::codec().legacy_fingerprint(),
        &|b| OrderEnvelope::decode(b).is_ok_and(|e| e == place_envelope()),
    );
    let stock = stock_envelopes().remove(0);
    check(
        stock.encode(),
        StockEnvelope::codec().legacy_fingerprint(),
        &|b| StockEnvelope::decode(b).is_ok_and(|e| e == stock),
    );
    let reply = reply_envelopes().remove(0);
    check(
        reply.encode(),
        ReplyEnvelope::codec().legacy_fingerprint(),
        &|b| ReplyEnvelope::decode(b).is_ok_and(|e| e == reply),
    );
    let event = events().remove(0);
    check(event.encode(), Event::codec().legacy_fingerprint(), &|b| {
        Event::decode(b).is_ok_and(|e| e == event)
    });
    // Legacy acceptance is per schema: another type's legacy header is refused.
    let mut bytes = place_envelope().encode();
    bytes[2..HEADER_LEN].copy_from_slice(&StockEnvelope::codec().legacy_fingerprint());
    assert!(matches!(
        OrderEnvelope::decode(&bytes),
        Err(CodecError::WrongFingerprint { .. })
    ));
}

#[test]
fn a_generic_reader_given_the_spec_header_reads_what_the_codec_writes() {
    let (file, text) = SCHEMA_FILES[1];
    assert_eq!(file, "order_envelope.avsc");
    let mut header = SINGLE_OBJECT_MAGIC.to_vec();
    header.extend_from_slice(&fingerprint(text).unwrap());
    let reader = GenericSingleObjectReader::builder()
        .schema(Schema::parse_str(text).unwrap())
        .header(header)
        .build()
        .unwrap();
    let env = place_envelope();
    let value = reader.read_value(&mut &env.encode()[..]).unwrap();
    assert_eq!(value, env.to_value());
}
