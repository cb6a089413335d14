//! Orders: the row codec, lookups and `apply_order_batch`.
//!
//! An order is one `orders` row (lines, history and the storefront's objects
//! as JSON text) plus key-only rows in its query tables. Why each write is
//! safe without a lightweight transaction: an order is written only by the
//! writer of its order partition. The batch rewrites the order row; for each
//! query table it inserts the order's current key and deletes the previous
//! one when it differs (a status change moves the status rows). The previous keys come from reading the
//! previous rows first — nobody else can change them meanwhile — and a key
//! the batch inserts is never also deleted (a tombstone would win the tie of
//! a shared batch timestamp). All of it, the outbox rows and the applied
//! offset, is ONE logged batch.

use std::collections::HashMap;

use agusto_schemas::{Order, OrderStatus};
use scylla::DeserializeRow;

use super::Inner;
use super::codec::{
    Values, at, big, from_json, micros, opt_at, opt_text, opt_time, required, shard_of, text, time,
    to_json,
};
use super::outbox::{offset_row, stream_of};
use super::statements::Stmt;
use crate::{Error, OrderBatch, Result};

/// An `orders` row.
#[derive(Debug, DeserializeRow)]
pub(crate) struct OrderRow {
    id: String,
    external_id: Option<String>,
    channel_id: Option<String>,
    status: Option<String>,
    expires_at: Option<i64>,
    tracking_number: Option<String>,
    carrier: Option<String>,
    created_at: Option<i64>,
    updated_at: Option<i64>,
    idempotency_key: Option<String>,
    lines: Option<String>,
    history: Option<String>,
    customer: Option<String>,
    shipping_address: Option<String>,
}

impl OrderRow {
    /// Decodes the row.
    pub(crate) fn into_order(self) -> Result<Order> {
        let status = required(self.status, "order status")?;
        let status = OrderStatus::parse(&status)
            .ok_or_else(|| Error::Corrupt(format!("unknown order status {status:?}")))?;
        Ok(Order {
            id: self.id,
            external_id: required(self.external_id, "order external_id")?,
            channel_id: required(self.channel_id, "order channel_id")?,
            status,
            lines: from_json(&required(self.lines, "order lines")?, "order lines")?,
            expires_at: opt_time(self.expires_at)?,
            tracking_number: self.tracking_number,
            carrier: self.carrier,
            created_at: time(required(self.created_at, "order created_at")?)?,
            updated_at: time(required(self.updated_at, "order updated_at")?)?,
            history: from_json(&required(self.history, "order history")?, "order history")?,
            idempotency_key: self.idempotency_key,
            customer: self
                .customer
                .map(|c| from_json(&c, "order customer"))
                .transpose()?,
            shipping_address: self
                .shipping_address
                .map(|a| from_json(&a, "order shipping address"))
                .transpose()?,
        })
    }
}

/// The values of `PutOrder`.
pub(crate) fn order_values(o: &Order) -> Result<Values> {
    Ok(vec![
        text(&o.id),
        text(&o.external_id),
        text(&o.channel_id),
        text(o.status.as_str()),
        opt_at(o.expires_at.as_ref()),
        opt_text(o.tracking_number.as_deref()),
        opt_text(o.carrier.as_deref()),
        at(&o.created_at),
        at(&o.updated_at),
        opt_text(o.idempotency_key.as_deref()),
        text(&to_json(&o.lines)?),
        text(&to_json(&o.history)?),
        opt_text(o.customer.as_ref().map(to_json).transpose()?.as_deref()),
        opt_text(
            o.shipping_address
                .as_ref()
                .map(to_json)
                .transpose()?
                .as_deref(),
        ),
    ])
}

