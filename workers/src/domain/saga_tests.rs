//! The saga of an order spanning partitions, step by step, as its home
//! partition decides it (pure: the effects say what is written and sent).

use agusto_schemas::{
    NewOrder, OrderAction, OrderCommand, OrderLine, OrderReply, OrderStatus, PartOutcome,
    ProductQty, ReleaseReason, SagaKind, Shortage, StockCommand, StockReply, partition_for,
};
use chrono::{TimeZone, Utc};

use super::partition::PartitionState;
use super::stock::StockEffects;

const N: u32 = 2;

fn at(s: i64) -> agusto_schemas::Timestamp {
    Utc.timestamp_opt(1_900_000_000 + s, 0).unwrap()
}

fn code(p: u32) -> String {
    (0..100)
        .map(|i| format!("S-{i}"))
        .find(|c| partition_for(c, N) == p)
        .unwrap()
}

fn order_id(n: usize) -> String {
    (0..200)
        .map(|i| format!("o{i}"))
        .filter(|id| partition_for(id, N) == 0)
        .nth(n)
        .unwrap()
}

/// Partition 0 with 5 units of its product received.
fn home() -> PartitionState {
    let mut s = PartitionState::new(0, N);
    let receipt = StockCommand::Receipt {
        receipt_id: "r1".into(),
        reference: "po".into(),
        lines: vec![ProductQty {
            product_code: code(0),
            quantity: 5,
        }],
        claim: None,
    };
    s.apply(&receipt, at(0), &mut StockEffects::default());
    s
}

fn place(s: &mut PartitionState, id: &str, fx: &mut StockEffects) -> StockReply {
    let line = |p: u32, q| OrderLine {
        components: Vec::new(),
        sku: code(p),
        product_code: code(p),
        quantity: q,
    };
    let new = NewOrder {
        order_id: id.into(),
        external_id: id.into(),
        channel_id: "ch".into(),
        lines: vec![line(0, 2), line(1, 3)],
        expires_at: at(600),
        idempotency_key: None,
        customer: None,
        shipping_address: None,
    };
    s.apply(
        &StockCommand::Order(Box::new(OrderCommand::Place(new))),
        at(1),
        fx,
    )
}

fn answer(id: &str, step: u64, outcome: PartOutcome) -> StockCommand {
    StockCommand::SagaAnswer {
        order_id: id.into(),
        step,
        partition: 1,
        outcome,
    }
}

fn reserved(s: &PartitionState) -> i64 {
    s.stock.levels[&code(0)].reserved
}

#[test]
fn a_spanning_placement_holds_here_asks_the_other_partition_and_answers_when_it_holds() {
    let (mut s, id) = (home(), order_id(0));
    let mut fx = StockEffects::default();
    assert_eq!(place(&mut s, &id, &mut fx), StockReply::Done);
    assert_eq!(fx.parked, vec![id.clone()], "the reply waits");
    assert_eq!(reserved(&s), 2, "own lines held at once");
    assert_eq!(fx.sends.len(), 1);
    assert_eq!(fx.sends[0].to, 1);
    assert!(matches!(&fx.sends[0].command,
        StockCommand::Reserve { lines, .. } if lines[0].product_code == code(1) && lines[0].quantity == 3));
    let saga = fx.sagas[&id].clone().expect("saga stored");
    assert_eq!((saga.kind, saga.step), (SagaKind::Placing, 1));
    assert!(fx.orders.is_empty(), "no order before every part holds");

    // The same placement again waits for the same saga.
    let mut again = StockEffects::default();
    assert_eq!(place(&mut s, &id, &mut again), StockReply::Done);
    assert_eq!(again.parked, vec![id.clone()]);
    assert!(again.sends.is_empty() && again.sagas.is_empty());

    // A stale answer changes nothing.
    let mut fx = StockEffects::default();
    s.apply(&answer(&id, 7, PartOutcome::Applied), at(2), &mut fx);
    assert!(fx.answers.is_empty() && fx.sagas.is_empty());

    let mut fx = StockEffects::default();
    s.apply(&answer(&id, 1, PartOutcome::Applied), at(2), &mut fx);
    assert_eq!(fx.sagas[&id], None, "the step ended");
    assert_eq!(fx.orders.len(), 1);
    assert!(matches!(&fx.answers[0].1,
        StockReply::Order(r) if matches!(**r, OrderReply::Placed(ref o) if o.status == OrderStatus::Reserved)));
    assert!(s.orders.contains_key(&id) && s.sagas.is_empty());
}

