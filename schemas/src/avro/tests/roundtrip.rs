//! Every message type and variant round-trips exactly; encoding is deterministic.

use std::fmt::Debug;

use super::{events, order_envelopes, place_envelope, reply_envelopes, stock_envelopes};
use crate::avro::{AvroMessage, HEADER_LEN, SINGLE_OBJECT_MAGIC};

fn round_trips<T: AvroMessage + PartialEq + Debug>(samples: &[T]) {
    assert!(!samples.is_empty());
    for sample in samples {
        let bytes = sample.encode();
        assert_eq!(bytes[..2], SINGLE_OBJECT_MAGIC);
        assert_eq!(bytes[2..HEADER_LEN], T::codec().fingerprint());
        let back = T::decode(&bytes).unwrap_or_else(|e| panic!("{sample:?}: {e}"));
        assert_eq!(&back, sample);
    }
}

#[test]
fn stock_envelopes_round_trip() {
    round_trips(&stock_envelopes());
}

#[test]
fn order_envelopes_round_trip() {
    round_trips(&order_envelopes());
}

#[test]
fn reply_envelopes_round_trip() {
    round_trips(&reply_envelopes());
}

#[test]
fn events_round_trip() {
    round_trips(&events());
}

#[test]
fn timestamps_keep_microseconds() {
    let mut env = place_envelope();
    env.issued_at = crate::now();
    let back = crate::OrderEnvelope::decode(&env.encode()).unwrap();
    assert_eq!(back.issued_at, env.issued_at);
}

fn deterministic<T: AvroMessage + Debug>(samples: &[T]) {
    for sample in samples {
        let first = sample.encode();
        assert_eq!(first, sample.encode(), "{sample:?}");
        let again = T::decode(&first).unwrap().encode();
        assert_eq!(
            first, again,
            "{sample:?}: re-encoding the decoded value differs"
        );
    }
}

#[test]
fn encoding_is_deterministic() {
    deterministic(&stock_envelopes());
    deterministic(&order_envelopes());
    deterministic(&reply_envelopes());
    deterministic(&events());
}

#[test]
fn a_typical_place_envelope_is_small() {
    let bytes = place_envelope().encode();
    let json = serde_json::to_vec(&place_envelope()).unwrap();
    println!(
        "order Place envelope: {} bytes Avro single-object, {} bytes JSON",
        bytes.len(),
        json.len()
    );
    assert!(bytes.len() < json.len() / 2 + 100, "{} bytes", bytes.len());
}