/// The query-table keys an order has: (put statement, delete statement,
/// key values). Both statements bind the same key.
pub(crate) fn index_keys(o: &Order) -> Vec<(Stmt, Stmt, Values)> {
    let (id, created) = (o.id.as_str(), micros(&o.created_at));
    let (channel, status, shard) = (o.channel_id.as_str(), o.status.as_str(), shard_of(id));
    let mut keys = vec![
        (
            Stmt::PutOrderCreated,
            Stmt::DelOrderCreated,
            vec![big(shard), big(created), text(id)],
        ),
        (
            Stmt::PutOrderChannel,
            Stmt::DelOrderChannel,
            vec![text(channel), big(created), text(id)],
        ),
        (
            Stmt::PutOrderStatus,
            Stmt::DelOrderStatus,
            vec![text(status), big(shard), big(created), text(id)],
        ),
        (
            Stmt::PutOrderChannelStatus,
            Stmt::DelOrderChannelStatus,
            vec![text(channel), text(status), big(created), text(id)],
        ),
    ];
    if let Some(key) = &o.idempotency_key {
        keys.push((
            Stmt::PutIdempotency,
            Stmt::DelIdempotency,
            vec![text(channel), text(key), big(created), text(id)],
        ));
    }
    keys
}

/// The statements of an order batch (outbox and offset aside): the last
/// version of each order, its keys, and deletes of previous keys it lost.
pub(crate) fn plan_orders(
    batch: &OrderBatch,
    prev: &HashMap<String, Order>,
) -> Result<Vec<(Stmt, Values)>> {
    let mut last: HashMap<&str, &Order> = HashMap::new();
    let mut order: Vec<&str> = Vec::new();
    for o in &batch.orders {
        if last.insert(&o.id, o).is_none() {
            order.push(&o.id);
        }
    }
    let mut ops = Vec::new();
    for id in order {
        let Some(o) = last.get(id) else { continue };
        ops.push((Stmt::PutOrder, order_values(o)?));
        let new = index_keys(o);
        if let Some(old) = prev.get(id) {
            for (_, del, key) in index_keys(old) {
                if !new.iter().any(|(_, d, k)| *d == del && *k == key) {
                    ops.push((del, key));
                }
            }
        }
        ops.extend(new.into_iter().map(|(put, _, key)| (put, key)));
    }
    Ok(ops)
}

impl Inner {
    /// One order.
    pub(crate) async fn get_order(&self, id: &str) -> Result<Option<Order>> {
        self.row::<OrderRow>(Stmt::GetOrder, vec![text(id)])
            .await?
            .map(OrderRow::into_order)
            .transpose()
    }

    /// Orders by id, in input order; missing ones left out.
    pub(crate) async fn get_orders(&self, ids: &[&str]) -> Result<Vec<Order>> {
        let found = futures::future::try_join_all(ids.iter().map(|id| self.get_order(id))).await?;
        Ok(found.into_iter().flatten().collect())
    }

    /// The earliest order a channel created with `key`.
    pub(crate) async fn by_idempotency_key(
        &self,
        channel: &str,
        key: &str,
    ) -> Result<Option<Order>> {
        let id = self
            .row::<(String,)>(Stmt::FirstIdempotency, vec![text(channel), text(key)])
            .await?;
        let Some((id,)) = id else { return Ok(None) };
        Ok(self
            .get_order(&id)
            .await?
            .filter(|o| o.channel_id == channel && o.idempotency_key.as_deref() == Some(key)))
    }

    /// Writes one order batch (see the module docs).
    pub(crate) async fn apply_order_batch(&self, batch: &OrderBatch) -> Result<()> {
        let stream = stream_of(batch.applied.as_ref(), &self.local_stream);
        let _local = if batch.applied.is_none() && !batch.events.is_empty() {
            Some(self.local_lock.lock().await)
        } else {
            None
        };
        let mut ids: Vec<&str> = batch.orders.iter().map(|o| o.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let (prev, outbox) = futures::try_join!(
            self.get_orders(&ids),
            self.outbox_prev(&stream, &batch.events)
        )?;
        let prev: HashMap<String, Order> = prev.into_iter().map(|o| (o.id.clone(), o)).collect();
        let mut ops = plan_orders(batch, &prev)?;
        ops.extend(self.outbox_ops(&stream, &batch.events, &outbox)?);
        if let Some(applied) = &batch.applied {
            ops.push(offset_row(applied)?);
        }
        self.batch(ops).await
    }
}

#[cfg(test)]
mod tests {
    use agusto_schemas::{OrderLine, StatusChange};

