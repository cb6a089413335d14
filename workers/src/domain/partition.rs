//! What one stock partition's writer owns, as a pure state machine: the
//! partition's stock ([`StockState`]) and the open orders it decides in one
//! hop — orders whose every line is in the partition. `(state, command) →
//! (state', reply, effects)`, no IO: the writer loads it once
//! (`Store::load_partition`) and persists the effects of each batch.

use std::collections::HashMap;

use agusto_schemas::{
    NewOrder, Order, OrderAction, OrderCommand, OrderReply, OrderStatus, ProductQty, Saga,
    SagaKind, StockCommand, StockLevel, StockReply, Timestamp, order_home, partition_for,
    stock_lines,
};

use super::order::{Placement, place, placed, transition};
use super::stock::{StockEffects, StockState};

/// How many closed orders a partition remembers (to answer a late command
/// about one in words); older ones are forgotten, the store keeps them.
const CLOSED_KEPT: usize = 10_000;

/// The state of one stock partition.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PartitionState {
    /// Quantities, holds and recorded changes of the partition's products.
    pub stock: StockState,
    /// Open one-hop orders (holding stock), by id.
    pub orders: HashMap<String, Order>,
    /// Open one-hop orders by (channel, `Idempotency-Key`).
    pub by_key: HashMap<(String, String), String>,
    /// Recently closed one-hop orders (a cache, not part of the state
    /// `load_partition` rebuilds).
    pub closed: HashMap<String, Order>,
    /// This partition's number, and how many stock partitions there are.
    pub partition: u32,
    /// Stock partitions in all (at least 1).
    pub partitions: u32,
    /// Steps under way of the sagas this partition is the home of, by order id.
    pub sagas: HashMap<String, Saga>,
    /// When each saga's unanswered participants are asked again (not stored:
    /// after a load every step is asked again at the first timer).
    pub resend_at: HashMap<String, Timestamp>,
}

impl PartitionState {
    /// An empty partition `partition` of `partitions`.
    pub fn new(partition: u32, partitions: u32) -> Self {
        PartitionState {
            partition,
            partitions: partitions.max(1),
            ..PartitionState::default()
        }
    }

    /// The state of partition `partition` of `partitions` from what the store loaded.
    pub fn loaded(partition: u32, partitions: u32, loaded: agusto_store::PartitionState) -> Self {
        let agusto_store::PartitionState {
            levels,
            holds,
            orders,
            sagas,
            ..
        } = loaded;
        let mut s = PartitionState::new(partition, partitions);
        for g in sagas {
            s.sagas.insert(g.order.id.clone(), g);
        }
        for l in levels {
            s.stock.levels.insert(l.product_code.clone(), l);
        }
        for h in holds {
            s.stock.holds.entry(h.order_id.clone()).or_default().push(h);
        }
        for o in orders {
            s.open(o);
        }
        s
    }

    /// The open orders and the stock, without the caches: what
    /// `load_partition` must give back after the effects were written.
    pub fn durable(&self) -> Durable {
        let mut levels: Vec<StockLevel> = self
            .stock
            .levels
            .values()
            .filter(|l| l.version > 0)
            .cloned()
            .collect();
        levels.sort_by(|a, b| a.product_code.cmp(&b.product_code));
        let mut holds: Vec<_> = self.stock.holds.values().flatten().cloned().collect();
        holds.sort_by(|a, b| (&a.order_id, &a.product_code).cmp(&(&b.order_id, &b.product_code)));
        let mut orders: Vec<Order> = self.orders.values().cloned().collect();
        orders.sort_by(|a, b| a.id.cmp(&b.id));
        let mut sagas: Vec<Saga> = self.sagas.values().cloned().collect();
        sagas.sort_by(|a, b| a.order.id.cmp(&b.order.id));
        (levels, holds, orders, sagas)
    }

