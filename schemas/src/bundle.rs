//! Bundles (kits): a product with no stock of its own, sold as a set of
//! components. Its figures are derived from its components'.

use crate::{ProductQty, StockLevel, Timestamp};

/// A bundle's derived figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleStock {
    /// `min(component on_hand ÷ quantity)`, rounded down.
    pub on_hand: i64,
    /// `min(component available ÷ quantity)`, rounded down.
    pub available: i64,
    /// The sum of the components' versions: grows with every change of
    /// any component, so a bundle's events keep version order.
    pub version: i64,
    /// The latest change of a component (`at` when none has stock rows).
    pub updated_at: Timestamp,
}

/// The figures of a bundle of `components` from the components' `levels`
/// (a component without a level counts as empty).
pub fn bundle_stock(
    components: &[ProductQty],
    levels: &[StockLevel],
    at: Timestamp,
) -> BundleStock {
    let mut out = BundleStock {
        on_hand: i64::MAX,
        available: i64::MAX,
        version: 0,
        updated_at: at,
    };
    let mut latest: Option<Timestamp> = None;
    for c in components {
        let per = c.quantity.max(1);
        let level = levels.iter().find(|l| l.product_code == c.product_code);
        let (on_hand, available) = level.map_or((0, 0), |l| (l.on_hand.max(0), l.available()));
        out.on_hand = out.on_hand.min(on_hand / per);
        out.available = out.available.min(available / per);
        if let Some(l) = level {
            out.version = out.version.saturating_add(l.version);
            latest = Some(latest.map_or(l.updated_at, |t| t.max(l.updated_at)));
        }
    }
    if components.is_empty() {
        out.on_hand = 0;
        out.available = 0;
    }
    out.updated_at = latest.unwrap_or(at);
    out
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    fn level(code: &str, on_hand: i64, reserved: i64, version: i64) -> StockLevel {
        let mut l = StockLevel::empty(code, Utc.timestamp_opt(version, 0).unwrap());
        l.on_hand = on_hand;
        l.reserved = reserved;
        l.version = version;
        l
    }

    fn part(code: &str, quantity: i64) -> ProductQty {
        ProductQty {
            product_code: code.into(),
            quantity,
        }
    }

    #[test]
    fn a_bundle_is_as_many_sets_as_its_scarcest_component_makes() {
        let at = Utc.timestamp_opt(0, 0).unwrap();
        let parts = [part("cup", 2), part("tea", 3)];
        let levels = [level("cup", 9, 4, 5), level("tea", 10, 0, 7)];
        let b = bundle_stock(&parts, &levels, at);
        // cup: 9 / 2 = 4 on hand, (9 − 4) / 2 = 2 available; tea: 3 and 3.
        assert_eq!((b.on_hand, b.available, b.version), (3, 2, 12));
        assert_eq!(b.updated_at, Utc.timestamp_opt(7, 0).unwrap());
        // A component without stock rows: nothing to sell.
        let b = bundle_stock(&parts, &levels[..1], at);
        assert_eq!((b.on_hand, b.available), (0, 0));
        assert_eq!(bundle_stock(&[], &levels, at).available, 0);
    }
}
