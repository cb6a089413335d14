//! Orders whose lines span stock partitions: the saga their home partition
//! runs, stored with that partition's writer batches.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::{Order, ProductQty, Shortage, StockCommand, partition_for};

/// The stock partition that decides an order: the partition of its lines
/// when they share one (one hop), else the partition of its id (the
/// saga's home).
pub fn order_home<'a>(
    order_id: &str,
    mut product_codes: impl Iterator<Item = &'a str>,
    partitions: u32,
) -> u32 {
    let Some(first) = product_codes.next() else {
        return partition_for(order_id, partitions);
    };
    let p = partition_for(first, partitions);
    if product_codes.all(|c| partition_for(c, partitions) == p) {
        p
    } else {
        partition_for(order_id, partitions)
    }
}

/// What the step of a saga is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SagaKind {
    /// Holding a new order's lines; the order exists once every part holds.
    Placing,
    /// Applying an order's transition (confirm, release, stock-out).
    Applying,
    /// Giving back the holds of a placement that failed.
    Compensating,
}

/// One step of an order spanning stock partitions, as its home partition
/// keeps it until every participant answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Saga {
    /// The order (a placement: as it will be once every part holds).
    pub order: Order,
    /// The home partition: the stock partition that runs the saga.
    pub home: u32,
    /// Step number; answers name it, older steps' answers are ignored.
    pub step: u64,
    /// What the step is for.
    pub kind: SagaKind,
    /// The stock command every participant applies (a reservation's lines
    /// are each participant's own, from `parts`).
    pub command: StockCommand,
    /// The lines of each participant partition (the home's excluded).
    pub parts: BTreeMap<u32, Vec<ProductQty>>,
    /// Participants that have not answered this step.
    pub waiting: BTreeSet<u32>,
    /// Placing: participants that hold their lines.
    pub held: BTreeSet<u32>,
    /// Placing: lines that could not be held.
    pub short: Vec<Shortage>,
    /// Placing: why a participant could not answer, if one could not.
    pub failure: Option<String>,
}

impl Saga {
    /// The stock command for participant `partition`.
    pub fn command_for(&self, partition: u32) -> StockCommand {
        match &self.command {
            StockCommand::Reserve {
                order_id,
                expires_at,
                ..
            } => StockCommand::Reserve {
                order_id: order_id.clone(),
                lines: self.parts.get(&partition).cloned().unwrap_or_default(),
                expires_at: *expires_at,
            },
            other => other.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_lives_with_its_lines_or_its_id() {
        let n = 8;
        let codes: Vec<String> = (0..64).map(|i| format!("P{i}")).collect();
        let a = &codes[0];
        let other = codes
            .iter()
            .find(|c| partition_for(c, n) != partition_for(a, n))
            .unwrap();
        let same = codes[1..]
            .iter()
            .find(|c| partition_for(c, n) == partition_for(a, n))
            .unwrap();
        assert_eq!(
            order_home("o1", [a.as_str(), same].into_iter(), n),
            partition_for(a, n)
        );
        assert_eq!(
            order_home("o1", [a.as_str(), other].into_iter(), n),
            partition_for("o1", n)
        );
    }
}
