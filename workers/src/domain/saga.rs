//! Orders whose lines span stock partitions, run by their home partition
//! as a persisted saga: each step (hold the lines, confirm, release, ship,
//! give back a failed placement's holds) is stored with the home's batch,
//! carried to every participant partition as an ordinary stock command, and
//! answered by a [`StockCommand::SagaAnswer`] on the home's log. No writer
//! waits for another: a crash at any point resumes from the stored step
//! (unanswered participants are asked again; every stock command is
//! idempotent).

use std::collections::{BTreeMap, BTreeSet};

use agusto_schemas::{
    NewOrder, Order, OrderReply, PartOutcome, ProductQty, ReleaseReason, Saga, SagaKind,
    StockCommand, StockReply, Timestamp, partition_for,
};

use super::order::{Transition, placed};
use super::partition::PartitionState;
use super::stock::StockEffects;

/// How long a participant has to answer a step before it is asked again.
pub const RESEND_AFTER: chrono::TimeDelta = chrono::TimeDelta::seconds(10);

/// The step number of a release that gives back a hold made for an order
/// no longer open (not a step of any saga: its answer is ignored).
const GIVE_BACK: u64 = u64::MAX;

/// A saga step's stock command for one participant, carried once the
/// home's batch is durable.
#[derive(Debug, Clone, PartialEq)]
pub struct SagaSend {
    /// The participant partition.
    pub to: u32,
    /// The home partition, where the answer goes.
    pub home: u32,
    /// The order.
    pub order_id: String,
    /// The step answered.
    pub step: u64,
    /// What the participant applies.
    pub command: StockCommand,
}

impl SagaSend {
    /// The answer to append to the home's log, from the participant's reply.
    pub fn answer(&self, reply: Result<StockReply, String>) -> StockCommand {
        let outcome = match reply {
            Ok(StockReply::Reserved | StockReply::Done) => PartOutcome::Applied,
            Ok(StockReply::Short(s)) => PartOutcome::Short(s),
            Ok(StockReply::Rejected(why) | StockReply::Unavailable(why)) | Err(why) => {
                PartOutcome::Failed(why)
            }
            Ok(other) => PartOutcome::Failed(format!("unexpected reply {other:?}")),
        };
        StockCommand::SagaAnswer {
            order_id: self.order_id.clone(),
            step: self.step,
            partition: self.to,
            outcome,
        }
    }
}

impl PartitionState {
    /// The lines of `lines` in other partitions than this one, by partition.
    pub(crate) fn others(&self, lines: &[ProductQty]) -> BTreeMap<u32, Vec<ProductQty>> {
        let mut parts: BTreeMap<u32, Vec<ProductQty>> = BTreeMap::new();
        for l in lines {
            let p = partition_for(&l.product_code, self.partitions);
            if p != self.partition {
                parts.entry(p).or_default().push(l.clone());
            }
        }
        parts
    }

    /// Starts placing an order whose lines span partitions: holds this
    /// partition's lines, then asks the others. The reply waits for them.
    pub(crate) fn place_spanning(
        &mut self,
        new: &NewOrder,
        wanted: Vec<ProductQty>,
        parts: BTreeMap<u32, Vec<ProductQty>>,
        at: Timestamp,
        fx: &mut StockEffects,
    ) -> StockReply {
        let own: Vec<ProductQty> = wanted
            .into_iter()
            .filter(|l| partition_for(&l.product_code, self.partitions) == self.partition)
            .collect();
        if !own.is_empty() {
            let reserve = StockCommand::Reserve {
                order_id: new.order_id.clone(),
                lines: own,
                expires_at: new.expires_at,
            };
            match self.stock.apply(&reserve, at, fx) {
                StockReply::Reserved => {}
                StockReply::Short(s) => return order_reply(OrderReply::Short(s)),
                StockReply::Rejected(why) | StockReply::Unavailable(why) => {
                    return order_reply(OrderReply::Unavailable(why));
                }
                other => {
                    let why = format!("unexpected stock reply {other:?}");
                    return order_reply(OrderReply::Unavailable(why));
                }
            }
        }
        let order = placed(new, at);
        let command = StockCommand::Reserve {
            order_id: order.id.clone(),
            lines: Vec::new(),
            expires_at: new.expires_at,
        };
        self.start_step(order, 1, SagaKind::Placing, command, parts, at, fx);
        fx.parked.push(new.order_id.clone());
        StockReply::Done
    }

    /// Applies a transition of an open order spanning partitions: this
    /// partition's part now, the others' as a saga step. The reply (when
    /// `parked`) waits for the step.
    pub(crate) fn move_spanning(
        &mut self,
        t: Transition,
        command: StockCommand,
        parts: BTreeMap<u32, Vec<ProductQty>>,
        parked: bool,
        at: Timestamp,
        fx: &mut StockEffects,
    ) -> StockReply {
        self.stock.apply(&command, at, fx);
        fx.orders.push(t.order.clone());
        fx.events.extend(t.events);
        self.close_or_keep(t.order.clone());
        let step = t.order.history.len() as u64;
        let id = t.order.id.clone();
        self.start_step(t.order, step, SagaKind::Applying, command, parts, at, fx);
        if parked {
            fx.parked.push(id);
        }
        StockReply::Done
    }

