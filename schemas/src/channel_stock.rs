//! Published availability per channel: what a channel is *shown* as
//! `available`, after the units it holds back (API.md, "Published
//! availability per channel"). Reservations never use it: they check the
//! warehouse's real `available`.

use serde::{Deserialize, Serialize};

/// A channel's stock rule: units held back from every product it sees.
/// The default holds nothing back (published = real).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChannelStockRule {
    /// Units held back per product (≥ 0).
    #[serde(default)]
    pub stock_buffer: i64,
    /// Share of the real `available` held back, in percent (0–100),
    /// rounded up to whole units.
    #[serde(default)]
    pub stock_buffer_percent: i64,
    /// The channel is shown 0 when what it would be shown is at or below
    /// this (≥ 0).
    #[serde(default)]
    pub stock_floor: i64,
}

impl ChannelStockRule {
    /// True when the rule holds nothing back.
    pub fn is_neutral(&self) -> bool {
        *self == ChannelStockRule::default()
    }
}

/// A channel's override of its stock rule for one product (on its SKU
/// mapping). No field set: the channel's rule applies unchanged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SkuStockRule {
    /// Units held back for this product; replaces both the channel's
    /// `stock_buffer` and `stock_buffer_percent` (≥ 0).
    #[serde(default)]
    pub stock_buffer: Option<i64>,
    /// The channel is never shown more than this (≥ 0).
    #[serde(default)]
    pub stock_max: Option<i64>,
}

/// Units held back from `real` under a rule: the SKU's `stock_buffer` if
/// set, else `max(stock_buffer, ceil(real × stock_buffer_percent / 100))`.
/// Negative settings count as 0 and the percentage is clamped to 0–100, so
/// no input overflows or panics.
pub fn held_back(real: i64, channel: &ChannelStockRule, sku: &SkuStockRule) -> i64 {
    if let Some(buffer) = sku.stock_buffer {
        return buffer.max(0);
    }
    let percent = i128::from(channel.stock_buffer_percent.clamp(0, 100));
    let share = i128::from(real.max(0)) * percent;
    // Ceiling of a non-negative share / 100; at most `real`, so it fits an i64.
    let by_percent = i64::try_from((share + 99) / 100).unwrap_or(i64::MAX);
    channel.stock_buffer.max(0).max(by_percent)
}

/// What a channel is shown as `available` when the warehouse's real
/// `available` is `real`: `max(0, min(real − held, stock_max))`, then 0 when
/// that is at or below the channel's `stock_floor` (see [`held_back`]).
/// Always between 0 and `max(real, 0)`.
pub fn published_available(real: i64, channel: &ChannelStockRule, sku: &SkuStockRule) -> i64 {
    let shown = real
        .max(0)
        .saturating_sub(held_back(real, channel, sku))
        .min(sku.stock_max.map_or(i64::MAX, |m| m.max(0)))
        .max(0);
    if shown <= channel.stock_floor.max(0) {
        0
    } else {
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rule(stock_buffer: i64, stock_buffer_percent: i64, stock_floor: i64) -> ChannelStockRule {
        ChannelStockRule {
            stock_buffer,
            stock_buffer_percent,
            stock_floor,
        }
    }

    fn sku(stock_buffer: Option<i64>, stock_max: Option<i64>) -> SkuStockRule {
        SkuStockRule {
            stock_buffer,
            stock_max,
        }
    }

    #[test]
    fn each_rule_holds_back_what_api_md_says() {
        let none = SkuStockRule::default();
        assert_eq!(
            published_available(10, &ChannelStockRule::default(), &none),
            10
        );
        assert_eq!(published_available(10, &rule(3, 0, 0), &none), 7);
        // ceil(10 × 25 / 100) = ceil(2.5) = 3 held back.
        assert_eq!(published_available(10, &rule(0, 25, 0), &none), 7);
        // The larger of the two buffers wins.
        assert_eq!(published_available(10, &rule(4, 25, 0), &none), 6);
        // At or below the floor: 0.
        assert_eq!(published_available(10, &rule(3, 0, 7), &none), 0);
        assert_eq!(published_available(10, &rule(3, 0, 6), &none), 7);
        // A SKU's buffer replaces both channel buffers, even when smaller.
        assert_eq!(
            published_available(10, &rule(4, 50, 0), &sku(Some(1), None)),
            9
        );
        assert_eq!(
            published_available(10, &rule(0, 0, 0), &sku(None, Some(4))),
            4
        );
        assert_eq!(published_available(3, &rule(5, 0, 0), &none), 0);
        assert_eq!(published_available(0, &rule(0, 100, 0), &none), 0);
    }

    #[test]
    fn extreme_values_neither_overflow_nor_panic() {
        let max = i64::MAX;
        assert_eq!(
            published_available(max, &rule(0, 100, 0), &sku(None, None)),
            0
        );
        assert_eq!(
            published_available(max, &rule(0, 1, 0), &sku(None, None)),
            max - max / 100 - 1
        );
        assert_eq!(
            published_available(max, &rule(0, 0, 0), &sku(Some(0), Some(max))),
            max
        );
        assert_eq!(
            published_available(
                i64::MIN,
                &rule(i64::MIN, i64::MIN, i64::MIN),
                &sku(Some(i64::MIN), Some(i64::MIN))
            ),
            0
        );
    }

    fn any_rule() -> impl Strategy<Value = ChannelStockRule> {
        let edge = prop_oneof![
            Just(0i64),
            Just(1),
            Just(i64::MAX),
            Just(i64::MIN),
            Just(-1),
            any::<i64>(),
            0i64..1000
        ];
        (edge.clone(), prop_oneof![0i64..=100, any::<i64>()], edge)
            .prop_map(|(b, p, f)| rule(b, p, f))
    }

    fn any_sku() -> impl Strategy<Value = SkuStockRule> {
        let edge = prop_oneof![
            Just(0i64),
            Just(i64::MAX),
            Just(i64::MIN),
            any::<i64>(),
            0i64..1000
        ];
        (
            proptest::option::of(edge.clone()),
            proptest::option::of(edge),
        )
            .prop_map(|(b, m)| sku(b, m))
    }

    fn any_real() -> impl Strategy<Value = i64> {
        prop_oneof![
            Just(0i64),
            Just(i64::MAX),
            Just(i64::MIN),
            any::<i64>(),
            0i64..10_000
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// For every rule (valid or not) and every real figure: no panic,
        /// never negative, never more than what is really available, never
        /// more than `stock_max`, 0 when at or below the floor.
        #[test]
        fn published_never_exceeds_the_real_figure(real in any_real(), ch in any_rule(), sk in any_sku()) {
            let p = published_available(real, &ch, &sk);
            prop_assert!(p >= 0);
            prop_assert!(p <= real.max(0));
            if let Some(m) = sk.stock_max {
                prop_assert!(p <= m.max(0));
            }
            if p != 0 {
                prop_assert!(p > ch.stock_floor);
            }
            let held = held_back(real, &ch, &sk);
            prop_assert!(held >= 0);
            if p != 0 {
                prop_assert!(p <= real - held);
            }
        }

        /// With valid settings, the percentage buffer is the exact ceiling.
        #[test]
        fn the_percentage_is_rounded_up(real in 0i64..1_000_000_000, percent in 0i64..=100) {
            let held = held_back(real, &rule(0, percent, 0), &SkuStockRule::default());
            let exact = i128::from(real) * i128::from(percent);
            prop_assert!(i128::from(held) * 100 >= exact);
            prop_assert!(i128::from(held - 1) * 100 < exact || held == 0);
        }
    }
}
