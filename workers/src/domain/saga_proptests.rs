//! Property: sagas across three partitions whose messages travel as they do
//! on the logs — each partition's log in append order, delivered at any
//! moment; an ask may time out (reported failed while it stays on the
//! participant's log and is applied later, unanswered); a partition may
//! crash at any point (rebuilt from its durable state; the answers on their
//! way to it and its carriers' pending answers lost) — once everything is
//! delivered, every open order holds exactly its lines in every partition,
//! every other order holds nothing anywhere, no saga is left, and no
//! partition oversells.

use std::collections::{HashMap, VecDeque};

use agusto_schemas::{
    NewOrder, OrderAction, OrderCommand, OrderLine, ProductQty, StockCommand, StockReply,
    order_home, partition_for,
};
use chrono::{TimeZone, Utc};
use proptest::prelude::*;

use super::partition::PartitionState;
use super::saga::{RESEND_AFTER, SagaSend};
use super::stock::StockEffects;

const N: u32 = 3;

/// Two products in each partition.
fn products() -> Vec<String> {
    let mut out = Vec::new();
    for p in 0..N {
        let mine = (0..200)
            .map(|i| format!("Q-{i}"))
            .filter(|c| partition_for(c, N) == p)
            .take(2);
        out.extend(mine);
    }
    out
}

fn at(s: i64) -> agusto_schemas::Timestamp {
    Utc.timestamp_opt(1_950_000_000 + s, 0).unwrap()
}

#[derive(Debug, Clone)]
enum Step {
    Place(u8, Vec<(usize, i64)>),
    Move(u8, u8),
    /// The next ask on a partition's log is applied.
    Ask(u32),
    /// The next answer on a partition's log is applied.
    Answer(u32),
    /// The next ask on a partition's log times out at its carrier.
    Fail(u32),
    Crash(u32),
    Tick,
}

fn step() -> impl Strategy<Value = Step> {
    let lines = prop::collection::vec((0usize..6, 1i64..3), 1..4);
    prop_oneof![
        2 => (0u8..6, lines).prop_map(|(o, l)| Step::Place(o, l)),
        1 => (0u8..6, 0u8..3).prop_map(|(o, a)| Step::Move(o, a)),
        3 => (0u32..N).prop_map(Step::Ask),
        3 => (0u32..N).prop_map(Step::Answer),
        1 => (0u32..N).prop_map(Step::Fail),
        1 => (0u32..N).prop_map(Step::Crash),
        1 => Just(Step::Tick),
    ]
}

/// An ask on a participant's log, and whether its carrier still waits to
/// append the answer.
struct Asked {
    send: SagaSend,
    answered: bool,
}

struct World {
    parts: Vec<PartitionState>,
    /// Each partition's log of asks, and of answers, in append order.
    asks: Vec<VecDeque<Asked>>,
    answers: Vec<VecDeque<StockCommand>>,
    lines: HashMap<String, Vec<OrderLine>>,
    clock: i64,
}

impl World {
    fn new(stock: &[i64]) -> World {
        let mut parts: Vec<PartitionState> = (0..N).map(|p| PartitionState::new(p, N)).collect();
        for (code, q) in products().iter().zip(stock) {
            let p = partition_for(code, N) as usize;
            let receipt = StockCommand::Receipt {
                receipt_id: format!("r-{code}"),
                reference: "po".into(),
                lines: vec![ProductQty {
                    product_code: code.clone(),
                    quantity: *q,
                }],
                claim: None,
            };
            parts[p].apply(&receipt, at(0), &mut StockEffects::default());
        }
        World {
            parts,
            asks: (0..N).map(|_| VecDeque::new()).collect(),
            answers: (0..N).map(|_| VecDeque::new()).collect(),
            lines: HashMap::new(),
            clock: 1,
        }
    }

    fn apply(&mut self, p: u32, cmd: &StockCommand) -> StockReply {
        self.clock += 1;
        let mut fx = StockEffects::default();
        let reply = self.parts[p as usize].apply(cmd, at(self.clock), &mut fx);
        for send in fx.sends {
            self.asks[send.to as usize].push_back(Asked {
                send,
                answered: true,
            });
        }
        reply
    }

    fn ask(&mut self, p: u32) {
        let Some(asked) = self.asks[p as usize].pop_front() else {
            return;
        };
        let reply = self.apply(p, &asked.send.command);
        if asked.answered {
            let answer = asked.send.answer(Ok(reply));
            self.answers[asked.send.home as usize].push_back(answer);
        }
    }

    fn answer(&mut self, p: u32) {
        if let Some(answer) = self.answers[p as usize].pop_front() {
            self.apply(p, &answer);
        }
    }

    /// The carrier of the next unanswered-yet ask on `p`'s log gives up:
    /// the home hears "failed", the ask stays on the log.
    fn fail(&mut self, p: u32) {
        let Some(asked) = self.asks[p as usize].iter_mut().find(|a| a.answered) else {
            return;
        };
        asked.answered = false;
        let answer = asked.send.answer(Err("no answer in time".into()));
        self.answers[asked.send.home as usize].push_back(answer);
    }