    /// A participant's answer to a step of one of this partition's sagas.
    pub(crate) fn saga_answer(
        &mut self,
        order_id: &str,
        step: u64,
        partition: u32,
        outcome: &PartOutcome,
        at: Timestamp,
        fx: &mut StockEffects,
    ) -> StockReply {
        let Some(saga) = self
            .sagas
            .get_mut(order_id)
            .filter(|s| s.step == step && s.waiting.contains(&partition))
        else {
            // An answer to a step that ended (a repeated ask). A hold made
            // for an order that is not open here any more is given back
            // (once: the answer to that release is ignored).
            let placing = self
                .sagas
                .get(order_id)
                .is_some_and(|s| s.kind == SagaKind::Placing);
            let open = self.orders.contains_key(order_id) || placing;
            if !open && *outcome == PartOutcome::Applied && step != GIVE_BACK {
                let release = StockCommand::Release {
                    order_id: order_id.to_owned(),
                    reason: ReleaseReason::Compensation,
                };
                fx.sends.push(SagaSend {
                    to: partition,
                    home: self.partition,
                    order_id: order_id.to_owned(),
                    step: GIVE_BACK,
                    command: release,
                });
            }
            return StockReply::Done;
        };
        saga.waiting.remove(&partition);
        match (saga.kind, outcome) {
            (SagaKind::Placing, PartOutcome::Applied) => {
                saga.held.insert(partition);
            }
            (SagaKind::Placing, PartOutcome::Short(s)) => saga.short.extend(s.iter().cloned()),
            (SagaKind::Placing, PartOutcome::Failed(why)) => saga.failure = Some(why.clone()),
            // A step that must happen is asked again until it is answered.
            (_, PartOutcome::Failed(_)) => {
                saga.waiting.insert(partition);
            }
            _ => {}
        }
        if !saga.waiting.is_empty() {
            fx.sagas.insert(order_id.to_owned(), Some(saga.clone()));
            return StockReply::Done;
        }
        let Some(saga) = self.sagas.remove(order_id) else {
            return StockReply::Done;
        };
        self.resend_at.remove(order_id);
        fx.sagas.insert(order_id.to_owned(), None);
        self.finish(saga, at, fx);
        StockReply::Done
    }

    /// Ends a step every participant answered.
    fn finish(&mut self, saga: Saga, at: Timestamp, fx: &mut StockEffects) {
        let id = saga.order.id.clone();
        match saga.kind {
            SagaKind::Placing if saga.short.is_empty() && saga.failure.is_none() => {
                let mut order = saga.order;
                order.updated_at = at;
                fx.orders.push(order.clone());
                self.open(order.clone());
                fx.answers
                    .push((id, order_reply(OrderReply::Placed(Box::new(order)))));
            }
            SagaKind::Placing => {
                let release = StockCommand::Release {
                    order_id: id.clone(),
                    reason: ReleaseReason::Compensation,
                };
                self.stock.apply(&release, at, fx);
                // Every participant gives back, not only those that said
                // they hold: an ask that timed out, or one asked again before
                // an earlier answer came, may still hold — each is on the
                // participant's log before this release. The 422 / 503
                // waits for them: nothing of a refused order is held once it
                // is answered.
                let parts = saga.parts.clone();
                let (kind, step) = (SagaKind::Compensating, saga.step + 1);
                self.start_step(saga.order.clone(), step, kind, release, parts, at, fx);
                if let Some(next) = self.sagas.get_mut(&id) {
                    next.short = saga.short;
                    next.failure = saga.failure;
                    fx.sagas.insert(id, Some(next.clone()));
                }
            }
            SagaKind::Applying => {
                let reply = order_reply(OrderReply::Updated(Box::new(saga.order)));
                fx.answers.push((id, reply));
            }
            SagaKind::Compensating => fx.answers.push((id, failed(&saga))),
        }
    }

    /// Records a new step and asks every participant.
    #[allow(clippy::too_many_arguments)]
    fn start_step(
        &mut self,
        order: Order,
        step: u64,
        kind: SagaKind,
        command: StockCommand,
        parts: BTreeMap<u32, Vec<ProductQty>>,
        at: Timestamp,
        fx: &mut StockEffects,
    ) {
        let saga = Saga {
            home: self.partition,
            step,
            kind,
            command,
            waiting: parts.keys().copied().collect(),
            parts,
            held: BTreeSet::new(),
            short: Vec::new(),
            failure: None,
            order,
        };
        let id = saga.order.id.clone();
        self.ask(&saga, at, fx);
        fx.sagas.insert(id.clone(), Some(saga.clone()));
        self.sagas.insert(id, saga);
    }

    /// Asks every participant that has not answered the step.
    fn ask(&mut self, saga: &Saga, at: Timestamp, fx: &mut StockEffects) {
        for p in &saga.waiting {
            fx.sends.push(SagaSend {
                to: *p,
                home: self.partition,
                order_id: saga.order.id.clone(),
                step: saga.step,
                command: saga.command_for(*p),
            });
        }
        self.resend_at
            .insert(saga.order.id.clone(), at + RESEND_AFTER);
    }

    /// Asks again the participants of steps unanswered for [`RESEND_AFTER`]
    /// (every step, after the partition was loaded).
    pub(crate) fn ask_again(&mut self, now: Timestamp, fx: &mut StockEffects) {
        let mut due: Vec<Saga> = self
            .sagas
            .values()
            .filter(|s| self.resend_at.get(&s.order.id).is_none_or(|t| *t <= now))
            .cloned()
            .collect();
        due.sort_by(|a, b| a.order.id.cmp(&b.order.id));
        for saga in due {
            self.ask(&saga, now, fx);
        }
    }
}

/// The answer to a placement that failed: its shortages, else why a
/// participant could not answer.
fn failed(saga: &Saga) -> StockReply {
    order_reply(match &saga.failure {
        _ if !saga.short.is_empty() => OrderReply::Short(saga.short.clone()),
        Some(why) => OrderReply::Unavailable(why.clone()),
        None => OrderReply::Unavailable("placement failed".into()),
    })
}

/// An order reply as a stock partition answers it.
fn order_reply(r: OrderReply) -> StockReply {
    StockReply::Order(Box::new(r))
}
