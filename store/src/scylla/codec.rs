//! Conversions between records and CQL values: bound values, timestamps,
//! JSON columns, shards, errors and paging cursors.

use std::hash::{BuildHasher, Hasher};

use agusto_schemas::Timestamp;
use scylla::value::CqlValue;

use crate::{Error, Result};

pub(crate) use crate::codec::{
    cursor, cursor_payload, from_json, int_cursor, int_key, int_key_cursor, micros, opt_time, page,
    stock_change, time, to_i64, to_json,
};

/// The values bound to one statement, in bind-marker order; `None` is null.
pub(crate) type Values = Vec<Option<CqlValue>>;

/// Partitions a globally ordered query table is spread over (see the
/// `shard` columns in `schema.rs`). Part of the schema: changing it needs a
/// data migration.
pub(crate) const SHARDS: i64 = 8;

/// A text value.
pub(crate) fn text(s: &str) -> Option<CqlValue> {
    Some(CqlValue::Text(s.to_owned()))
}

/// An optional text value.
pub(crate) fn opt_text(s: Option<&str>) -> Option<CqlValue> {
    s.map(|s| CqlValue::Text(s.to_owned()))
}

/// A bigint value.
pub(crate) fn big(n: i64) -> Option<CqlValue> {
    Some(CqlValue::BigInt(n))
}

/// An optional bigint value.
pub(crate) fn opt_big(n: Option<i64>) -> Option<CqlValue> {
    n.map(CqlValue::BigInt)
}

/// A boolean value.
pub(crate) fn boolean(b: bool) -> Option<CqlValue> {
    Some(CqlValue::Boolean(b))
}

/// A blob value.
pub(crate) fn blob(b: &[u8]) -> Option<CqlValue> {
    Some(CqlValue::Blob(b.to_vec()))
}

/// A `list<text>` value (an empty list is stored as null by CQL).
pub(crate) fn text_list(items: &[String]) -> Option<CqlValue> {
    Some(CqlValue::List(
        items.iter().map(|s| CqlValue::Text(s.clone())).collect(),
    ))
}

/// A `map<text, bigint>` value.
pub(crate) fn text_big_map<'a>(
    entries: impl IntoIterator<Item = (&'a String, &'a i64)>,
) -> Option<CqlValue> {
    Some(CqlValue::Map(
        entries
            .into_iter()
            .map(|(k, v)| (CqlValue::Text(k.clone()), CqlValue::BigInt(*v)))
            .collect(),
    ))
}

/// A timestamp value (microseconds).
pub(crate) fn at(t: &Timestamp) -> Option<CqlValue> {
    big(micros(t))
}

/// An optional timestamp value (microseconds).
pub(crate) fn opt_at(t: Option<&Timestamp>) -> Option<CqlValue> {
    opt_big(t.map(micros))
}

/// The `LIMIT ?` value (CQL `int`) for `n` rows.
pub(crate) fn limit(n: usize) -> Option<CqlValue> {
    Some(CqlValue::Int(i32::try_from(n.max(1)).unwrap_or(i32::MAX)))
}

/// The page size to fetch: `limit` (at least 1) plus one row that tells
/// whether another page follows.
pub(crate) fn fetch_size(limit: usize) -> usize {
    limit.max(1).saturating_add(1)
}

/// A column that must not be null; `what` names it in the error.
pub(crate) fn required<T>(value: Option<T>, what: &str) -> Result<T> {
    value.ok_or_else(|| Error::Corrupt(format!("{what} is null")))
}

/// The shard of a row: FNV-1a of its key, so every process and every build
/// agrees (std's hasher is randomly seeded).
pub(crate) fn shard_of(key: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    // SHARDS is a small positive constant, so the remainder fits.
    i64::try_from(hash % SHARDS.unsigned_abs()).unwrap_or(0)
}

/// Every shard number.
pub(crate) fn shards() -> impl Iterator<Item = i64> {
    0..SHARDS
}

/// A random 64-bit number (for stream and test keyspace names).
pub(crate) fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    h.write_u128(now.map_or(0, |d| d.as_nanos()));
    h.write_u32(std::process::id());
    h.finish()
}

/// Merges pages read from several partitions, each sorted by `key`, into
/// the first `take` items in `key` order.
pub(crate) fn merge_sorted<T, K: Ord>(
    parts: Vec<Vec<T>>,
    key: impl FnMut(&T) -> K,
    take: usize,
) -> Vec<T> {
    let mut all: Vec<T> = parts.into_iter().flatten().collect();
    all.sort_by_cached_key(key);
    all.truncate(take);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetch_size_asks_one_row_more() {
        assert_eq!(fetch_size(1000), 1001);
        assert_eq!(fetch_size(0), 2);
        assert_eq!(limit(usize::MAX), Some(CqlValue::Int(i32::MAX)));
    }

    #[test]
    fn shards_are_stable_and_in_range() {
        // Fixed values: the shard of a key is part of the stored data.
        assert_eq!(shard_of(""), 5);
        assert_eq!(shard_of("ord_1"), shard_of("ord_1"));
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..1000 {
            let s = shard_of(&format!("key-{i}"));
            assert!((0..SHARDS).contains(&s));
            seen.insert(s);
        }
        assert_eq!(seen.len(), 8, "keys spread over every shard");
    }

    #[test]
    fn merged_pages_are_ordered_and_cut() {
        let merged = merge_sorted(vec![vec![1, 4, 9], vec![2, 3], vec![], vec![5]], |n| *n, 4);
        assert_eq!(merged, vec![1, 2, 3, 4]);
        let desc = merge_sorted(vec![vec![9, 4], vec![5, 1]], |n| std::cmp::Reverse(*n), 10);
        assert_eq!(desc, vec![9, 5, 4, 1]);
    }

    #[test]
    fn timestamps_keep_microseconds() {
        let t = time(1_700_000_000_123_456).expect("time");
        assert_eq!(micros(&t), 1_700_000_000_123_456);
        assert_eq!(at(&t), big(1_700_000_000_123_456));
        assert!(matches!(time(i64::MAX), Err(Error::Corrupt(_))));
        assert_eq!(opt_time(None).ok(), Some(None));
        assert!(matches!(required::<i64>(None, "x"), Err(Error::Corrupt(_))));
    }
}
