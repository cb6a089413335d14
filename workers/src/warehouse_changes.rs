//! The warehouse's stock changes: receipts, returns received and
//! adjustments, each sent to the stock partitions that own its products,
//! with the claim of its `Idempotency-Key` (or return id) when it spans
//! partitions.

use std::collections::BTreeMap;

use agusto_schemas::{AdjustmentChange, ProductQty, ReturnedQty, StockCommand, StockReply};
use futures_util::future::join_all;

use crate::warehouse::{Error, StockChanged, Warehouse, stock_failure};

impl Warehouse {
    /// Stock In. Lines name distinct, existing products. Each stock partition
    /// applies its lines atomically, once per receipt id; the new levels
    /// come back in line order. `claim` is the request's fingerprint when it
    /// carries an `Idempotency-Key` (the id is then derived from the key): a
    /// retry gets the first answer (`replayed`), another body with the same
    /// key [`Error::Conflict`].
    pub async fn receive(
        &self,
        receipt_id: &str,
        reference: &str,
        lines: &[ProductQty],
        claim: Option<&str>,
    ) -> Result<StockChanged, Error> {
        let codes: Vec<&str> = lines.iter().map(|l| l.product_code.as_str()).collect();
        self.spread_change(receipt_id, &codes, lines.to_vec(), claim, |lines, claim| {
            StockCommand::Receipt {
                receipt_id: receipt_id.to_owned(),
                reference: reference.to_owned(),
                lines,
                claim,
            }
        })
        .await
    }

    /// Returned units received (return `return_id`), applied once per
    /// `change_id` like a receipt: restocked units back to on-hand, damaged
    /// ones to damaged. `claim` is the fingerprint of the received split:
    /// another split under the same id is [`Error::Conflict`].
    pub async fn receive_return(
        &self,
        change_id: &str,
        return_id: &str,
        lines: &[ReturnedQty],
        claim: &str,
    ) -> Result<StockChanged, Error> {
        let codes: Vec<&str> = lines.iter().map(|l| l.product_code.as_str()).collect();
        self.spread_change(
            change_id,
            &codes,
            lines.to_vec(),
            Some(claim),
            |lines, claim| StockCommand::ReturnReceipt {
                change_id: change_id.to_owned(),
                return_id: return_id.to_owned(),
                lines,
                claim,
            },
        )
        .await
    }

    /// Sends a change of the products `codes` (one per line of `lines`) to
    /// the partitions that own them, after claiming `change_id` when its
    /// parts span partitions; the new levels come back in line order.
    async fn spread_change<L: Clone>(
        &self,
        change_id: &str,
        codes: &[&str],
        lines: Vec<L>,
        claim: Option<&str>,
        command: impl Fn(Vec<L>, Option<String>) -> StockCommand,
    ) -> Result<StockChanged, Error> {
        let mut parts: BTreeMap<u32, Vec<L>> = BTreeMap::new();
        for (code, line) in codes.iter().zip(lines) {
            parts
                .entry(self.stock.partition_of(code))
                .or_default()
                .push(line);
        }
        let partitions: Vec<u32> = parts.keys().copied().collect();
        let plan = self.claim(change_id, &partitions, claim).await?;
        let requests = parts
            .into_iter()
            .map(|(p, lines)| self.stock_request(p, command(lines, plan.inline())));
        let mut levels = Vec::with_capacity(codes.len());
        let mut recorded = false;
        for reply in join_all(requests).await {
            let (part, earlier) = reply?;
            levels.extend(part);
            recorded |= earlier;
        }
        let order: std::collections::HashMap<&str, usize> =
            codes.iter().enumerate().map(|(i, c)| (*c, i)).collect();
        levels.sort_by_key(|l| order.get(l.product_code.as_str()).copied());
        Ok(StockChanged {
            levels,
            replayed: plan.replayed(recorded),
        })
    }

    /// A manual correction of one product's on-hand, applied once per
    /// adjustment id, only at `expected_version` when given
    /// ([`Error::VersionMismatch`] otherwise). `claim` as for [`Warehouse::receive`].
    pub async fn adjust(
        &self,
        adjustment_id: &str,
        product_code: &str,
        change: AdjustmentChange,
        reason: &str,
        expected_version: Option<i64>,
        claim: Option<&str>,
    ) -> Result<StockChanged, Error> {
        let p = self.stock.partition_of(product_code);
        let plan = self.claim(adjustment_id, &[p], claim).await?;
        let cmd = StockCommand::Adjust {
            adjustment_id: adjustment_id.to_owned(),
            product_code: product_code.to_owned(),
            change,
            reason: reason.to_owned(),
            expected_version,
            claim: plan.inline(),
        };
        let (levels, recorded) = self.stock_request(p, cmd).await?;
        if levels.is_empty() {
            return Err(Error::Unavailable("adjustment gave no level".into()));
        }
        Ok(StockChanged {
            levels,
            replayed: plan.replayed(recorded),
        })
    }

    /// Claims `change_id` for the request `fingerprint` at the partition
    /// that owns the id, unless the change lies wholly in that partition:
    /// then its one command carries the claim.
    async fn claim(
        &self,
        change_id: &str,
        partitions: &[u32],
        fingerprint: Option<&str>,
    ) -> Result<Claim, Error> {
        let Some(fingerprint) = fingerprint else {
            return Ok(Claim::None);
        };
        let home = self.stock.partition_of(change_id);
        if partitions == [home] {
            return Ok(Claim::Inline(fingerprint.to_owned()));
        }
        let cmd = StockCommand::Claim {
            change_id: change_id.to_owned(),
            fingerprint: fingerprint.to_owned(),
        };
        match tokio::time::timeout(self.stock_wait, self.stock.request(home, cmd)).await {
            Err(_) => Err(Error::Pending),
            Ok(Err(e)) => Err(Error::Unavailable(e.to_string())),
            Ok(Ok(StockReply::Claimed { first })) => Ok(Claim::Separate { first }),
            Ok(Ok(other)) => Err(stock_failure(other)),
        }
    }
}

/// How a change's `Idempotency-Key` is claimed.
enum Claim {
    /// No key: the change id is new.
    None,
    /// The change's one command claims the id itself.
    Inline(String),
    /// Claimed before the parts were sent; `first` unless a retry.
    Separate {
        /// True when this request made the claim.
        first: bool,
    },
}

impl Claim {
    /// The fingerprint the change's command carries.
    fn inline(&self) -> Option<String> {
        match self {
            Claim::Inline(fingerprint) => Some(fingerprint.clone()),
            _ => None,
        }
    }

    /// Whether the change was applied before this request, given whether a
    /// partition answered from its record.
    fn replayed(&self, recorded: bool) -> bool {
        match self {
            Claim::None | Claim::Inline(_) => recorded,
            Claim::Separate { first } => !first,
        }
    }
}