    /// Applies one command at `at`; on a rejection nothing changes.
    pub fn apply(
        &mut self,
        cmd: &StockCommand,
        at: Timestamp,
        fx: &mut StockEffects,
    ) -> StockReply {
        self.know(cmd, at);
        match cmd {
            StockCommand::Order(c) => self.order(c, at, fx),
            StockCommand::SweepLapsed { before } => {
                // Holds of the orders decided here end with their order
                // (expiry); the sweep is for holds nobody else will end.
                let (orders, sagas) = (&self.orders, &self.sagas);
                let spared = |id: &str| orders.contains_key(id) || sagas.contains_key(id);
                self.stock.sweep_lapsed(*before, spared, at, fx);
                StockReply::Done
            }
            StockCommand::SagaAnswer {
                order_id,
                step,
                partition,
                outcome,
            } => self.saga_answer(order_id, *step, *partition, outcome, at, fx),
            other => self.stock.apply(other, at, fx),
        }
    }

    /// Products named by a command that the partition has no row of yet
    /// start empty: the ingress admits only products of the catalogue.
    fn know(&mut self, cmd: &StockCommand, at: Timestamp) {
        let codes: Vec<&String> = match cmd {
            StockCommand::Receipt { lines, .. } | StockCommand::Reserve { lines, .. } => {
                lines.iter().map(|l| &l.product_code).collect()
            }
            StockCommand::Adjust { product_code, .. } => vec![product_code],
            StockCommand::ReturnReceipt { lines, .. } => {
                lines.iter().map(|l| &l.product_code).collect()
            }
            StockCommand::Order(c) => match c.as_ref() {
                OrderCommand::Place(n) => {
                    let wanted = stock_lines(&n.lines);
                    return self.know_codes(wanted.iter().map(|l| &l.product_code), at);
                }
                _ => Vec::new(),
            },
            _ => Vec::new(),
        };
        self.know_codes(codes.into_iter(), at);
    }

