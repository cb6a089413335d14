//! The pieces of a delivery queue that need no node: a queue's identity and
//! shard, its head row, and how fan-out rows are packed into batches.

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

/// The head row of a queue holding `entries` (pending deliveries): its
/// lowest (position, id), that one's due time, and the earliest due time of
/// all; a delete when the queue is empty.
pub(crate) fn head_row(q: &Queue, entries: &[Entry]) -> (Stmt, Values) {
    let key = vec![big(q.shard()), text(&q.channel), text(&q.key)];
    let head = entries.iter().min_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    match head {
        None => (Stmt::DelHead, key),
        Some((position, id, next)) => {
            let earliest = entries.iter().filter_map(|e| e.2).min();
            let mut values = key;
            values.extend([
                big(*position),
                text(id),
                next.and_then(big),
                earliest.and_then(big),
            ]);
            (Stmt::PutHead, values)
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
    fn head_rows_follow_the_lowest_pending_position() {
        let q = Queue {
            channel: "ch".into(),
            key: "k".into(),
        };
        let entries: Vec<Entry> = vec![
            (20, "b".into(), Some(100)),
            (10, "a".into(), Some(500)),
            (30, "c".into(), None),
        ];
        let (stmt, values) = head_row(&q, &entries);
        assert_eq!(stmt, Stmt::PutHead);
        assert_eq!(&values[3..], &[big(10), text("a"), big(500), big(100)]);
        assert_eq!(
            head_row(&q, &[]),
            (Stmt::DelHead, vec![big(q.shard()), text("ch"), text("k")])
        );
        let unscheduled: Vec<Entry> = vec![(5, "x".into(), None)];
        assert_eq!(
            &head_row(&q, &unscheduled).1[3..],
            &[big(5), text("x"), None, None]
        );
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
