//! Published availability per channel: the channel's stock rule, the SKU
//! mapping's override, and what the fan-out last sent each channel.

use agusto_schemas::{ChannelStockRule, SkuStockRule};

use super::fixtures::{at, product};
use crate::{Channel, ChannelSku, PublishedStock, SkuMapping, Store};

const YEAR: i32 = 2030;

fn channel(id: &str, stock_rule: ChannelStockRule) -> Channel {
    Channel {
        id: id.to_owned(),
        name: format!("Channel {id}"),
        webhook_url: Some("https://rules.example/hooks".to_owned()),
        webhook_secret: "whsec_rules".to_owned(),
        allowed_ips: vec![],
        rate_limit_per_second: None,
        webhook_disabled: false,
        stock_rule,
        created_at: at(YEAR, 1),
        updated_at: at(YEAR, 1),
    }
}

/// A channel's stock rule round-trips through insert, update, get and
/// list; a SKU mapping's override comes back from `channel_skus` with the
/// SKU (none for an unmapped product, none again once the mapping is put
/// without it); `published_stock` returns what `put_published_stock` wrote,
/// per product and channel, the later write replacing the earlier.
pub async fn channel_stock_rules_round_trip(store: &dyn Store) {
    let rule = ChannelStockRule {
        stock_buffer: 3,
        stock_buffer_percent: 25,
        stock_floor: 2,
    };
    let mut ch = channel("ch_rules_a", rule);
    store.insert_channel(&ch).await.expect("insert");
    store
        .insert_channel(&channel("ch_rules_b", ChannelStockRule::default()))
        .await
        .expect("insert");
    assert_eq!(
        store.get_channel(&ch.id).await.expect("get"),
        Some(ch.clone())
    );
    ch.stock_rule = ChannelStockRule {
        stock_buffer: 0,
        stock_buffer_percent: 100,
        stock_floor: i64::MAX,
    };
    ch.updated_at = at(YEAR, 2);
    store.update_channel(&ch).await.expect("update");
    assert_eq!(
        store.get_channel(&ch.id).await.expect("get"),
        Some(ch.clone())
    );
    let listed = store.list_channels().await.expect("list");
    assert!(listed.contains(&ch), "{listed:?}");
    let b = listed
        .iter()
        .find(|c| c.id == "ch_rules_b")
        .expect("b listed");
    assert_eq!(b.stock_rule, ChannelStockRule::default());

    for code in ["rules-p1", "rules-p2"] {
        store
            .put_product(&product(code, true, at(YEAR, 0)))
            .await
            .expect("put product");
    }
    let override_rule = SkuStockRule {
        stock_buffer: Some(4),
        stock_max: Some(i64::MAX),
    };
    let mapping = |stock_rule| SkuMapping {
        channel_id: ch.id.clone(),
        sku: "RULES-1".to_owned(),
        product_code: "rules-p1".to_owned(),
        stock_rule,
    };
    store
        .put_sku_mapping(&mapping(override_rule))
        .await
        .expect("map");
    let codes = ["rules-p1".to_owned(), "rules-p2".to_owned()];
    let skus = store.channel_skus(&ch.id, &codes).await.expect("skus");
    let plain = |sku: &str| ChannelSku {
        sku: sku.to_owned(),
        stock_rule: SkuStockRule::default(),
    };
    assert_eq!(
        skus,
        vec![
            ChannelSku {
                sku: "RULES-1".to_owned(),
                stock_rule: override_rule,
            },
            plain("rules-p2"),
        ]
    );
    let only_max = SkuStockRule {
        stock_buffer: None,
        stock_max: Some(0),
    };
    store
        .put_sku_mapping(&mapping(only_max))
        .await
        .expect("map");
    let skus = store.channel_skus(&ch.id, &codes[..1]).await.expect("skus");
    assert_eq!(skus[0].stock_rule, only_max);
    store
        .put_sku_mapping(&mapping(SkuStockRule::default()))
        .await
        .expect("map");
    let skus = store.channel_skus(&ch.id, &codes[..1]).await.expect("skus");
    assert_eq!(skus, vec![plain("RULES-1")], "override removed");
    let other = store
        .channel_skus("ch_rules_b", &codes[..1])
        .await
        .expect("skus");
    assert_eq!(other, vec![plain("rules-p1")], "overrides are per channel");

    assert!(
        store
            .published_stock(&codes)
            .await
            .expect("read")
            .is_empty()
    );
    let sent = |channel: &str, code: &str, available, position| PublishedStock {
        channel_id: channel.to_owned(),
        product_code: code.to_owned(),
        on_hand: 10,
        available,
        damaged: 1,
        position,
    };
    let first = vec![
        sent("ch_rules_a", "rules-p1", 7, 5),
        sent("ch_rules_b", "rules-p1", 10, 5),
        sent("ch_rules_a", "rules-p2", 0, 6),
    ];
    store.put_published_stock(&first).await.expect("put");
    let later = sent("ch_rules_a", "rules-p1", 6, 9);
    store
        .put_published_stock(std::slice::from_ref(&later))
        .await
        .expect("put");
    // A fan-out that is behind (another webhook worker) writes an older
    // position last: the newer record stays.
    let stale = sent("ch_rules_a", "rules-p1", 3, 7);
    store
        .put_published_stock(std::slice::from_ref(&stale))
        .await
        .expect("put stale");
    let mut read = store.published_stock(&codes).await.expect("read");
    read.sort_by(|x, y| (&x.product_code, &x.channel_id).cmp(&(&y.product_code, &y.channel_id)));
    assert_eq!(read, vec![later, first[1].clone(), first[2].clone()]);
    let one = store.published_stock(&codes[1..]).await.expect("read");
    assert_eq!(one, vec![first[2].clone()]);
}