    /// Products without a row yet start empty.
    fn know_codes<'a>(&mut self, codes: impl Iterator<Item = &'a String>, at: Timestamp) {
        for code in codes {
            if !self.stock.levels.contains_key(code) {
                let empty = StockLevel::empty(code, at);
                self.stock.levels.insert(code.clone(), empty);
            }
        }
    }

    fn order(&mut self, cmd: &OrderCommand, at: Timestamp, fx: &mut StockEffects) -> StockReply {
        match cmd {
            OrderCommand::Place(new) => self.place(new, at, fx),
            OrderCommand::Transition {
                order_id,
                channel_id,
                action,
            } => self.transition(order_id, channel_id.as_deref(), action, true, at, fx),
            OrderCommand::ExpireDue { now } => {
                self.ask_again(*now, fx);
                let mut due: Vec<String> = self
                    .orders
                    .values()
                    .filter(|o| o.status == OrderStatus::Reserved)
                    .filter(|o| o.expires_at.is_some_and(|e| e <= *now))
                    .filter(|o| !self.sagas.contains_key(&o.id))
                    .map(|o| o.id.clone())
                    .collect();
                due.sort();
                let n = due
                    .iter()
                    .filter(|id| {
                        let r = self.transition(id, None, &OrderAction::Expire, false, *now, fx);
                        !matches!(&r, StockReply::Order(r) if !matches!(**r, OrderReply::Updated(_)))
                    })
                    .count();
                reply(OrderReply::Swept(n))
            }
        }
    }

    fn place(&mut self, new: &NewOrder, at: Timestamp, fx: &mut StockEffects) -> StockReply {
        if let Some(saga) = self.sagas.get(&new.order_id) {
            return match (saga.kind, place(new, Some(&saga.order), None)) {
                // The same placement again: its reply waits for the saga too
                // (placed, or refused once what was held is given back).
                (
                    SagaKind::Placing | SagaKind::Compensating,
                    Placement::Answer(OrderReply::Existing(_)),
                ) => {
                    fx.parked.push(new.order_id.clone());
                    StockReply::Done
                }
                (_, Placement::Answer(r)) => reply(r),
                (_, Placement::Reserve(_)) => reply(OrderReply::Unavailable(
                    "order saga in an unknown state".into(),
                )),
            };
        }
        let same_id = self
            .orders
            .get(&new.order_id)
            .or_else(|| self.closed.get(&new.order_id));
        let same_key = new.idempotency_key.as_ref().and_then(|k| {
            let id = self.by_key.get(&(new.channel_id.clone(), k.clone()))?;
            self.orders.get(id)
        });
        let wanted = match place(new, same_id, same_key) {
            Placement::Answer(r) => return reply(r),
            Placement::Reserve(wanted) => wanted,
        };
        let codes = wanted.iter().map(|l| l.product_code.as_str());
        if order_home(&new.order_id, codes, self.partitions) != self.partition {
            return reply(OrderReply::Unavailable(format!(
                "order {} is not homed in partition {}",
                new.order_id, self.partition
            )));
        }
        let parts = self.others(&wanted);
        if !parts.is_empty() {
            return self.place_spanning(new, wanted, parts, at, fx);
        }
        reply(match self.stock.apply(&reserve(new, wanted), at, fx) {
            StockReply::Reserved => {
                let order = placed(new, at);
                fx.orders.push(order.clone());
                self.open(order.clone());
                OrderReply::Placed(Box::new(order))
            }
            StockReply::Short(s) => OrderReply::Short(s),
            StockReply::Rejected(why) | StockReply::Unavailable(why) => {
                OrderReply::Unavailable(why)
            }
            other => OrderReply::Unavailable(format!("unexpected stock reply {other:?}")),
        })
    }

    fn transition(
        &mut self,
        order_id: &str,
        channel_id: Option<&str>,
        action: &OrderAction,
        parked: bool,
        at: Timestamp,
        fx: &mut StockEffects,
    ) -> StockReply {
        let Some(order) = self
            .orders
            .get(order_id)
            .or_else(|| self.closed.get(order_id))
        else {
            return reply(OrderReply::NotFound);
        };
        let t = match transition(order, channel_id, action, at) {
            Ok(t) => t,
            Err(r) => return reply(r),
        };
        let spans = stock_lines(&order.lines)
            .iter()
            .any(|l| partition_for(&l.product_code, self.partitions) != self.partition);
        if let (true, Some(command)) = (spans, t.stock.clone()) {
            if self.sagas.contains_key(order_id) {
                return reply(OrderReply::Unavailable(format!(
                    "order {order_id} is being updated; retry"
                )));
            }
            let lines: Vec<ProductQty> = stock_lines(&order.lines);
            let parts = self.others(&lines);
            return self.move_spanning(t, command, parts, parked, at, fx);
        }
        if let Some(stock) = &t.stock {
            self.stock.apply(stock, at, fx);
        }
        fx.orders.push(t.order.clone());
        fx.events.extend(t.events);
        self.close_or_keep(t.order.clone());
        reply(OrderReply::Updated(Box::new(t.order)))
    }

    /// Keeps an open order; moves a closed one to the closed cache.
    pub(crate) fn close_or_keep(&mut self, order: Order) {
        if order.status.holds_stock() {
            self.open(order);
            return;
        }
        self.orders.remove(&order.id);
        if let Some(k) = &order.idempotency_key {
            self.by_key.remove(&(order.channel_id.clone(), k.clone()));
        }
        if self.closed.len() >= CLOSED_KEPT {
            self.closed.clear();
        }
        self.closed.insert(order.id.clone(), order);
    }

    pub(crate) fn open(&mut self, order: Order) {
        if let Some(k) = &order.idempotency_key {
            self.by_key
                .insert((order.channel_id.clone(), k.clone()), order.id.clone());
        }
        self.orders.insert(order.id.clone(), order);
    }
}

/// What `load_partition` must give back: levels, holds, open orders, sagas.
pub type Durable = (
    Vec<StockLevel>,
    Vec<agusto_schemas::Reservation>,
    Vec<Order>,
    Vec<Saga>,
);

/// An order reply as a stock partition answers it.
fn reply(r: OrderReply) -> StockReply {
    StockReply::Order(Box::new(r))
}

/// The hold a new order needs.
fn reserve(new: &NewOrder, wanted: Vec<agusto_schemas::ProductQty>) -> StockCommand {
    StockCommand::Reserve {
        order_id: new.order_id.clone(),
        lines: wanted,
        expires_at: new.expires_at,
    }
}
