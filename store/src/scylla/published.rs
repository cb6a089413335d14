//! What the webhook fan-out last sent each channel about each product
//! (published availability per channel): table `published_stock`.

use futures::{StreamExt, TryStreamExt};

use super::Inner;
use super::codec::{big, text};
use super::statements::Stmt;
use crate::{PublishedStock, Result};

/// Reads or writes in flight at once.
const AT_ONCE: usize = 32;

impl Inner {
    /// The records of these products, every channel (one partition each).
    pub(crate) async fn published_stock(&self, codes: &[String]) -> Result<Vec<PublishedStock>> {
        let reads: Vec<_> = codes
            .iter()
            .map(|code| async move {
                let rows = self
                    .rows::<(String, Option<i64>, Option<i64>, Option<i64>, Option<i64>)>(
                        Stmt::GetPublishedStock,
                        vec![text(code)],
                    )
                    .await?;
                Ok::<_, crate::Error>(
                    rows.into_iter()
                        .map(
                            |(channel_id, on_hand, available, damaged, position)| PublishedStock {
                                channel_id,
                                product_code: code.clone(),
                                on_hand: on_hand.unwrap_or(0),
                                available: available.unwrap_or(0),
                                damaged: damaged.unwrap_or(0),
                                position: position.unwrap_or(0),
                            },
                        )
                        .collect::<Vec<_>>(),
                )
            })
            .collect();
        let parts: Vec<Vec<PublishedStock>> = futures::stream::iter(reads)
            .buffer_unordered(AT_ONCE)
            .try_collect()
            .await?;
        Ok(parts.into_iter().flatten().collect())
    }

    /// Upserts records (plain writes: the last one wins; concurrent
    /// fan-outs of one round write the same values).
    pub(crate) async fn put_published_stock(&self, records: &[PublishedStock]) -> Result<()> {
        let writes: Vec<_> = records
            .iter()
            .map(|r| {
                self.exec(
                    Stmt::PutPublishedStock,
                    vec![
                        text(&r.product_code),
                        text(&r.channel_id),
                        big(r.on_hand),
                        big(r.available),
                        big(r.damaged),
                        big(r.position),
                        // Webhook workers fan out concurrently: the record of
                        // the newest outbox position wins, whatever lands last.
                        big(r.position),
                    ],
                )
            })
            .collect();
        futures::stream::iter(writes)
            .buffer_unordered(AT_ONCE)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }
}
