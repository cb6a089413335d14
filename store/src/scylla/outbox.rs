//! The write side of the outbox, and applied offsets.
//!
//! # Outbox positions
//!
//! The contract wants one strictly increasing position per event, in write
//! order, and the webhook fan-out keeps a single number: "everything up to
//! position P is fanned out". Writers on different machines cannot share a
//! counter without a lightweight transaction per batch, and positions taken
//! from their clocks (`micros * 1024 + index`) are not safe either: a batch
//! that is slow to become visible would appear *below* a position the
//! fan-out has already passed, and its events would never be delivered.
//!
//! So positions are assigned in two steps:
//!
//! 1. **Streams (writers, hot path, no LWT).** Each writer appends its events
//!    to its own stream, `outbox ((stream), seq)`, inside its logged batch.
//!    The stream of a batch from a log is `<log>#<partition>`, so it has one
//!    writer, like the partition; batches without an offset (timer-injected
//!    commands) go to this process's own stream, serialised by a lock. A
//!    stream's `seq`s increase: they come from a per-process hybrid clock
//!    ([`SeqClock`]: about `micros * 1024`, never below the stream's last seq,
//!    read in the same round trip as the rest of the batch's previous state).
//!    The stream's newest seq goes to `outbox_streams` in the same batch.
//! 2. **The log (sequencer, reader side, one LWT per round).** Reading the
//!    outbox (`outbox_after`, `events`) first moves new stream events into
//!    the global log `outbox_log`, positions 1, 2, 3, … (see
//!    [`super::sequencer`]). Its state — the next position and, per stream,
//!    the last seq already copied — changes only through a conditional batch
//!    on the log's newest partition, so concurrent readers never hand out a
//!    position twice and a position, once readable, never gets an event below
//!    it. Every event reaches the log exactly once, and each stream's events
//!    keep their order; across streams, events are merged by seq (about write
//!    time), and an event can only be sequenced once every event of the batches
//!    that completed before its own was written can be too (stream heads are
//!    read before streams), so causally ordered writes keep their order.
//!
//! A replayed batch adds no event: `events_by_id` (written in the same batch)
//! is read first and known ids are skipped. Staging rows expire after 30 days;
//! the log keeps every event. What this cannot fix, no store can: a batch
//! whose write *failed* at the client may still be applied later by the
//! batchlog; if its stream has moved on meanwhile, those events stay behind
//! the stream's cursor (as its other rows, they are for a change the writer
//! reported as failed).

use std::collections::HashSet;
use std::sync::Mutex;

use agusto_schemas::{Event, EventType};

use super::Inner;
use super::codec::{Values, at, big, from_json, opt_text, required, text, time, to_i64, to_json};
use super::statements::Stmt;
use crate::{AppliedOffset, Error, Result};

/// Issues stream sequence numbers: about the current time in microseconds
/// times 1024 (room for 1024 events per microsecond), strictly above every
/// number this process issued and above a given floor.
#[derive(Debug, Default)]
pub(crate) struct SeqClock {
    last: Mutex<i64>,
}

impl SeqClock {
    /// Reserves `n` consecutive numbers above `floor`; returns the first.
    pub(crate) fn reserve(&self, floor: i64, n: usize) -> i64 {
        let now = chrono::Utc::now().timestamp_micros().saturating_mul(1024);
        self.reserve_at(now, floor, n)
    }

    fn reserve_at(&self, now: i64, floor: i64, n: usize) -> i64 {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let first = now.max(last.saturating_add(1)).max(floor.saturating_add(1));
        let count = i64::try_from(n.max(1)).unwrap_or(i64::MAX);
        *last = first.saturating_add(count - 1);
        first
    }
}

/// The outbox stream a batch's events go to.
pub(crate) fn stream_of(applied: Option<&AppliedOffset>, local: &str) -> String {
    match applied {
        Some(a) => format!("{}#{}", a.log, a.partition),
        None => local.to_owned(),
    }
}

/// What a batch's events need to know before they are written.
#[derive(Debug, Default)]
pub(crate) struct OutboxPrev {
    /// Ids of the batch's events that are stored already.
    pub(crate) known: HashSet<String>,
    /// The stream's newest seq (0 for a new stream).
    pub(crate) last_seq: i64,
}

