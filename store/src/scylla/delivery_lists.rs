//! Delivery reads over many rows: the due queue heads, the next due time,
//! and `list_deliveries`.

use agusto_schemas::Timestamp;

use super::Inner;
use super::codec::{
    Values, big, fetch_size, int_key, int_key_cursor, limit, merge_sorted, micros, opt_time, page,
    shards, text,
};
use super::deliveries::DeliveryRow;
use super::delivery_queue::Queue;
use super::statements::Stmt;
use crate::{Delivery, DeliveryStatus, Page, Result};

/// Cursor tag of `list_deliveries`: `<position>|<delivery id>`.
const DELIVERIES: &str = "d";
/// Pages of stale keys skipped before an empty page is returned.
const MAX_EMPTY_PAGES: usize = 16;

/// A `delivery_heads` row: (channel, key, head position, head id, head due
/// time, earliest due time in the queue).
type HeadRow = (
    String,
    String,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<i64>,
);

/// A due head: (due time, position, id, channel, key).
pub(crate) type DueHead = (i64, i64, String, String, String);

/// The heads due at `now`, soonest first (ties by position, then id), at
/// most `want`.
pub(crate) fn due_heads(heads: &[HeadRow], now: i64, want: usize) -> Vec<DueHead> {
    let mut due: Vec<DueHead> = heads
        .iter()
        .filter_map(
            |(ch, key, position, id, next, _)| match (position, id, next) {
                (Some(p), Some(id), Some(n)) if *n <= now => {
                    Some((*n, *p, id.clone(), ch.clone(), key.clone()))
                }
                _ => None,
            },
        )
        .collect();
    due.sort();
    due.truncate(want);
    due
}

/// The list table for a filter: its two statements (first page, later
/// pages) and the partition keys to ask.
fn delivery_index(
    status: Option<DeliveryStatus>,
    channel: Option<&str>,
) -> (Stmt, Stmt, Vec<Values>) {
    match (status, channel) {
        (None, None) => (
            Stmt::ListDlvPosition,
            Stmt::ListDlvPositionAfter,
            shards().map(|s| vec![big(s)]).collect(),
        ),
        (Some(st), None) => (
            Stmt::ListDlvStatus,
            Stmt::ListDlvStatusAfter,
            shards().map(|s| vec![text(st.as_str()), big(s)]).collect(),
        ),
        (None, Some(ch)) => (
            Stmt::ListDlvChannel,
            Stmt::ListDlvChannelAfter,
            vec![vec![text(ch)]],
        ),
        (Some(st), Some(ch)) => (
            Stmt::ListDlvChannelStatus,
            Stmt::ListDlvChannelStatusAfter,
            vec![vec![text(ch), text(st.as_str())]],
        ),
    }
}

impl Inner {
    async fn all_heads(&self) -> Result<Vec<HeadRow>> {
        let reads = shards().map(|shard| self.scan::<HeadRow>(Stmt::Heads, vec![big(shard)]));
        Ok(futures::future::try_join_all(reads)
            .await?
            .into_iter()
            .flatten()
            .collect())
    }

    /// Pending deliveries due at `now` that head their (channel, key) queue
    /// and hold no live lease, soonest first. A head row naming a delivery
    /// that is no longer pending is repaired on the way (see
    /// `delivery_heads.rs`); its queue's next head shows on the next call.
    pub(crate) async fn due_deliveries(
        &self,
        now: &Timestamp,
        want: usize,
    ) -> Result<Vec<Delivery>> {
        if want == 0 {
            return Ok(Vec::new());
        }
        let now = micros(now);
        let due = due_heads(&self.all_heads().await?, now, want);
        let found =
            futures::future::try_join_all(due.iter().map(|(_, _, id, _, _)| {
                self.row::<DeliveryRow>(Stmt::GetDelivery, vec![text(id)])
            }))
            .await?;
        let mut out = Vec::with_capacity(due.len());
        for (row, (_, position, _, channel, key)) in found.into_iter().zip(due) {
            let lease = row.as_ref().and_then(DeliveryRow::lease_until);
            match row.map(DeliveryRow::into_delivery).transpose()? {
                Some(d) if d.status == DeliveryStatus::Pending && d.position == position => {
                    // The row has the last word: a head row may lag a
                    // rescheduled attempt whose recorder died.
                    let due = d.next_attempt_at.as_ref().is_some_and(|n| micros(n) <= now);
                    if due && lease.is_none_or(|l| l <= now) {
                        out.push(d);
                    }
                }
                _ => {
                    let q = Queue { channel, key };
                    if let Err(e) = self.repair_queue(&q, position).await {
                        tracing::warn!(channel = %q.channel, key = %q.key, error = %e, "repairing a delivery queue failed; tried again on the next call");
                    }
                }
            }
        }
        Ok(out)
    }

