//! Bundles: components stored per bundle, replaced whole, found both ways.

use agusto_schemas::ProductQty;

use crate::Store;

fn part(code: &str, quantity: i64) -> ProductQty {
    ProductQty {
        product_code: code.to_owned(),
        quantity,
    }
}

/// A bundle's components come back as put, are replaced whole, and each
/// component knows the bundles that still name it.
pub async fn bundles_know_their_components_both_ways(store: &dyn Store) {
    let gift = vec![part("bd-cup", 2), part("bd-tea", 1)];
    store.put_bundle("bd-gift", &gift).await.expect("put");
    store
        .put_bundle("bd-duo", &[part("bd-tea", 2)])
        .await
        .expect("put duo");
    let codes = ["bd-gift", "bd-tea", "bd-duo", "bd-gift"].map(str::to_owned);
    let found = store.bundle_components(&codes).await.expect("components");
    assert_eq!(
        found,
        vec![
            ("bd-gift".to_owned(), gift.clone()),
            ("bd-duo".to_owned(), vec![part("bd-tea", 2)])
        ]
    );
    assert_eq!(
        store.bundles_containing("bd-tea").await.expect("of tea"),
        ["bd-duo", "bd-gift"]
    );
    // Replaced: the cup leaves the gift set, a spoon joins.
    let gift = vec![part("bd-spoon", 1), part("bd-tea", 3)];
    store.put_bundle("bd-gift", &gift).await.expect("replace");
    let found = store
        .bundle_components(&["bd-gift".to_owned()])
        .await
        .expect("components");
    assert_eq!(found, vec![("bd-gift".to_owned(), gift)]);
    assert!(
        store
            .bundles_containing("bd-cup")
            .await
            .expect("cup")
            .is_empty()
    );
    assert_eq!(
        store.bundles_containing("bd-spoon").await.expect("spoon"),
        ["bd-gift"]
    );
    // No components: a plain product again.
    store.put_bundle("bd-duo", &[]).await.expect("unbundle");
    assert!(
        store
            .bundle_components(&["bd-duo".to_owned()])
            .await
            .expect("duo")
            .is_empty()
    );
    assert_eq!(
        store.bundles_containing("bd-tea").await.expect("of tea"),
        ["bd-gift"]
    );
}
