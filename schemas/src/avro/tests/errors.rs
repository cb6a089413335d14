//! Bad bytes give errors, never panics.

use apache_avro::types::Value;

use super::{events, order_envelopes, place_envelope, reply_envelopes, stock_envelopes};
use crate::avro::{AvroMessage, CodecError, HEADER_LEN};
use crate::{Event, OrderEnvelope, ReplyEnvelope, StockEnvelope};

/// Tries to decode `bytes` as every message type; none may panic.
fn decode_all(bytes: &[u8]) -> [bool; 4] {
    [
        StockEnvelope::decode(bytes).is_ok(),
        OrderEnvelope::decode(bytes).is_ok(),
        ReplyEnvelope::decode(bytes).is_ok(),
        Event::decode(bytes).is_ok(),
    ]
}

#[test]
fn short_and_foreign_bytes_are_rejected() {
    for bytes in [
        &b""[..],
        &[0xC3],
        &[0xC3, 0x01, 1, 2, 3],
        b"{\"json\": true}",
    ] {
        assert_eq!(decode_all(bytes), [false; 4], "{bytes:?}");
    }
    assert!(matches!(
        OrderEnvelope::decode(&[0xC3, 0x01, 0, 0]),
        Err(CodecError::TooShort(4))
    ));
    let mut bytes = place_envelope().encode();
    bytes[0] = 0x00;
    assert!(matches!(
        OrderEnvelope::decode(&bytes),
        Err(CodecError::BadMagic([0x00, 0x01]))
    ));
}

#[test]
fn a_message_of_another_type_has_the_wrong_fingerprint() {
    let bytes = place_envelope().encode();
    let err = StockEnvelope::decode(&bytes).unwrap_err();
    let CodecError::WrongFingerprint {
        schema,
        expected,
        found,
    } = err
    else {
        panic!("{err}");
    };
    assert_eq!(schema, "stock_envelope.avsc");
    assert_eq!(expected, StockEnvelope::codec().fingerprint());
    assert_eq!(found, OrderEnvelope::codec().fingerprint());
    for e in events() {
        assert!(matches!(
            ReplyEnvelope::decode(&e.encode()),
            Err(CodecError::WrongFingerprint { .. })
        ));
    }
}

#[test]
fn truncated_messages_are_rejected() {
    let mut messages: Vec<Vec<u8>> = Vec::new();
    messages.extend(stock_envelopes().iter().map(AvroMessage::encode));
    messages.extend(order_envelopes().iter().map(AvroMessage::encode));
    messages.extend(reply_envelopes().iter().map(AvroMessage::encode));
    messages.extend(events().iter().map(AvroMessage::encode));
    for bytes in &messages {
        for len in 0..bytes.len() {
            assert_eq!(decode_all(&bytes[..len]), [false; 4], "{len} of {bytes:?}");
        }
    }
    let bytes = place_envelope().encode();
    for len in HEADER_LEN..bytes.len() {
        assert!(matches!(
            OrderEnvelope::decode(&bytes[..len]),
            Err(CodecError::Truncated)
        ));
    }
}

#[test]
fn trailing_bytes_are_rejected() {
    let mut bytes = place_envelope().encode();
    bytes.push(0);
    assert!(matches!(
        OrderEnvelope::decode(&bytes),
        Err(CodecError::TrailingBytes(1))
    ));
}

#[test]
fn garbage_after_a_valid_header_is_an_error_or_a_value_not_a_panic() {
    // Deterministic pseudo-random bodies behind each schema's header.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let headers: Vec<Vec<u8>> = vec![
        stock_envelopes()[0].encode()[..HEADER_LEN].to_vec(),
        place_envelope().encode()[..HEADER_LEN].to_vec(),
        reply_envelopes()[0].encode()[..HEADER_LEN].to_vec(),
        events()[0].encode()[..HEADER_LEN].to_vec(),
    ];
    for round in 0..2_000 {
        let mut bytes = headers[round % headers.len()].clone();
        let len = (next() % 64) as usize;
        bytes.extend((0..len).map(|_| next() as u8));
        let _ = decode_all(&bytes);
    }
    // Every single-byte corruption of real messages.
    for bytes in [place_envelope().encode(), reply_envelopes()[8].encode()] {
        for i in HEADER_LEN..bytes.len() {
            for flip in [0x01, 0x80, 0xFF] {
                let mut bad = bytes.clone();
                bad[i] ^= flip;
                let _ = decode_all(&bad);
            }
        }
    }
}

#[test]
fn valid_avro_that_does_not_fit_the_type_is_an_error() {
    // A branch index past the union's end is invalid Avro.
    let codec = StockEnvelope::codec();
    let mut bytes = codec
        .encode_value(&stock_envelopes()[0].to_value())
        .unwrap();
    let at = HEADER_LEN + 1 + "corr-0".len();
    assert_eq!(bytes[at], 2, "reply_to is branch 1 (zig-zag 2)");
    bytes[at] = 8;
    assert!(StockEnvelope::decode(&bytes).is_err());

    // `data` holding something that is not JSON text.
    let mut value = events()[0].to_value();
    if let Value::Record(fields) = &mut value {
        fields.iter_mut().find(|(n, _)| n == "data").unwrap().1 = Value::String("{nope".into());
    }
    let bytes = Event::codec().encode_value(&value).unwrap();
    assert!(matches!(
        Event::decode(&bytes),
        Err(CodecError::Json { field: "data", .. })
    ));

    // A value that does not fit the schema is refused on encoding.
    assert!(Event::codec().encode_value(&Value::Null).is_err());
}