/// The events to write: unknown ids, each once, in batch order.
pub(crate) fn new_events<'a>(events: &'a [Event], known: &HashSet<String>) -> Vec<&'a Event> {
    let mut seen = HashSet::new();
    events
        .iter()
        .filter(|e| !known.contains(&e.id) && seen.insert(e.id.as_str()))
        .collect()
}

/// Rows of `events` appended to `stream` from `first_seq` on: the outbox
/// rows, their ids, and the stream's head.
pub(crate) fn event_rows(
    stream: &str,
    first_seq: i64,
    events: &[&Event],
) -> Result<Vec<(Stmt, Values)>> {
    let mut ops = Vec::with_capacity(events.len() * 2 + 1);
    let mut seq = first_seq;
    for e in events {
        ops.push((
            Stmt::PutOutbox,
            vec![
                text(stream),
                big(seq),
                text(&e.id),
                text(e.event_type.as_str()),
                at(&e.created_at),
                opt_text(e.channel_id.as_deref()),
                opt_text(e.product_code.as_deref()),
                text(&to_json(&e.data)?),
            ],
        ));
        ops.push((Stmt::PutEventId, vec![text(&e.id), text(stream), big(seq)]));
        seq += 1;
    }
    if !events.is_empty() {
        ops.push((Stmt::PutStreamHead, vec![text(stream), big(seq - 1)]));
    }
    Ok(ops)
}

/// The row recording a partition's applied offset.
pub(crate) fn offset_row(applied: &AppliedOffset) -> Result<(Stmt, Values)> {
    Ok((
        Stmt::PutOffset,
        vec![
            text(&applied.log),
            big(i64::from(applied.partition)),
            big(to_i64(applied.offset, "log offset")?),
        ],
    ))
}

