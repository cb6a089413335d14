//! Conversions between records and SQLite values: timestamps, JSON columns,
//! errors and paging cursors.

use agusto_schemas::Timestamp;
use chrono::DateTime;
use rusqlite::ErrorCode;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Error, Result};

impl From<rusqlite::Error> for Error {
    /// Values that do not decode are `Corrupt`; every other failure (locks,
    /// IO, constraint violations not handled by the caller) is `Unavailable`.
    fn from(e: rusqlite::Error) -> Self {
        match &e {
            rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::IntegralValueOutOfRange(..)
            | rusqlite::Error::Utf8Error(..)
            | rusqlite::Error::InvalidColumnType(..) => Error::Corrupt(e.to_string()),
            rusqlite::Error::SqliteFailure(f, _)
                if matches!(f.code, ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) =>
            {
                Error::Corrupt(e.to_string())
            }
            _ => Error::Unavailable(e.to_string()),
        }
    }
}

/// True when `e` is a violated UNIQUE / PRIMARY KEY constraint.
pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e.sqlite_error_code(), Some(ErrorCode::ConstraintViolation))
}

/// A timestamp as stored: microseconds since the Unix epoch (nanoseconds are
/// truncated).
pub(crate) fn micros(t: &Timestamp) -> i64 {
    t.timestamp_micros()
}

/// Decodes a stored timestamp.
pub(crate) fn time(m: i64) -> Result<Timestamp> {
    DateTime::from_timestamp_micros(m)
        .ok_or_else(|| Error::Corrupt(format!("timestamp out of range: {m}")))
}

/// Decodes an optional stored timestamp.
pub(crate) fn opt_time(m: Option<i64>) -> Result<Option<Timestamp>> {
    m.map(time).transpose()
}

/// Encodes a value for a JSON text column.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Unavailable(format!("cannot encode JSON: {e}")))
}

/// Decodes a JSON text column; `what` names it in the error.
pub(crate) fn from_json<T: DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::Corrupt(format!("{what}: {e}")))
}

/// A count or quantity that must fit SQLite's signed 64-bit integers.
pub(crate) fn to_i64(value: u64, what: &str) -> Result<i64> {
    i64::try_from(value).map_err(|_| Error::Unavailable(format!("{what} {value} exceeds i64")))
}

/// The page size to fetch: `limit` (at least 1) plus one row that tells
/// whether another page follows.
pub(crate) fn fetch_size(limit: usize) -> i64 {
    i64::try_from(limit.max(1)).map_or(i64::MAX, |l| l.saturating_add(1))
}

/// Cuts `rows` (fetched with [`fetch_size`]) to `limit` and issues the cursor
/// of the next page from the last item kept, or `None` when nothing follows.
pub(crate) fn page<T>(
    mut rows: Vec<T>,
    limit: usize,
    cursor_of: impl Fn(&T) -> String,
) -> crate::Page<T> {
    let limit = limit.max(1);
    let next_cursor = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(cursor_of)
    } else {
        None
    };
    crate::Page {
        items: rows,
        next_cursor,
    }
}

/// Cursors are `<tag>:<payload>`; the tag names the list that issued it, so a
/// cursor of another list is refused too.
pub(crate) fn cursor(tag: &str, payload: &str) -> String {
    format!("{tag}:{payload}")
}

/// The payload of a cursor issued with `tag`.
pub(crate) fn cursor_payload<'a>(tag: &str, cursor: &'a str) -> Result<&'a str> {
    cursor
        .strip_prefix(tag)
        .and_then(|rest| rest.strip_prefix(':'))
        .ok_or(Error::InvalidCursor)
}

/// A cursor holding a sequence number.
pub(crate) fn seq_cursor(tag: &str, cursor: &str) -> Result<i64> {
    let seq: i64 = cursor_payload(tag, cursor)?
        .parse()
        .map_err(|_| Error::InvalidCursor)?;
    if seq < 0 {
        return Err(Error::InvalidCursor);
    }
    Ok(seq)
}

/// A cursor holding a timestamp (microseconds) and a key: `<micros>|<key>`.
pub(crate) fn time_key_cursor(tag: &str, cursor: &str) -> Result<(i64, String)> {
    int_key_cursor(tag, cursor)
}

/// A cursor holding an integer and a key: `<integer>|<key>`.
pub(crate) fn int_key_cursor(tag: &str, cursor: &str) -> Result<(i64, String)> {
    let payload = cursor_payload(tag, cursor)?;
    let (n, key) = payload.split_once('|').ok_or(Error::InvalidCursor)?;
    let n: i64 = n.parse().map_err(|_| Error::InvalidCursor)?;
    Ok((n, key.to_owned()))
}

/// Issues a `<micros>|<key>` cursor.
pub(crate) fn time_key(tag: &str, at: &Timestamp, key: &str) -> String {
    cursor(tag, &format!("{}|{key}", micros(at)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_parse_only_their_own_tag() {
        assert_eq!(seq_cursor("m", "m:12").ok(), Some(12));
        assert!(matches!(seq_cursor("m", "e:12"), Err(Error::InvalidCursor)));
        assert!(matches!(seq_cursor("m", "m:-1"), Err(Error::InvalidCursor)));
        assert!(matches!(seq_cursor("m", "m12"), Err(Error::InvalidCursor)));
        let c = time_key_cursor("o", "o:5|ord|x").ok();
        assert_eq!(c, Some((5, "ord|x".to_owned())));
        assert!(matches!(
            time_key_cursor("o", "o:x|a"),
            Err(Error::InvalidCursor)
        ));
        assert!(matches!(
            time_key_cursor("o", "o:5"),
            Err(Error::InvalidCursor)
        ));
    }

    #[test]
    fn pages_know_when_they_are_last() {
        let p = page(vec![1, 2, 3], 2, |i| i.to_string());
        assert_eq!(p.items, vec![1, 2]);
        assert_eq!(p.next_cursor.as_deref(), Some("2"));
        let p = page(vec![1, 2], 2, |i| i.to_string());
        assert_eq!(p.next_cursor, None);
        assert_eq!(fetch_size(1000), 1001);
    }
}
