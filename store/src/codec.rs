//! Conversions every backend shares: timestamps kept as microseconds, JSON
//! columns, and opaque paging cursors `<tag>:<payload>` (the tag names the list
//! that issued it, so another list's cursor is refused too).

use agusto_schemas::Timestamp;
use chrono::DateTime;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Error, Page, Result};

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

/// A non-negative integer stored as bigint.
pub(crate) fn to_i64(value: u64, what: &str) -> Result<i64> {
    i64::try_from(value).map_err(|_| Error::Unavailable(format!("{what} {value} exceeds i64")))
}

/// Cuts `rows` (fetched with [`fetch_size`]) to `limit` and issues the cursor
/// of the next page from the last item kept, or `None` when nothing follows.
pub(crate) fn page<T>(mut rows: Vec<T>, limit: usize, cursor_of: impl Fn(&T) -> String) -> Page<T> {
    let limit = limit.max(1);
    let next_cursor = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(cursor_of)
    } else {
        None
    };
    Page {
        items: rows,
        next_cursor,
    }
}

/// Cursors are `<tag>:<payload>`; the tag names the list that issued it, so a
/// cursor of another list is refused too. The same format as the SQLite
/// backend's, though a cursor is only ever valid on the store that issued it.
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

/// A cursor holding a non-negative integer.
pub(crate) fn int_cursor(tag: &str, cursor: &str) -> Result<i64> {
    let n: i64 = cursor_payload(tag, cursor)?
        .parse()
        .map_err(|_| Error::InvalidCursor)?;
    if n < 0 {
        return Err(Error::InvalidCursor);
    }
    Ok(n)
}

/// A cursor holding an integer and a key: `<integer>|<key>`.
pub(crate) fn int_key_cursor(tag: &str, cursor: &str) -> Result<(i64, String)> {
    let payload = cursor_payload(tag, cursor)?;
    let (n, key) = payload.split_once('|').ok_or(Error::InvalidCursor)?;
    let n: i64 = n.parse().map_err(|_| Error::InvalidCursor)?;
    Ok((n, key.to_owned()))
}

/// Issues an `<integer>|<key>` cursor.
pub(crate) fn int_key(tag: &str, n: i64, key: &str) -> String {
    cursor(tag, &format!("{n}|{key}"))
}

/// A stored stock-change row, decoded the same way by every backend:
/// `levels` is the JSON of the answered levels, `expires_at` microseconds.
pub(crate) fn stock_change(
    change_id: &str,
    partition: u32,
    fingerprint: Option<String>,
    levels: Option<String>,
    expires_at: i64,
) -> Result<crate::StockChange> {
    let levels = levels
        .map(|l| from_json::<Vec<agusto_schemas::StockLevel>>(&l, "stock change levels"))
        .transpose()?;
    Ok(crate::StockChange {
        change_id: change_id.to_owned(),
        partition,
        fingerprint,
        levels,
        expires_at: time(expires_at)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_know_when_they_are_last() {
        let p = page(vec![1, 2, 3], 2, |i| i.to_string());
        assert_eq!(p.items, vec![1, 2]);
        assert_eq!(p.next_cursor.as_deref(), Some("2"));
        let p = page(vec![1, 2], 2, |i| i.to_string());
        assert_eq!(p.next_cursor, None);
    }

    #[test]
    fn cursors_parse_only_their_own_tag() {
        assert_eq!(int_cursor("m", "m:12").ok(), Some(12));
        assert!(matches!(int_cursor("m", "e:12"), Err(Error::InvalidCursor)));
        assert!(matches!(int_cursor("m", "m:-1"), Err(Error::InvalidCursor)));
        assert!(matches!(int_cursor("m", "m12"), Err(Error::InvalidCursor)));
        assert!(matches!(int_cursor("m", ""), Err(Error::InvalidCursor)));
        assert_eq!(
            int_key_cursor("o", "o:5|ord|x").ok(),
            Some((5, "ord|x".to_owned()))
        );
        assert_eq!(
            int_key_cursor("o", &int_key("o", -3, "k")).ok(),
            Some((-3, "k".to_owned()))
        );
        for bad in ["o:x|a", "o:5", "5|a", "o:|", "\u{0}|x|9", "not-a-cursor"] {
            assert!(
                matches!(int_key_cursor("o", bad), Err(Error::InvalidCursor)),
                "{bad:?}"
            );
        }
        assert_eq!(cursor_payload("p", &cursor("p", "a:b")).ok(), Some("a:b"));
    }
}