    /// Partition `p` restarts from what it wrote; its carrier's messages are lost.
    fn crash(&mut self, p: u32) {
        self.answers[p as usize].clear();
        for asked in self.asks.iter_mut().flatten() {
            if asked.send.home == p {
                asked.answered = false;
            }
        }
        let (levels, holds, orders, sagas) = self.parts[p as usize].durable();
        let loaded = agusto_store::PartitionState {
            levels,
            holds,
            orders,
            sagas,
            applied: None,
        };
        self.parts[p as usize] = PartitionState::loaded(p, N, loaded);
    }

    fn tick(&mut self) {
        self.clock += RESEND_AFTER.num_seconds() + 1;
        let now = at(self.clock);
        for p in 0..N {
            self.apply(
                p,
                &StockCommand::Order(Box::new(OrderCommand::ExpireDue { now })),
            );
        }
    }

    fn run(&mut self, s: &Step) {
        let codes = products();
        match s {
            Step::Place(o, lines) => {
                let id = format!("ord-{o}");
                let mut seen = Vec::new();
                let lines: Vec<OrderLine> = lines
                    .iter()
                    .filter(|(c, _)| {
                        let new = !seen.contains(c);
                        seen.push(*c);
                        new
                    })
                    .map(|(c, q)| OrderLine {
                        components: Vec::new(),
                        sku: codes[*c].clone(),
                        product_code: codes[*c].clone(),
                        quantity: *q,
                    })
                    .collect();
                let lines = self.lines.entry(id.clone()).or_insert(lines).clone();
                let home = order_home(&id, lines.iter().map(|l| l.product_code.as_str()), N);
                let new = NewOrder {
                    order_id: id.clone(),
                    external_id: id,
                    channel_id: "ch".into(),
                    lines,
                    expires_at: at(1_000_000),
                    idempotency_key: None,
                    customer: None,
                    shipping_address: None,
                };
                self.apply(
                    home,
                    &StockCommand::Order(Box::new(OrderCommand::Place(new))),
                );
            }
            Step::Move(o, a) => {
                let id = format!("ord-{o}");
                let Some(lines) = self.lines.get(&id) else {
                    return;
                };
                let home = order_home(&id, lines.iter().map(|l| l.product_code.as_str()), N);
                let action = match a {
                    0 => OrderAction::Pay,
                    1 => OrderAction::Cancel,
                    _ => OrderAction::Complete {
                        tracking_number: "TRK".into(),
                        carrier: None,
                    },
                };
                let cmd = OrderCommand::Transition {
                    order_id: id,
                    channel_id: None,
                    action,
                };
                self.apply(home, &StockCommand::Order(Box::new(cmd)));
            }
            Step::Ask(p) => self.ask(*p),
            Step::Answer(p) => self.answer(*p),
            Step::Fail(p) => self.fail(*p),
            Step::Crash(p) => self.crash(*p),
            Step::Tick => self.tick(),
        }
    }

    /// Delivers everything (asking again what was lost) until nothing moves.
    fn quiesce(&mut self) {
        for _ in 0..50 {
            let busy = |w: &World| {
                w.asks.iter().any(|q| !q.is_empty()) || w.answers.iter().any(|q| !q.is_empty())
            };
            while busy(self) {
                for p in 0..N {
                    self.ask(p);
                    self.answer(p);
                }
            }
            if self.parts.iter().all(|p| p.sagas.is_empty()) {
                return;
            }
            self.tick();
        }
        panic!(
            "sagas never ended: {:?}",
            self.parts.iter().map(|p| &p.sagas).collect::<Vec<_>>()
        );
    }

    fn check(&self) {
        for part in &self.parts {
            assert!(part.sagas.is_empty());
            let broken = part.stock.inconsistent();
            assert!(broken.is_empty(), "holds = reserved <= on hand: {broken:?}");
        }
        for (id, lines) in &self.lines {
            let home = order_home(id, lines.iter().map(|l| l.product_code.as_str()), N);
            let open = self.parts[home as usize].orders.contains_key(id);
            for (q, part) in self.parts.iter().enumerate() {
                let mut held: Vec<(String, i64)> = part
                    .stock
                    .holds
                    .get(id)
                    .map(|hs| {
                        hs.iter()
                            .map(|h| (h.product_code.clone(), h.quantity))
                            .collect()
                    })
                    .unwrap_or_default();
                held.sort();
                let mut want: Vec<(String, i64)> = lines
                    .iter()
                    .filter(|l| open && partition_for(&l.product_code, N) == q as u32)
                    .map(|l| (l.product_code.clone(), l.quantity))
                    .collect();
                want.sort();
                assert_eq!(held, want, "order {id} (open: {open}) in partition {q}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn sagas_end_all_or_nothing_however_logs_interleave_time_out_or_crash(
        stock in prop::collection::vec(0i64..5, 6),
        steps in prop::collection::vec(step(), 1..60),
    ) {
        let mut world = World::new(&stock);
        for s in &steps {
            world.run(s);
        }
        world.quiesce();
        world.check();
    }
}
