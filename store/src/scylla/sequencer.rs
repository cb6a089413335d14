//! The outbox sequencer and the readers of the global event log.
//!
//! `outbox_log ((bucket), position)` holds every event with its final
//! position; bucket `b` holds positions `b * LOG_BUCKET ..
//! (b + 1) * LOG_BUCKET` (position 0 is never used), so a partition stays a
//! few tens of MB. The static columns of the newest bucket are the
//! sequencer's state: `next_position` and `cursors` (per stream, the last seq
//! copied). A round:
//!
//! 1. reads that state (walking to the newest bucket, creating it with
//!    `IF NOT EXISTS` when the previous one is full),
//! 2. reads every stream's head, then the events of each stream between its
//!    cursor and that head (heads first: an event whose head is visible had
//!    every batch acknowledged before it fully written, see `outbox.rs`),
//! 3. merges them by (seq, stream), at most [`ROUND_EVENTS`] events or
//!    [`ROUND_BYTES`] of data, and
//! 4. writes them at `next_position..` together with the new state in ONE
//!    conditional batch on that bucket (`IF next_position = <read value>`).
//!
//! Losing the condition means another reader sequenced first: the round is
//! read again. The condition makes positions strictly increasing and makes a
//! readable position final. This is the only place the write path of events
//! uses a lightweight transaction, once per round on the reader side, never
//! per writer batch.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use agusto_schemas::Event;

use super::Inner;
use super::codec::{
    Values, at, big, cursor, fetch_size, int_cursor, limit, opt_text, page, text, text_big_map,
    to_json,
};
use super::outbox::{EventRow, event_of};
use super::statements::Stmt;
use crate::{Error, Page, Result};

/// Positions per `outbox_log` partition.
pub(crate) const LOG_BUCKET: i64 = 100_000;
/// Most events one round sequences.
pub(crate) const ROUND_EVENTS: usize = 200;
/// Most event data (bytes) one round writes, to keep its batch small.
pub(crate) const ROUND_BYTES: usize = 64 * 1024;
/// Rounds one read runs at most before it reads the log.
const MAX_ROUNDS: usize = 8;
/// Lost conditions tolerated in one round before giving up.
const CAS_ATTEMPTS: usize = 16;
/// Cursor tag of `events`: the position of the last event.
const EVENTS: &str = "e";

/// The sequencer's state as read from the newest bucket.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LogState {
    pub(crate) bucket: i64,
    pub(crate) next: i64,
    pub(crate) cursors: BTreeMap<String, i64>,
}

/// The first position of a bucket (1 for bucket 0: positions start at 1).
pub(crate) fn bucket_start(bucket: i64) -> i64 {
    (bucket * LOG_BUCKET).max(1)
}

/// The bucket of a position.
pub(crate) fn bucket_of(position: i64) -> i64 {
    position.max(0) / LOG_BUCKET
}

/// Picks the next events in global order from each stream's pending events
/// (each list sorted by seq): by (seq, stream), at most `room` events and
/// about `max_bytes` of data (always at least one event).
pub(crate) fn merge_round(
    streams: Vec<(String, Vec<(i64, Event)>)>,
    room: usize,
    max_bytes: usize,
) -> Vec<(String, i64, Event)> {
    let mut all: Vec<(String, i64, Event)> = streams
        .into_iter()
        .flat_map(|(s, events)| events.into_iter().map(move |(seq, e)| (s.clone(), seq, e)))
        .collect();
    all.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    let mut bytes = 0;
    let mut keep = 0;
    for (_, _, e) in &all {
        bytes += e.data.to_string().len() + e.id.len() + 64;
        if keep >= room || (keep > 0 && bytes > max_bytes) {
            break;
        }
        keep += 1;
    }
    all.truncate(keep);
    all
}

/// The cursors after a round took `taken`: each stream's last seq taken,
/// streams without a head any more (expired) dropped.
pub(crate) fn advance_cursors(
    old: &BTreeMap<String, i64>,
    heads: &BTreeMap<String, i64>,
    taken: &[(String, i64, Event)],
) -> BTreeMap<String, i64> {
    let mut cursors: BTreeMap<String, i64> = old
        .iter()
        .filter(|(s, _)| heads.contains_key(*s))
        .map(|(s, c)| (s.clone(), *c))
        .collect();
    for (stream, seq, _) in taken {
        let c = cursors.entry(stream.clone()).or_insert(0);
        *c = (*c).max(*seq);
    }
    cursors
}

