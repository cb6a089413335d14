//! Order lists: `list_orders`, `open_order_quantities`.
//!
//! Each reads key-only query tables (every shard of a sharded one, merged),
//! then fetches the orders by id and re-checks them against the filter, so a
//! key row that trails its order (a batch is atomic, not isolated) never
//! shows a wrong order.

use std::collections::BTreeMap;

use agusto_schemas::{Order, OrderStatus};

use super::Inner;
use super::codec::{
    Values, big, fetch_size, int_key, int_key_cursor, limit, merge_sorted, micros, page, shards,
    text,
};
use super::statements::Stmt;
use crate::{Page, Result};

/// Cursor tag of `list_orders`: `<created_at micros>|<order id>`.
const ORDERS: &str = "o";
/// Pages of stale keys skipped before an empty page is returned.
const MAX_EMPTY_PAGES: usize = 16;
/// Orders fetched at once by `open_order_quantities`.
const FETCH_CHUNK: usize = 256;

/// The query table `list_orders` reads for a filter: its two statements
/// (first page, later pages) and the partition keys to ask.
fn order_index(channel: Option<&str>, status: Option<OrderStatus>) -> (Stmt, Stmt, Vec<Values>) {
    match (channel, status) {
        (None, None) => (
            Stmt::ListOrderCreated,
            Stmt::ListOrderCreatedAfter,
            shards().map(|s| vec![big(s)]).collect(),
        ),
        (Some(ch), None) => (
            Stmt::ListOrderChannel,
            Stmt::ListOrderChannelAfter,
            vec![vec![text(ch)]],
        ),
        (None, Some(st)) => (
            Stmt::ListOrderStatus,
            Stmt::ListOrderStatusAfter,
            shards().map(|s| vec![text(st.as_str()), big(s)]).collect(),
        ),
        (Some(ch), Some(st)) => (
            Stmt::ListOrderChannelStatus,
            Stmt::ListOrderChannelStatusAfter,
            vec![vec![text(ch), text(st.as_str())]],
        ),
    }
}

impl Inner {
    /// A page of orders by (created_at, id), optionally of one channel / status.
    pub(crate) async fn list_orders(
        &self,
        channel: Option<&str>,
        status: Option<OrderStatus>,
        after: Option<&str>,
        want: usize,
    ) -> Result<Page<Order>> {
        let mut after = after.map(|c| int_key_cursor(ORDERS, c)).transpose()?;
        let (first, next, partitions) = order_index(channel, status);
        let fetch = fetch_size(want);
        for _ in 0..MAX_EMPTY_PAGES {
            let reads = partitions.iter().map(|key| {
                let mut values = key.clone();
                let stmt = match &after {
                    Some((t, id)) => {
                        values.extend([big(*t), text(id)]);
                        next
                    }
                    None => first,
                };
                values.push(limit(fetch));
                self.rows::<(i64, String)>(stmt, values)
            });
            let parts = futures::future::try_join_all(reads).await?;
            let keys = page(
                merge_sorted(parts, |(t, id)| (*t, id.clone()), fetch),
                want,
                |(t, id)| int_key(ORDERS, *t, id),
            );
            let ids: Vec<&str> = keys.items.iter().map(|(_, id)| id.as_str()).collect();
            let orders: Vec<Order> = self
                .get_orders(&ids)
                .await?
                .into_iter()
                .filter(|o| {
                    keyed(o, &keys.items)
                        && channel.is_none_or(|c| o.channel_id == c)
                        && status.is_none_or(|s| o.status == s)
                })
                .collect();
            if !orders.is_empty() || keys.next_cursor.is_none() {
                return Ok(Page {
                    items: orders,
                    next_cursor: keys.next_cursor,
                });
            }
            after = keys
                .next_cursor
                .as_deref()
                .map(|c| int_key_cursor(ORDERS, c))
                .transpose()?;
        }
        Ok(Page {
            items: Vec::new(),
            next_cursor: after.map(|(t, id)| int_key(ORDERS, t, &id)),
        })
    }

    /// Units per product held by orders whose status holds stock, by product
    /// code: every order of those statuses (verification, not the hot path).
    pub(crate) async fn open_quantities(&self) -> Result<Vec<(String, i64)>> {
        let mut ids: Vec<String> = Vec::new();
        for status in OrderStatus::ALL.into_iter().filter(|s| s.holds_stock()) {
            let reads = shards().map(|shard| {
                self.scan::<(String,)>(
                    Stmt::AllOrderStatus,
                    vec![text(status.as_str()), big(shard)],
                )
            });
            for part in futures::future::try_join_all(reads).await? {
                ids.extend(part.into_iter().map(|(id,)| id));
            }
        }
        ids.sort_unstable();
        ids.dedup();
        let mut totals: BTreeMap<String, i64> = BTreeMap::new();
        for chunk in ids.chunks(FETCH_CHUNK) {
            let chunk: Vec<&str> = chunk.iter().map(String::as_str).collect();
            for o in self.get_orders(&chunk).await? {
                if o.status.holds_stock() {
                    for line in agusto_schemas::stock_lines(&o.lines) {
                        *totals.entry(line.product_code).or_default() += line.quantity;
                    }
                }
            }
        }
        Ok(totals.into_iter().collect())
    }
}

/// True when `o` is listed under one of `keys` with its current
/// `created_at` (a key row left over by a change of `created_at` would list
/// an order twice).
fn keyed(o: &Order, keys: &[(i64, String)]) -> bool {
    keys.iter()
        .any(|(t, id)| *id == o.id && *t == micros(&o.created_at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_filter_reads_its_own_table() {
        let (first, next, parts) = order_index(None, None);
        assert_eq!(
            (first, next, parts.len()),
            (Stmt::ListOrderCreated, Stmt::ListOrderCreatedAfter, 8)
        );
        let (first, _, parts) = order_index(Some("ch"), None);
        assert_eq!(
            (first, parts),
            (Stmt::ListOrderChannel, vec![vec![text("ch")]])
        );
        let (first, _, parts) = order_index(None, Some(OrderStatus::Packed));
        assert_eq!(first, Stmt::ListOrderStatus);
        assert_eq!(parts[3], vec![text("packed"), big(3)]);
        let (first, _, parts) = order_index(Some("ch"), Some(OrderStatus::Reserved));
        assert_eq!(
            (first, parts),
            (
                Stmt::ListOrderChannelStatus,
                vec![vec![text("ch"), text("reserved")]]
            )
        );
    }
}