/// An outbox or log row: (seq or position, id, type, created_at, channel,
/// product, data).
pub(crate) type EventRow = (
    i64,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Decodes an [`EventRow`].
pub(crate) fn event_of(row: EventRow) -> Result<(i64, Event)> {
    let (n, id, event_type, created_at, channel_id, product_code, data) = row;
    let event_type = required(event_type, "event type")?;
    let event_type = EventType::parse(&event_type)
        .ok_or_else(|| Error::Corrupt(format!("unknown event type {event_type:?}")))?;
    let data = required(data, "event data")?;
    Ok((
        n,
        Event {
            id: required(id, "event id")?,
            event_type,
            created_at: time(required(created_at, "event created_at")?)?,
            channel_id,
            product_code,
            data: from_json(&data, "event data")?,
        },
    ))
}

impl Inner {
    /// Reads what [`OutboxPrev`] holds for a batch's events (nothing to read
    /// when it has none).
    pub(crate) async fn outbox_prev(&self, stream: &str, events: &[Event]) -> Result<OutboxPrev> {
        if events.is_empty() {
            return Ok(OutboxPrev::default());
        }
        let ids: HashSet<&str> = events.iter().map(|e| e.id.as_str()).collect();
        let lookups = ids.iter().map(|id| async move {
            let found = self
                .row::<(String,)>(Stmt::GetEventId, vec![text(id)])
                .await?;
            Ok::<_, Error>(found.map(|(id,)| id))
        });
        let last = self.row::<(i64,)>(Stmt::StreamLastSeq, vec![text(stream)]);
        let (known, last) = futures::try_join!(futures::future::try_join_all(lookups), last)?;
        Ok(OutboxPrev {
            known: known.into_iter().flatten().collect(),
            last_seq: last.map_or(0, |(s,)| s),
        })
    }

    /// The outbox rows of a batch's new events, with sequence numbers
    /// reserved from this process's clock.
    pub(crate) fn outbox_ops(
        &self,
        stream: &str,
        events: &[Event],
        prev: &OutboxPrev,
    ) -> Result<Vec<(Stmt, Values)>> {
        let new = new_events(events, &prev.known);
        if new.is_empty() {
            return Ok(Vec::new());
        }
        let first = self.clock.reserve(prev.last_seq, new.len());
        event_rows(stream, first, &new)
    }

    /// A partition's applied offset, if any.
    pub(crate) async fn applied_offset(&self, log: &str, partition: u32) -> Result<Option<u64>> {
        let row = self
            .row::<(Option<i64>,)>(Stmt::GetOffset, vec![text(log), big(i64::from(partition))])
            .await?;
        row.and_then(|(o,)| o)
            .map(|o| {
                u64::try_from(o).map_err(|_| Error::Corrupt(format!("negative log offset {o}")))
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scylla::codec::micros;

    fn event(id: &str) -> Event {
        Event {
            id: id.to_owned(),
            event_type: EventType::StockChanged,
            created_at: time(1_700_000_000_000_001).expect("time"),
            channel_id: None,
            product_code: Some("P".to_owned()),
            data: serde_json::json!({ "sku": "P", "n": [1, 2.5, null] }),
        }
    }

    #[test]
    fn the_clock_only_moves_forward() {
        let clock = SeqClock::default();
        assert_eq!(clock.reserve_at(1000, 0, 3), 1000);
        assert_eq!(clock.reserve_at(1000, 0, 1), 1003, "above what was issued");
        assert_eq!(
            clock.reserve_at(500, 0, 2),
            1004,
            "a clock going back changes nothing"
        );
        assert_eq!(
            clock.reserve_at(2000, 5000, 1),
            5001,
            "above the stream's last seq"
        );
        assert_eq!(clock.reserve_at(2000, 0, 0), 5002, "at least one");
        let now = clock.reserve(0, 1);
        assert!(now > 1 << 60, "about micros * 1024: {now}");
    }

    #[test]
    fn streams_follow_the_log_partition() {
        let a = AppliedOffset {
            log: "agusto.stock.commands".to_owned(),
            partition: 3,
            offset: 9,
        };
        assert_eq!(stream_of(Some(&a), "local-1"), "agusto.stock.commands#3");
        assert_eq!(stream_of(None, "local-1"), "local-1");
    }

    #[test]
    fn known_and_repeated_events_are_skipped() {
        let events = [event("a"), event("b"), event("a"), event("c")];
        let known: HashSet<String> = ["b".to_owned()].into();
        let ids: Vec<&str> = new_events(&events, &known)
            .iter()
            .map(|e| e.id.as_str())
            .collect();
        assert_eq!(ids, ["a", "c"]);
    }

    #[test]
    fn event_rows_round_trip_and_end_with_the_head() {
        let (a, b) = (event("a"), event("b"));
        let ops = event_rows("s#1", 100, &[&a, &b]).expect("rows");
        let stmts: Vec<Stmt> = ops.iter().map(|(s, _)| *s).collect();
        assert_eq!(
            stmts,
            [
                Stmt::PutOutbox,
                Stmt::PutEventId,
                Stmt::PutOutbox,
                Stmt::PutEventId,
                Stmt::PutStreamHead
            ]
        );
        assert_eq!(ops[4].1, vec![text("s#1"), big(101)]);
        let row = |v: &Values| -> EventRow {
            let s = |i: usize| match &v[i] {
                Some(scylla::value::CqlValue::Text(t)) => Some(t.clone()),
                _ => None,
            };
            let n = |i: usize| match &v[i] {
                Some(scylla::value::CqlValue::BigInt(n)) => Some(*n),
                _ => None,
            };
            (n(1).expect("seq"), s(2), s(3), n(4), s(5), s(6), s(7))
        };
        assert_eq!(event_of(row(&ops[2].1)).expect("decode"), (101, b.clone()));
        assert_eq!(micros(&a.created_at), 1_700_000_000_000_001);
        assert!(event_rows("s", 1, &[]).expect("rows").is_empty());
    }

    #[test]
    fn bad_event_rows_are_corrupt() {
        let bad_type = (
            1,
            Some("e".into()),
            Some("nope".into()),
            Some(1),
            None,
            None,
            Some("{}".into()),
        );
        assert!(matches!(event_of(bad_type), Err(Error::Corrupt(_))));
        let bad_json = (
            1,
            Some("e".into()),
            Some("stock.changed".into()),
            Some(1),
            None,
            None,
            Some("{".into()),
        );
        assert!(matches!(event_of(bad_json), Err(Error::Corrupt(_))));
    }
}
