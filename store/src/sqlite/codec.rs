//! Conversions between records and SQLite values: timestamps, JSON columns,
//! errors and paging cursors.

use agusto_schemas::Timestamp;
use rusqlite::ErrorCode;

use crate::{Error, Result};

pub(crate) use crate::codec::{
    cursor, cursor_payload, from_json, int_cursor as seq_cursor, int_key_cursor, micros, opt_time,
    page, stock_change, time, to_i64, to_json,
};

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

/// The page size to fetch: `limit` (at least 1) plus one row that tells
/// whether another page follows.
pub(crate) fn fetch_size(limit: usize) -> i64 {
    i64::try_from(limit.max(1)).map_or(i64::MAX, |l| l.saturating_add(1))
}

/// A cursor holding a timestamp (microseconds) and a key: `<micros>|<key>`.
pub(crate) fn time_key_cursor(tag: &str, cursor: &str) -> Result<(i64, String)> {
    int_key_cursor(tag, cursor)
}

/// Issues a `<micros>|<key>` cursor.
pub(crate) fn time_key(tag: &str, at: &Timestamp, key: &str) -> String {
    cursor(tag, &format!("{}|{key}", micros(at)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetch_size_asks_one_row_more() {
        assert_eq!(fetch_size(1000), 1001);
    }
}
