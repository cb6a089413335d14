//! Channel and token scenarios.

use super::fixtures::at;
use crate::{Channel, Error, Role, Store, TokenRecord};

/// Channels round-trip every field and refuse a taken id; tokens are found
/// by hash until revoked, refuse a taken hash, and decide `has_admin_token`.
/// Expects a store with no admin token yet.
pub async fn tokens_and_channels(store: &dyn Store) {
    let t = |ms| at(2007, ms);
    let shop = Channel {
        id: "ch_tc_shop".to_owned(),
        name: "Shop".to_owned(),
        webhook_url: Some("https://shop.example/hooks".to_owned()),
        webhook_secret: "whsec_abc".to_owned(),
        allowed_ips: vec!["10.0.0.0/8".to_owned(), "2001:db8::/32".to_owned()],
        rate_limit_per_second: Some(25),
        webhook_disabled: false,
        stock_rule: Default::default(),
        created_at: t(1),
        updated_at: t(1),
    };
    let bare = Channel {
        id: "ch_tc_bare".to_owned(),
        name: "Bare".to_owned(),
        webhook_url: None,
        webhook_secret: "whsec_def".to_owned(),
        allowed_ips: vec![],
        rate_limit_per_second: None,
        webhook_disabled: true,
        stock_rule: Default::default(),
        created_at: t(2),
        updated_at: t(2),
    };
    store.insert_channel(&shop).await.expect("insert");
    store.insert_channel(&bare).await.expect("insert");
    let taken = store.insert_channel(&shop).await;
    assert!(
        matches!(taken, Err(Error::Conflict(_))),
        "taken id: {taken:?}"
    );
    assert_eq!(
        store.get_channel("ch_tc_shop").await.expect("get"),
        Some(shop.clone())
    );
    assert_eq!(store.get_channel("ch_tc_none").await.expect("get"), None);

    let mut changed = shop.clone();
    changed.name = "Shop 2".to_owned();
    changed.webhook_url = None;
    changed.allowed_ips = vec!["192.168.1.7/32".to_owned()];
    changed.rate_limit_per_second = Some(u32::MAX);
    changed.webhook_disabled = true;
    changed.updated_at = t(3);
    store.update_channel(&changed).await.expect("update");
    assert_eq!(
        store.get_channel("ch_tc_shop").await.expect("get"),
        Some(changed.clone())
    );
    let listed: Vec<Channel> = store
        .list_channels()
        .await
        .expect("list")
        .into_iter()
        .filter(|c| c.id.starts_with("ch_tc_"))
        .collect();
    assert_eq!(listed, vec![bare, changed], "channels by id");

    assert!(!store.has_admin_token().await.expect("has admin"));
    let token = |id: &str, role, hash: &[u8], channel: Option<&str>| TokenRecord {
        id: id.to_owned(),
        name: format!("token {id}"),
        role,
        channel_id: channel.map(str::to_owned),
        token_hash: hash.to_vec(),
        created_at: t(10),
    };
    let staff = token("tok_tc_staff", Role::Staff, &[1; 32], None);
    let shop_token = token("tok_tc_shop", Role::Channel, &[2; 32], Some("ch_tc_shop"));
    store.insert_token(&staff).await.expect("insert");
    store.insert_token(&shop_token).await.expect("insert");
    assert!(
        !store.has_admin_token().await.expect("has admin"),
        "staff is not admin"
    );
    let same_hash = store
        .insert_token(&token("tok_tc_copy", Role::Admin, &[1; 32], None))
        .await;
    assert!(
        matches!(same_hash, Err(Error::Conflict(_))),
        "taken hash: {same_hash:?}"
    );
    assert!(
        !store.has_admin_token().await.expect("has admin"),
        "refused token not stored"
    );

    let admin = token("tok_tc_admin", Role::Admin, &[3; 32], None);
    store.insert_token(&admin).await.expect("insert");
    assert!(store.has_admin_token().await.expect("has admin"));
    assert_eq!(
        store.token_by_hash(&[2; 32]).await.expect("by hash"),
        Some(shop_token)
    );
    assert_eq!(
        store.token_by_hash(&[3; 32]).await.expect("by hash"),
        Some(admin)
    );
    assert_eq!(store.token_by_hash(&[9; 32]).await.expect("by hash"), None);

    assert!(store.revoke_token("tok_tc_admin").await.expect("revoke"));
    assert!(
        !store.revoke_token("tok_tc_admin").await.expect("revoke"),
        "already revoked"
    );
    assert!(!store.revoke_token("tok_tc_none").await.expect("revoke"));
    assert_eq!(store.token_by_hash(&[3; 32]).await.expect("by hash"), None);
    assert!(!store.has_admin_token().await.expect("has admin"));
    assert_eq!(
        store.token_by_hash(&[1; 32]).await.expect("by hash"),
        Some(staff)
    );
}
