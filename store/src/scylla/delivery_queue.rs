//! The pieces of a delivery queue that need no node: a queue's identity and
//! shard, its head and the conditional write of its head row, and how
//! fan-out rows are packed into batches.

use super::codec::{Values, big, shard_of, text};
use super::exec::values_size;
use super::statements::Stmt;
use crate::Delivery;

/// A queue's identity and the shard of its head row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Queue {
    pub(crate) channel: String,
    pub(crate) key: String,
}

impl Queue {
    /// The queue of a delivery.
    pub(crate) fn of(d: &Delivery) -> Queue {
        Queue {
            channel: d.channel_id.clone(),
            key: d.ordering_key.clone(),
        }
    }

    /// The `delivery_heads` shard of this queue.
    pub(crate) fn shard(&self) -> i64 {
        shard_of(&format!("{}\u{0}{}", self.channel, self.key))
    }
}

/// A pending delivery in its queue: (position, id, next_attempt_at).
pub(crate) type Entry = (i64, String, Option<i64>);

/// A queue's head: its lowest pending (position, id), that one's due time,
/// and the earliest due time of the whole queue.
pub(crate) type Head = (i64, String, Option<i64>, Option<i64>);

/// The head of a queue holding `entries` (its pending deliveries); `None`
/// when it is empty.
pub(crate) fn head_of(entries: &[Entry]) -> Option<Head> {
    let (position, id, next) = entries
        .iter()
        .min_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)))?;
    let earliest = entries.iter().filter_map(|e| e.2).min();
    Some((*position, id.clone(), *next, earliest))
}

/// The conditional statement that turns the head row seen (`seen`: `None`
/// when there is no row, else the row's `rev`) into `head`, writing the
/// fresh `rev`: an insert if absent, an update or a delete conditioned on
/// the rev seen. `None` when there is no row and the queue is empty.
pub(crate) fn head_change(
    q: &Queue,
    seen: Option<Option<i64>>,
    head: Option<&Head>,
    rev: i64,
) -> Option<(Stmt, Values)> {
    let key = vec![big(q.shard()), text(&q.channel), text(&q.key)];
    let fields = |(position, id, next, earliest): &Head| {
        vec![
            big(*position),
            text(id),
            next.and_then(big),
            earliest.and_then(big),
        ]
    };
    match (seen, head) {
        (None, None) => None,
        (None, Some(h)) => {
            let mut values = key;
            values.extend(fields(h));
            values.push(big(rev));
            Some((Stmt::InsertHead, values))
        }
        (Some(old), Some(h)) => {
            let mut values = fields(h);
            values.push(big(rev));
            values.extend(key);
            values.push(old.and_then(big));
            Some((Stmt::CasHead, values))
        }
        (Some(old), None) => {
            let mut values = key;
            values.push(old.and_then(big));
            Some((Stmt::CasDelHead, values))
        }
    }
}

/// Packs units (never split) into batches of about `max_bytes`.
pub(crate) fn chunks(
    units: Vec<Vec<(Stmt, Values)>>,
    max_bytes: usize,
) -> Vec<Vec<(Stmt, Values)>> {
    let mut out: Vec<Vec<(Stmt, Values)>> = Vec::new();
    let mut size = 0;
    for unit in units {
        let unit_size: usize = unit.iter().map(|(_, v)| values_size(v)).sum();
        match out.last_mut() {
            Some(last) if size + unit_size <= max_bytes => {
                last.extend(unit);
                size += unit_size;
            }
            _ => {
                out.push(unit);
                size = unit_size;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_follow_the_lowest_pending_position() {
        let entries: Vec<Entry> = vec![
            (20, "b".into(), Some(100)),
            (10, "a".into(), Some(500)),
            (30, "c".into(), None),
        ];
        assert_eq!(
            head_of(&entries),
            Some((10, "a".to_owned(), Some(500), Some(100)))
        );
        assert_eq!(head_of(&[]), None);
        let unscheduled: Vec<Entry> = vec![(5, "x".into(), None)];
        assert_eq!(head_of(&unscheduled), Some((5, "x".to_owned(), None, None)));
    }

    #[test]
    fn head_changes_are_conditioned_on_the_rev_seen() {
        let q = Queue {
            channel: "ch".into(),
            key: "k".into(),
        };
        let key = vec![big(q.shard()), text("ch"), text("k")];
        let head: Head = (10, "a".into(), Some(500), Some(100));
        let fields = vec![big(10), text("a"), big(500), big(100)];
        assert_eq!(head_change(&q, None, None, 7), None, "nothing to write");
        let (stmt, values) = head_change(&q, None, Some(&head), 7).expect("insert");
        assert_eq!(stmt, Stmt::InsertHead);
        assert_eq!(values, [key.clone(), fields.clone(), vec![big(7)]].concat());
        let (stmt, values) = head_change(&q, Some(Some(3)), Some(&head), 7).expect("cas");
        assert_eq!(stmt, Stmt::CasHead);
        assert_eq!(
            values,
            [fields, vec![big(7)], key.clone(), vec![big(3)]].concat()
        );
        let (stmt, values) = head_change(&q, Some(None), None, 7).expect("delete");
        assert_eq!(stmt, Stmt::CasDelHead);
        assert_eq!(values, [key, vec![None]].concat(), "a row from before revs");
    }

    #[test]
    fn chunks_keep_units_whole() {
        let unit = |n: usize| vec![(Stmt::PutQueue, vec![text(&"x".repeat(n))]); 2];
        let out = chunks(vec![unit(10), unit(10), unit(100), unit(10)], 60);
        let sizes: Vec<usize> = out.iter().map(Vec::len).collect();
        assert_eq!(sizes, [4, 2, 2]);
        assert!(chunks(vec![], 10).is_empty());
    }
}
