//! Property tests of the stock ledger's invariants (DESIGN.md "Guarantees").

use std::collections::HashMap;

use agusto_schemas::{
    AdjustmentChange, MovementKind, ProductQty, ReleaseReason, StockCommand, StockLevel, StockReply,
};
use chrono::{TimeZone, Utc};
use proptest::prelude::*;

use super::stock::{StockEffects, StockState};

const PRODUCTS: [&str; 3] = ["A", "B", "C"];

fn state() -> StockState {
    let at = Utc.timestamp_opt(0, 0).unwrap();
    let mut s = StockState::default();
    for p in PRODUCTS {
        s.levels.insert(p.to_owned(), StockLevel::empty(p, at));
    }
    s
}

fn command() -> impl Strategy<Value = StockCommand> {
    let product = prop::sample::select(PRODUCTS.to_vec()).prop_map(str::to_owned);
    let order = (0u8..6).prop_map(|o| format!("ord{o}"));
    let fingerprint = prop::option::of((0u8..2).prop_map(|f| format!("fp{f}")));
    let lines = prop::collection::vec((product.clone(), 1i64..6), 1..4).prop_map(|ls| {
        ls.into_iter()
            .map(|(product_code, quantity)| ProductQty {
                product_code,
                quantity,
            })
            .collect::<Vec<_>>()
    });
    let at = Utc.timestamp_opt(100, 0).unwrap();
    prop_oneof![
        // Few change ids, so that ids repeat (retries) and claims meet them.
        (product.clone(), 1i64..8, 0u8..4, fingerprint.clone()).prop_map(|(p, q, n, claim)| {
            StockCommand::Receipt {
                receipt_id: format!("rcpt{n}"),
                reference: "po".into(),
                lines: vec![ProductQty {
                    product_code: p,
                    quantity: q,
                }],
                claim,
            }
        }),
        (
            product,
            prop_oneof![
                (0i64..5).prop_map(AdjustmentChange::Delta),
                (-3i64..4).prop_map(AdjustmentChange::Damaged),
                (0i64..5).prop_map(AdjustmentChange::MoveToDamaged),
            ],
            0u8..4,
            prop::option::of(0i64..4),
            fingerprint.clone()
        )
            .prop_map(
                |(p, change, n, expected_version, claim)| StockCommand::Adjust {
                    adjustment_id: format!("adj{n}"),
                    product_code: p,
                    change,
                    reason: "count".into(),
                    expected_version,
                    claim,
                }
            ),
        (
            0u8..4,
            fingerprint.prop_filter_map("a claim has a fingerprint", |f| f)
        )
            .prop_map(|(n, fingerprint)| StockCommand::Claim {
                change_id: format!("rcpt{n}"),
                fingerprint,
            }),
        (order.clone(), lines, 0i64..200).prop_map(move |(order_id, lines, ttl)| {
            StockCommand::Reserve {
                order_id,
                lines,
                expires_at: at + chrono::Duration::seconds(ttl),
            }
        }),
        order
            .clone()
            .prop_map(|order_id| StockCommand::Confirm { order_id }),
        order.clone().prop_map(|order_id| StockCommand::Release {
            order_id,
            reason: ReleaseReason::Cancelled
        }),
        order.prop_map(|order_id| StockCommand::StockOut {
            order_id,
            reference: "trk".into()
        }),
        (0i64..300).prop_map(move |s| StockCommand::SweepLapsed {
            before: at + chrono::Duration::seconds(s)
        }),
    ]
}

fn at() -> agusto_schemas::Timestamp {
    Utc.timestamp_opt(150, 0).unwrap()
}

proptest! {
    /// Without downward adjustments of on-hand (moves to damaged are
    /// refused below reserved), reserved never exceeds on-hand, damaged
    /// never drops below 0, and the units held never exceed the units that
    /// came in.
    #[test]
    fn reserved_never_exceeds_what_was_available(cmds in prop::collection::vec(command(), 1..60)) {
        let mut s = state();
        let mut fx = StockEffects::default();
        for c in &cmds {
            s.apply(c, at(), &mut fx);
            for l in s.levels.values() {
                prop_assert!(l.reserved <= l.on_hand, "{l:?} after {c:?}");
                prop_assert!(l.reserved >= 0 && l.on_hand >= 0 && l.damaged >= 0);
            }
            let held: i64 = s.holds.values().flatten().map(|h| h.quantity).sum();
            let reserved: i64 = s.levels.values().map(|l| l.reserved).sum();
            prop_assert_eq!(held, reserved);
        }
    }

    /// A reservation that cannot be met in full changes nothing at all.
    #[test]
    fn a_short_reservation_leaves_nothing_reserved(
        cmds in prop::collection::vec(command(), 0..30),
        extra in 1i64..5,
    ) {
        let mut s = state();
        let mut fx = StockEffects::default();
        for c in &cmds {
            s.apply(c, at(), &mut fx);
        }
        let short = s.levels["A"].available() + extra;
        let before = s.clone();
        let mut fx2 = StockEffects::default();
        let reply = s.apply(&StockCommand::Reserve {
            order_id: "big".into(),
            lines: vec![
                ProductQty { product_code: "B".into(), quantity: 1 },
                ProductQty { product_code: "A".into(), quantity: short },
            ],
            expires_at: at(),
        }, at(), &mut fx2);
        prop_assert!(matches!(reply, StockReply::Short(ref v) if v.iter().any(|x| x.product_code == "A")));
        prop_assert_eq!(&s, &before);
        prop_assert_eq!(fx2, StockEffects::default());
    }

    /// Applying any command a second time changes nothing (receipts and
    /// adjustments by their recorded change id).
    #[test]
    fn replaying_a_command_is_a_no_op(cmds in prop::collection::vec(command(), 1..40)) {
        let mut s = state();
        let mut fx = StockEffects::default();
        for c in &cmds {
            s.apply(c, at(), &mut fx);
            let before = s.clone();
            let mut again = StockEffects::default();
            s.apply(c, at(), &mut again);
            prop_assert_eq!(&s, &before, "replay of {:?} changed the state", c);
            prop_assert!(again.movements.is_empty() && again.events.is_empty());
        }
    }

    /// Quantities recomputed from the ledger equal the state, and every
    /// version is the count of the product's movements.
    #[test]
    fn ledger_recomputes_the_quantities(cmds in prop::collection::vec(command(), 1..60)) {
        let mut s = state();
        let mut fx = StockEffects::default();
        for c in &cmds {
            s.apply(c, at(), &mut fx);
        }
        let mut sums: HashMap<&str, (i64, i64, i64, i64)> = HashMap::new();
        for m in &fx.movements {
            let e = sums.entry(&m.product_code).or_default();
            e.0 += m.delta_on_hand;
            e.1 += m.delta_reserved;
            e.2 += m.delta_damaged;
            e.3 += 1;
            prop_assert_eq!(m.version, e.3);
            if m.kind == MovementKind::Reserve { prop_assert!(m.delta_reserved > 0); }
        }
        for (code, l) in &s.levels {
            let (on, res, dmg, n) = sums.get(code.as_str()).copied().unwrap_or_default();
            prop_assert_eq!((l.on_hand, l.reserved, l.damaged, l.version), (on, res, dmg, n));
        }
    }
}