    use super::*;

    fn order(status: OrderStatus, expires: Option<i64>) -> Order {
        let t = |m| time(m).expect("time");
        Order {
            id: "o1".into(),
            external_id: "ext".into(),
            channel_id: "ch".into(),
            status,
            lines: vec![OrderLine {
                components: Vec::new(),
                sku: "s".into(),
                product_code: "p".into(),
                quantity: 2,
            }],
            expires_at: expires.map(t),
            tracking_number: None,
            carrier: None,
            created_at: t(100),
            updated_at: t(100),
            history: vec![StatusChange { status, at: t(100) }],
            idempotency_key: Some("k".into()),
            customer: Some(serde_json::json!({ "email": "a@b" })),
            shipping_address: None,
        }
    }

    #[test]
    fn a_status_change_moves_the_status_rows() {
        let old = order(OrderStatus::Reserved, Some(500));
        let new = order(OrderStatus::PendingApproval, Some(500));
        let batch = OrderBatch {
            orders: vec![new.clone()],
            ..OrderBatch::default()
        };
        let prev = HashMap::from([("o1".to_owned(), old)]);
        let ops = plan_orders(&batch, &prev).expect("plan");
        let stmts: Vec<Stmt> = ops.iter().map(|(s, _)| *s).collect();
        assert_eq!(
            stmts,
            [
                Stmt::PutOrder,
                Stmt::DelOrderStatus,
                Stmt::DelOrderChannelStatus,
                Stmt::PutOrderCreated,
                Stmt::PutOrderChannel,
                Stmt::PutOrderStatus,
                Stmt::PutOrderChannelStatus,
                Stmt::PutIdempotency,
            ]
        );
        assert_eq!(ops[1].1[0], text("reserved"));
        assert_eq!(ops[5].1[0], text("pending_approval"));
    }

    #[test]
    fn a_new_order_gets_every_key_and_the_last_version_wins() {
        let mut later = order(OrderStatus::Reserved, Some(700));
        later.updated_at = time(200).expect("time");
        let batch = OrderBatch {
            orders: vec![order(OrderStatus::Reserved, Some(500)), later],
            ..OrderBatch::default()
        };
        let ops = plan_orders(&batch, &HashMap::new()).expect("plan");
        assert_eq!(ops.len(), 6);
        assert_eq!(ops[0].1[8], big(200), "updated_at of the last version");
        assert_eq!(
            ops[5],
            (
                Stmt::PutIdempotency,
                vec![text("ch"), text("k"), big(100), text("o1")]
            )
        );
    }

    #[test]
    fn order_rows_round_trip() {
        let o = order(OrderStatus::Reserved, Some(500));
        let v = order_values(&o).expect("values");
        let s = |i: usize| match &v[i] {
            Some(scylla::value::CqlValue::Text(t)) => Some(t.clone()),
            _ => None,
        };
        let n = |i: usize| match &v[i] {
            Some(scylla::value::CqlValue::BigInt(n)) => Some(*n),
            _ => None,
        };
        let row = OrderRow {
            id: s(0).expect("id"),
            external_id: s(1),
            channel_id: s(2),
            status: s(3),
            expires_at: n(4),
            tracking_number: s(5),
            carrier: s(6),
            created_at: n(7),
            updated_at: n(8),
            idempotency_key: s(9),
            lines: s(10),
            history: s(11),
            customer: s(12),
            shipping_address: s(13),
        };
        assert_eq!(row.into_order().expect("decode"), o);
    }
}
