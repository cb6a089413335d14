//! Catalogue scenarios: products and SKU mappings.

use super::fixtures::{all_pages, at, product};
use crate::{SkuMapping, Store};

const YEAR: i32 = 2001;

/// Products round-trip field by field; `put_product` tells new from updated;
/// `list_products` filters on `active`.
pub async fn catalogue_round_trip(store: &dyn Store) {
    let p = product("cat-a", true, at(YEAR, 1));
    assert!(
        store.put_product(&p).await.expect("put"),
        "first put is new"
    );
    assert_eq!(
        store.get_product("cat-a").await.expect("get"),
        Some(p.clone())
    );

    let mut changed = p.clone();
    changed.name = "Renamed".to_owned();
    changed.active = false;
    changed.barcode = None;
    changed.updated_at = at(YEAR, 2);
    assert!(
        !store.put_product(&changed).await.expect("put"),
        "second put updates"
    );
    assert_eq!(
        store.get_product("cat-a").await.expect("get"),
        Some(changed.clone())
    );
    assert_eq!(store.get_product("cat-missing").await.expect("get"), None);

    let b = product("cat-b", true, at(YEAR, 3));
    assert!(store.put_product(&b).await.expect("put"));
    let ours = |list: Vec<crate::Product>| -> Vec<crate::Product> {
        list.into_iter()
            .filter(|p| p.product_code.starts_with("cat-"))
            .collect()
    };
    let all = all_pages(|c| async move { store.list_products(None, c.as_deref(), 10).await }).await;
    assert_eq!(ours(all), vec![changed.clone(), b.clone()]);
    let active =
        all_pages(|c| async move { store.list_products(Some(true), c.as_deref(), 10).await }).await;
    assert!(active.iter().all(|p| p.active));
    assert_eq!(ours(active), vec![b]);
    let inactive =
        all_pages(|c| async move { store.list_products(Some(false), c.as_deref(), 10).await })
            .await;
    assert!(inactive.iter().all(|p| !p.active));
    assert_eq!(ours(inactive), vec![changed]);
}

/// A channel's SKU resolves through its explicit mapping, else to the product
/// of that code unless the channel maps another SKU to it; `skus_for` is the
/// reverse (smallest mapped SKU, else the code).
pub async fn sku_resolution(store: &dyn Store) {
    for code in ["sku-p1", "sku-p2", "sku-p3"] {
        store
            .put_product(&product(code, true, at(YEAR, 0)))
            .await
            .expect("put");
    }
    let map = |sku: &str, code: &str| SkuMapping {
        channel_id: "ch_sku_a".to_owned(),
        sku: sku.to_owned(),
        product_code: code.to_owned(),
        stock_rule: Default::default(),
    };
    store
        .put_sku_mapping(&map("A-1", "sku-p1"))
        .await
        .expect("map");
    let resolve = |ch: &'static str, sku: &'static str| async move {
        store.resolve_sku(ch, sku).await.expect("resolve")
    };
    assert_eq!(resolve("ch_sku_a", "A-1").await.as_deref(), Some("sku-p1"));
    assert_eq!(
        resolve("ch_sku_a", "sku-p1").await,
        None,
        "code hidden by a mapping"
    );
    assert_eq!(
        resolve("ch_sku_a", "sku-p2").await.as_deref(),
        Some("sku-p2")
    );
    assert_eq!(resolve("ch_sku_a", "sku-nope").await, None);
    assert_eq!(
        resolve("ch_sku_b", "sku-p1").await.as_deref(),
        Some("sku-p1")
    );
    assert_eq!(
        resolve("ch_sku_b", "A-1").await,
        None,
        "mappings are per channel"
    );

    // Mapping the same SKU again replaces it.
    store
        .put_sku_mapping(&map("A-1", "sku-p2"))
        .await
        .expect("remap");
    assert_eq!(resolve("ch_sku_a", "A-1").await.as_deref(), Some("sku-p2"));
    assert_eq!(
        resolve("ch_sku_a", "sku-p1").await.as_deref(),
        Some("sku-p1")
    );
    assert_eq!(resolve("ch_sku_a", "sku-p2").await, None);

    store
        .put_sku_mapping(&map("z-3", "sku-p3"))
        .await
        .expect("map");
    store
        .put_sku_mapping(&map("b-3", "sku-p3"))
        .await
        .expect("map");
    let codes: Vec<String> = ["sku-p3", "sku-p1", "sku-p2", "sku-unknown"]
        .map(str::to_owned)
        .to_vec();
    let skus = store.skus_for("ch_sku_a", &codes).await.expect("skus_for");
    assert_eq!(skus, vec!["b-3", "sku-p1", "A-1", "sku-unknown"]);
    let skus = store.skus_for("ch_sku_b", &codes).await.expect("skus_for");
    assert_eq!(skus, codes);
    assert!(
        store
            .skus_for("ch_sku_a", &[])
            .await
            .expect("skus_for")
            .is_empty()
    );
}