#[test]
fn a_short_participant_fails_the_placement_answered_once_every_part_gave_back() {
    let (mut s, id) = (home(), order_id(1));
    place(&mut s, &id, &mut StockEffects::default());
    let short = vec![Shortage {
        product_code: code(1),
        requested: 3,
        available: 1,
    }];
    let mut fx = StockEffects::default();
    s.apply(
        &answer(&id, 1, PartOutcome::Short(short.clone())),
        at(2),
        &mut fx,
    );
    assert_eq!(reserved(&s), 0, "own hold released at once");
    assert!(fx.answers.is_empty(), "the 422 waits for the give-back");
    // The participant gives back too: an earlier ask asked again may hold there.
    assert!(matches!(&fx.sends[..],
        [send] if matches!(send.command, StockCommand::Release { reason: ReleaseReason::Compensation, .. })));
    let step = fx.sagas[&id].clone().expect("compensating").step;
    let mut fx = StockEffects::default();
    s.apply(&answer(&id, step, PartOutcome::Applied), at(3), &mut fx);
    assert!(matches!(&fx.answers[0].1,
        StockReply::Order(r) if **r == OrderReply::Short(short.clone())));
    assert_eq!(fx.sagas[&id], None);
    assert!(s.orders.is_empty() && s.sagas.is_empty());
}

#[test]
fn a_silent_participant_fails_the_placement_and_a_late_hold_is_given_back() {
    let (mut s, id) = (home(), order_id(2));
    place(&mut s, &id, &mut StockEffects::default());
    let mut fx = StockEffects::default();
    s.apply(
        &answer(&id, 1, PartOutcome::Failed("timeout".into())),
        at(2),
        &mut fx,
    );
    assert!(fx.answers.is_empty());
    assert_eq!(fx.sends.len(), 1, "the silent partition gives back too");
    // A give-back that fails is asked again until it is answered.
    let mut fx = StockEffects::default();
    s.apply(
        &answer(&id, 2, PartOutcome::Failed("down".into())),
        at(3),
        &mut fx,
    );
    assert!(fx.answers.is_empty() && !s.sagas.is_empty());
    let mut fx = StockEffects::default();
    s.apply(&answer(&id, 2, PartOutcome::Applied), at(4), &mut fx);
    assert!(matches!(&fx.answers[0].1,
        StockReply::Order(r) if matches!(**r, OrderReply::Unavailable(_))));
    // The first ask was applied after all and answered late: give it back.
    let mut fx = StockEffects::default();
    s.apply(&answer(&id, 1, PartOutcome::Applied), at(5), &mut fx);
    assert_eq!(fx.sends.len(), 1);
    assert!(matches!(
        &fx.sends[0].command,
        StockCommand::Release {
            reason: ReleaseReason::Compensation,
            ..
        }
    ));
    // Its answer ends there.
    let mut fx = StockEffects::default();
    s.apply(
        &answer(&id, fx_step(), PartOutcome::Applied),
        at(6),
        &mut fx,
    );
    assert!(fx.sends.is_empty());
}

/// The step number of a give-back release (see `saga::GIVE_BACK`).
fn fx_step() -> u64 {
    u64::MAX
}

#[test]
fn transitions_apply_here_at_once_and_answer_when_the_other_partition_applied() {
    let (mut s, id) = (home(), order_id(3));
    place(&mut s, &id, &mut StockEffects::default());
    s.apply(
        &answer(&id, 1, PartOutcome::Applied),
        at(2),
        &mut StockEffects::default(),
    );
    let cancel = StockCommand::Order(Box::new(OrderCommand::Transition {
        order_id: id.clone(),
        channel_id: None,
        action: OrderAction::Cancel,
    }));
    let mut fx = StockEffects::default();
    assert_eq!(s.apply(&cancel, at(3), &mut fx), StockReply::Done);
    assert_eq!(fx.parked, vec![id.clone()]);
    assert_eq!(reserved(&s), 0);
    assert_eq!(fx.orders[0].status, OrderStatus::Cancelled);
    let step = fx.sagas[&id].clone().unwrap().step;
    assert!(matches!(&fx.sends[0].command, StockCommand::Release { .. }));
    // A second command while the step runs is refused, nothing changes.
    let mut busy = StockEffects::default();
    let r = s.apply(&cancel, at(3), &mut busy);
    assert!(
        matches!(r, StockReply::Order(ref r) if matches!(**r, OrderReply::InvalidTransition { .. } | OrderReply::Unavailable(_)))
    );
    assert!(busy.sends.is_empty() && busy.orders.is_empty());
    // A failed ask is asked again (after the resend delay), then answered.
    let mut fx = StockEffects::default();
    s.apply(
        &answer(&id, step, PartOutcome::Failed("down".into())),
        at(4),
        &mut fx,
    );
    assert!(fx.answers.is_empty());
    let expire = |t| StockCommand::Order(Box::new(OrderCommand::ExpireDue { now: at(t) }));
    let mut fx = StockEffects::default();
    s.apply(&expire(5), at(5), &mut fx);
    assert!(fx.sends.is_empty(), "not yet");
    s.apply(&expire(30), at(30), &mut fx);
    assert_eq!(fx.sends.len(), 1, "asked again");
    let mut fx = StockEffects::default();
    s.apply(&answer(&id, step, PartOutcome::Applied), at(31), &mut fx);
    assert!(matches!(&fx.answers[0].1,
        StockReply::Order(r) if matches!(**r, OrderReply::Updated(ref o) if o.status == OrderStatus::Cancelled)));
    assert!(s.sagas.is_empty());
}