/// The conditional batch of a round: state first, then the events.
pub(crate) fn round_ops(
    state: &LogState,
    cursors: &BTreeMap<String, i64>,
    taken: &[(String, i64, Event)],
) -> Result<Vec<(Stmt, Values)>> {
    let count = i64::try_from(taken.len()).unwrap_or(i64::MAX);
    let mut ops = vec![(
        Stmt::LogAdvance,
        vec![
            big(state.next + count),
            text_big_map(cursors),
            big(state.bucket),
            big(state.next),
        ],
    )];
    for (position, (_, _, e)) in (state.next..).zip(taken) {
        ops.push((
            Stmt::LogPut,
            vec![
                big(state.bucket),
                big(position),
                text(&e.id),
                text(e.event_type.as_str()),
                at(&e.created_at),
                opt_text(e.channel_id.as_deref()),
                opt_text(e.product_code.as_deref()),
                text(&to_json(&e.data)?),
            ],
        ));
    }
    Ok(ops)
}

type StateRow = (Option<i64>, Option<BTreeMap<String, i64>>);

impl Inner {
    /// Events with position > `after`, oldest first, after sequencing what
    /// the streams hold.
    pub(crate) async fn outbox_after(&self, after: i64, limit: usize) -> Result<Vec<(i64, Event)>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.sequence_pending().await?;
        self.read_log(after, limit).await
    }

    /// A page of events in log order.
    pub(crate) async fn events(&self, after: Option<&str>, limit: usize) -> Result<Page<Event>> {
        let after = after
            .map(|c| int_cursor(EVENTS, c))
            .transpose()?
            .unwrap_or(0);
        let rows = self.outbox_after(after, fetch_size(limit)).await?;
        let page = page(rows, limit, |(p, _)| cursor(EVENTS, &p.to_string()));
        Ok(Page {
            items: page.items.into_iter().map(|(_, e)| e).collect(),
            next_cursor: page.next_cursor,
        })
    }

    async fn sequence_pending(&self) -> Result<()> {
        for _ in 0..MAX_ROUNDS {
            if self.sequence_round().await? == 0 {
                break;
            }
        }
        Ok(())
    }

    /// Reads the log from `after` on, bucket by bucket up to the newest.
    async fn read_log(&self, after: i64, want: usize) -> Result<Vec<(i64, Event)>> {
        let after = after.max(0);
        let newest = self.log_bucket.load(Ordering::Relaxed);
        let mut out = Vec::new();
        let mut bucket = bucket_of(after + 1);
        while bucket <= newest && out.len() < want {
            let rows = self
                .rows::<EventRow>(
                    Stmt::LogRead,
                    vec![big(bucket), big(after), limit(want - out.len())],
                )
                .await?;
            for row in rows {
                out.push(event_of(row)?);
            }
            bucket += 1;
        }
        Ok(out)
    }

    /// One round; returns how many events it sequenced.
    async fn sequence_round(&self) -> Result<usize> {
        for attempt in 0..CAS_ATTEMPTS {
            let state = self.log_state().await?;
            let heads: BTreeMap<String, i64> = self
                .scan::<(String, Option<i64>)>(Stmt::StreamHeads, vec![])
                .await?
                .into_iter()
                .filter_map(|(s, h)| h.map(|h| (s, h)))
                .collect();
            let room = usize::try_from(bucket_start(state.bucket + 1) - state.next)
                .unwrap_or(0)
                .min(ROUND_EVENTS);
            let pending: Vec<(&String, i64, i64)> = heads
                .iter()
                .map(|(s, h)| (s, state.cursors.get(s).copied().unwrap_or(0), *h))
                .filter(|(_, c, h)| h > c)
                .collect();
            if pending.is_empty() || room == 0 {
                return Ok(0);
            }
            let reads = pending.iter().map(|(stream, from, to)| async move {
                let rows = self
                    .rows::<EventRow>(
                        Stmt::StreamEvents,
                        vec![text(stream), big(*from), big(*to), limit(room)],
                    )
                    .await?;
                let events = rows.into_iter().map(event_of).collect::<Result<Vec<_>>>()?;
                Ok::<_, Error>(((*stream).clone(), events))
            });
            let streams = futures::future::try_join_all(reads).await?;
            let taken = merge_round(streams, room, ROUND_BYTES);
            if taken.is_empty() {
                return Ok(0);
            }
            let cursors = advance_cursors(&state.cursors, &heads, &taken);
            if self.cas_batch(round_ops(&state, &cursors, &taken)?).await? {
                return Ok(taken.len());
            }
            tracing::debug!(
                bucket = state.bucket,
                attempt,
                "outbox sequencer lost a round; pausing (jittered, growing) before reading again"
            );
            let pause = 1 + (super::codec::random_u64() % 8) * (attempt as u64 + 1);
            tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
        }
        Err(Error::Unavailable(
            "outbox sequencer kept losing its condition".into(),
        ))
    }

    /// The state of the newest log bucket, creating buckets as needed.
    async fn log_state(&self) -> Result<LogState> {
        let mut bucket = self.log_bucket.load(Ordering::Relaxed).max(0);
        let mut carried: Option<BTreeMap<String, i64>> = None;
        for _ in 0..10_000 {
            let row = self
                .row_serial::<StateRow>(Stmt::LogState, vec![big(bucket)])
                .await?;
            match row {
                Some((Some(next), cursors)) => {
                    let cursors = cursors.unwrap_or_default();
                    if next >= bucket_start(bucket + 1) {
                        carried = Some(cursors);
                        bucket += 1;
                        continue;
                    }
                    self.log_bucket.fetch_max(bucket, Ordering::Relaxed);
                    return Ok(LogState {
                        bucket,
                        next,
                        cursors,
                    });
                }
                _ if bucket == 0 || carried.is_some() => {
                    let cursors = carried.clone().unwrap_or_default();
                    let init = vec![
                        big(bucket),
                        big(bucket_start(bucket)),
                        text_big_map(&cursors),
                    ];
                    // Not applied: another reader created it; read it again.
                    self.lwt(Stmt::LogInit, init).await?;
                }
                _ => bucket -= 1,
            }
        }
        Err(Error::Unavailable(
            "outbox log buckets could not be walked".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agusto_schemas::EventType;
    use std::collections::HashMap;

    fn ev(id: &str, bytes: usize) -> Event {
        Event {
            id: id.to_owned(),
            event_type: EventType::StockChanged,
            created_at: chrono::DateTime::from_timestamp_micros(1).expect("time"),
            channel_id: None,
            product_code: Some("p".to_owned()),
            data: serde_json::json!({ "pad": "x".repeat(bytes) }),
        }
    }

    /// Groups `(stream, seq)` pairs.
    fn per_stream(taken: &[(String, i64, Event)]) -> HashMap<&str, Vec<i64>> {
        let mut out: HashMap<&str, Vec<i64>> = HashMap::new();
        for (s, seq, _) in taken {
            out.entry(s.as_str()).or_default().push(*seq);
        }
        out
    }

    fn streams() -> Vec<(String, Vec<(i64, Event)>)> {
        vec![
            ("b".to_owned(), vec![(10, ev("b1", 1)), (30, ev("b2", 1))]),
            (
                "a".to_owned(),
                vec![(10, ev("a1", 1)), (20, ev("a2", 1)), (40, ev("a3", 1))],
            ),
        ]
    }

    #[test]
    fn rounds_merge_by_seq_then_stream() {
        let taken = merge_round(streams(), 10, ROUND_BYTES);
        let ids: Vec<&str> = taken.iter().map(|(_, _, e)| e.id.as_str()).collect();
        assert_eq!(ids, ["a1", "b1", "a2", "b2", "a3"]);
        let cut = merge_round(streams(), 3, ROUND_BYTES);
        assert_eq!(
            per_stream(&cut),
            HashMap::from([("a", vec![10, 20]), ("b", vec![10])])
        );
    }

    #[test]
    fn rounds_respect_the_byte_budget_but_take_one() {
        let big_ones = vec![("s".to_owned(), vec![(1, ev("x", 5000)), (2, ev("y", 5000))])];
        assert_eq!(merge_round(big_ones.clone(), 10, 100).len(), 1);
        assert_eq!(merge_round(big_ones, 10, 20_000).len(), 2);
    }

    #[test]
    fn cursors_advance_per_stream_and_drop_expired_streams() {
        let taken = merge_round(streams(), 3, ROUND_BYTES);
        let old = BTreeMap::from([("gone".to_owned(), 5), ("a".to_owned(), 1)]);
        let heads = BTreeMap::from([("a".to_owned(), 40), ("b".to_owned(), 30)]);
        let new = advance_cursors(&old, &heads, &taken);
        assert_eq!(
            new,
            BTreeMap::from([("a".to_owned(), 20), ("b".to_owned(), 10)])
        );
    }

    #[test]
    fn round_ops_write_state_then_consecutive_positions() {
        let state = LogState {
            bucket: 0,
            next: 1,
            cursors: BTreeMap::new(),
        };
        let taken = merge_round(streams(), 2, ROUND_BYTES);
        let cursors = advance_cursors(
            &state.cursors,
            &BTreeMap::from([("a".into(), 40), ("b".into(), 30)]),
            &taken,
        );
        let ops = round_ops(&state, &cursors, &taken).expect("ops");
        assert_eq!(ops.len(), 3);
        assert_eq!(ops[0].0, Stmt::LogAdvance);
        assert_eq!(ops[0].1[0], big(3));
        assert_eq!(&ops[0].1[2..], &[big(0), big(1)]);
        assert_eq!((ops[1].1[1].clone(), ops[2].1[1].clone()), (big(1), big(2)));
        assert_eq!(ops[2].1[2], text("b1"));
    }

    #[test]
    fn buckets_start_at_one_and_split_positions() {
        assert_eq!(bucket_start(0), 1);
        assert_eq!(bucket_start(2), 2 * LOG_BUCKET);
        assert_eq!(bucket_of(1), 0);
        assert_eq!(bucket_of(LOG_BUCKET - 1), 0);
        assert_eq!(bucket_of(LOG_BUCKET), 1);
        assert_eq!(bucket_of(-5), 0);
    }
}
