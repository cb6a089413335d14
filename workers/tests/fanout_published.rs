//! Webhook fan-out of `stock.changed` with published availability, against
//! a real SQLite file: each channel's own published `available`, nothing
//! when nothing it can see changed, and a round repeated after its records
//! were written delivers again rather than losing an event.

use agusto_schemas::{ChannelStockRule, SkuStockRule, StockLevel, now};
use agusto_store::sqlite::SqliteStore;
use agusto_store::{Channel, PublishedStock, SkuMapping, StockBatch, Store};
use agusto_workers::domain::stock::stock_changed;
use agusto_workers::webhooks::fanout::fan_out;

fn channel(id: &str, stock_rule: ChannelStockRule) -> Channel {
    Channel {
        id: id.to_owned(),
        name: id.to_owned(),
        webhook_url: Some("https://shop.example/hooks".to_owned()),
        webhook_secret: "whsec_x".to_owned(),
        allowed_ips: vec![],
        rate_limit_per_second: None,
        webhook_disabled: false,
        stock_rule,
        created_at: now(),
        updated_at: now(),
    }
}

async fn stock_event(store: &dyn Store, on_hand: i64, reserved: i64, version: i64) {
    let mut level = StockLevel::empty("F-1", now());
    level.on_hand = on_hand;
    level.reserved = reserved;
    level.version = version;
    let batch = StockBatch {
        events: vec![stock_changed(&level, "adjustment")],
        levels: vec![level],
        ..StockBatch::default()
    };
    store.apply_stock_batch(&batch).await.expect("batch");
}

/// (channel, on_hand, available) of every stock delivery, oldest first.
async fn sent(store: &dyn Store) -> Vec<(String, i64, i64)> {
    let page = store
        .list_deliveries(None, None, None, 1000)
        .await
        .expect("deliveries");
    let mut out: Vec<(i64, String, i64, i64)> = page
        .items
        .iter()
        .map(|d| {
            let data = &d.payload["data"];
            (
                d.position,
                d.channel_id.clone(),
                data["on_hand"].as_i64().expect("on_hand"),
                data["available"].as_i64().expect("available"),
            )
        })
        .collect();
    out.sort();
    out.into_iter().map(|(_, c, h, a)| (c, h, a)).collect()
}

fn row(channel: &str, on_hand: i64, available: i64) -> (String, i64, i64) {
    (channel.to_owned(), on_hand, available)
}

#[tokio::test]
async fn each_channel_is_sent_its_published_changes_only() {
    let dir = std::env::temp_dir().join(format!("agusto-fanout-pub-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = SqliteStore::open(&dir.join("agusto.db")).expect("store opens");
    let held = ChannelStockRule {
        stock_buffer: 2,
        ..ChannelStockRule::default()
    };
    store
        .insert_channel(&channel("ch_a", held))
        .await
        .expect("a");
    store
        .insert_channel(&channel("ch_b", ChannelStockRule::default()))
        .await
        .expect("b");
    let capped = SkuMapping {
        channel_id: "ch_a".to_owned(),
        sku: "A-F1".to_owned(),
        product_code: "F-1".to_owned(),
        stock_rule: SkuStockRule {
            stock_buffer: None,
            stock_max: Some(5),
        },
    };
    store.put_sku_mapping(&capped).await.expect("map");

    // 10 on hand: A is shown min(10 - 2, 5) = 5, B 10.
    stock_event(&store, 10, 0, 1).await;
    // Reserved 1 and on_hand unchanged: A still 5 (nothing), B 9.
    stock_event(&store, 10, 1, 2).await;
    fan_out(&store).await.expect("fan out");
    assert_eq!(
        sent(&store).await,
        [row("ch_a", 10, 5), row("ch_b", 10, 10), row("ch_b", 10, 9)]
    );

    // A round whose records were written but not its deliveries (a crash
    // in between): the event is delivered again rather than lost, though
    // the record says the channel saw these figures.
    stock_event(&store, 10, 2, 3).await;
    let position = store.outbox_after(0, 100).await.expect("outbox").len() as i64;
    let recorded = PublishedStock {
        channel_id: "ch_a".to_owned(),
        product_code: "F-1".to_owned(),
        on_hand: 10,
        available: 5,
        damaged: 0,
        position,
    };
    store
        .put_published_stock(&[recorded])
        .await
        .expect("record");
    fan_out(&store).await.expect("fan out");
    let all = sent(&store).await;
    assert_eq!(all[3..], [row("ch_a", 10, 5), row("ch_b", 10, 8)]);
}