    /// The earliest `next_attempt_at` of any pending delivery.
    pub(crate) async fn next_delivery_due(&self) -> Result<Option<Timestamp>> {
        let earliest = self.all_heads().await?.iter().filter_map(|h| h.5).min();
        opt_time(earliest)
    }

    /// A page of deliveries by (position, id), newest first, optionally of
    /// one status / channel; each fetched row is re-checked against the
    /// filter (a list row may trail a status change by one batch).
    pub(crate) async fn list_deliveries(
        &self,
        status: Option<DeliveryStatus>,
        channel: Option<&str>,
        after: Option<&str>,
        want: usize,
    ) -> Result<Page<Delivery>> {
        let mut after = after.map(|c| int_key_cursor(DELIVERIES, c)).transpose()?;
        let (first, next, partitions) = delivery_index(status, channel);
        let fetch = fetch_size(want);
        for _ in 0..MAX_EMPTY_PAGES {
            let reads = partitions.iter().map(|key| {
                let mut values = key.clone();
                let stmt = match &after {
                    Some((p, id)) => {
                        values.extend([big(*p), text(id)]);
                        next
                    }
                    None => first,
                };
                values.push(limit(fetch));
                self.rows::<(i64, String)>(stmt, values)
            });
            let parts = futures::future::try_join_all(reads).await?;
            let keys = page(
                merge_sorted(parts, |(p, id)| std::cmp::Reverse((*p, id.clone())), fetch),
                want,
                |(p, id)| int_key(DELIVERIES, *p, id),
            );
            let found = futures::future::try_join_all(
                keys.items.iter().map(|(_, id)| self.get_delivery(id)),
            )
            .await?;
            let items: Vec<Delivery> = found
                .into_iter()
                .flatten()
                .filter(|d| {
                    status.is_none_or(|s| d.status == s)
                        && channel.is_none_or(|c| d.channel_id == c)
                })
                .collect();
            if !items.is_empty() || keys.next_cursor.is_none() {
                return Ok(Page {
                    items,
                    next_cursor: keys.next_cursor,
                });
            }
            after = keys
                .next_cursor
                .as_deref()
                .map(|c| int_key_cursor(DELIVERIES, c))
                .transpose()?;
        }
        Ok(Page {
            items: Vec::new(),
            next_cursor: after.map(|(p, id)| int_key(DELIVERIES, p, &id)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_heads_are_soonest_first_then_by_position() {
        let h = |p: i64, id: &str, next: Option<i64>| {
            (
                "ch".to_owned(),
                id.to_owned(),
                Some(p),
                Some(id.to_owned()),
                next,
                next,
            )
        };
        let heads = vec![
            h(30, "d", Some(100)),
            h(15, "c", Some(100)),
            h(10, "a", Some(500)),
            h(5, "e", None),
        ];
        let ids = |due: Vec<DueHead>| -> Vec<(i64, i64, String)> {
            due.into_iter().map(|(n, p, id, _, _)| (n, p, id)).collect()
        };
        assert_eq!(
            ids(due_heads(&heads, 200, 10)),
            vec![(100, 15, "c".to_owned()), (100, 30, "d".to_owned())]
        );
        assert_eq!(due_heads(&heads, 500, 10).len(), 3, "due exactly at now");
        assert_eq!(
            due_heads(&heads, 500, 1),
            vec![(100, 15, "c".to_owned(), "ch".to_owned(), "c".to_owned())],
            "with the queue it heads"
        );
    }

    #[test]
    fn each_filter_reads_its_own_table() {
        let (first, next, parts) = delivery_index(None, None);
        assert_eq!(
            (first, next, parts.len()),
            (Stmt::ListDlvPosition, Stmt::ListDlvPositionAfter, 8)
        );
        let (first, _, parts) = delivery_index(Some(DeliveryStatus::Failed), Some("ch"));
        assert_eq!(
            (first, parts),
            (
                Stmt::ListDlvChannelStatus,
                vec![vec![text("ch"), text("failed")]]
            )
        );
    }
}
