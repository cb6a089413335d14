//! The partitioning contract: which writer applies a command.

/// The partition (0-based, `< partitions`) that owns `key` (a product code for
/// stock commands, an order id for order commands). Stable across processes,
/// releases and machines: FNV-1a 64 of the key's UTF-8 bytes.
pub fn partition_for(key: &str, partitions: u32) -> u32 {
    assert!(partitions > 0, "partition count must be positive");
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.as_bytes() {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash % u64::from(partitions)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_stable_and_in_range() {
        assert_eq!(partition_for("SKU-1", 1), 0);
        let p = partition_for("SKU-1", 8);
        assert!(p < 8);
        assert_eq!(p, partition_for("SKU-1", 8));
        let spread: std::collections::HashSet<u32> = (0..100)
            .map(|i| partition_for(&format!("P{i}"), 4))
            .collect();
        assert_eq!(spread.len(), 4);
    }
}
