//! Crash and shutdown: acknowledged work survives kill -9, SIGTERM drains,
//! and `agusto ledger verify` catches quantities changed behind its back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::join_all;
use serde_json::{Value, json};

use crate::common::{Server, all_orders, ledger_verify};

#[tokio::test]
async fn kill_9_under_load_loses_no_acknowledged_order_and_applies_none_twice() {
    let s = Server::start("kill9", &[]);
    let products: Vec<String> = (0..8).map(|i| format!("DUR-{i}")).collect();
    for p in &products {
        s.product(p, 100_000).await;
    }
    let (_, token) = s.channel("Durable", json!({})).await;
    let acked: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let workers = (0..12).map(|w| {
        let (s, token, acked, products) = (&s, &token, acked.clone(), &products);
        async move {
            for i in 0.. {
                let product = &products[(w * 7 + i) % products.len()];
                let qty = (i % 3 + 1) as i64;
                // Every third order also takes one unit of the next product:
                // most of those span stock partitions and run as a saga.
                let mut lines = vec![(product.clone(), qty)];
                if i % 3 == 2 {
                    lines.push((products[(w * 7 + i + 1) % products.len()].clone(), 1));
                }
                let stored_lines: Value = lines
                    .iter()
                    .map(|(p, q)| json!({"sku": p, "product_code": p, "quantity": q}))
                    .collect();
                let lines: Vec<Value> = lines
                    .iter()
                    .map(|(p, q)| json!({"sku": p, "quantity": q}))
                    .collect();
                let body = json!({"external_id": format!("k-{w}-{i}"), "lines": lines});
                let sent = s
                    .raw(reqwest::Method::POST, "/api/v1/orders")
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status() == 201 => {
                        let Ok(v) = r.json::<Value>().await else {
                            return;
                        };
                        acked
                            .lock()
                            .unwrap()
                            .push((v["id"].as_str().unwrap().to_owned(), stored_lines));
                    }
                    // Still processing when the wait ended: not acknowledged.
                    Ok(r) if r.status() == 202 => {}
                    Ok(r) => panic!("unexpected status {}", r.status()),
                    Err(_) => return, // the server is gone
                }
            }
        }
    });
    let killer = async {
        while acked.lock().unwrap().len() < 300 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let _ = std::process::Command::new("kill")
            .arg("-9")
            .arg(s.pid().to_string())
            .status();
    };
    tokio::join!(join_all(workers), killer);
    let dir = s.kill9();
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 300);

    let s = Server::start_in(&dir, &[], true);
    let stored = all_orders(&s).await;
    let by_id: HashMap<&str, &Value> = stored
        .iter()
        .map(|o| (o["id"].as_str().unwrap(), o))
        .collect();
    assert_eq!(by_id.len(), stored.len(), "an order appears twice");
    for (id, lines) in &acked {
        let o = by_id
            .get(id.as_str())
            .unwrap_or_else(|| panic!("acknowledged order {id} lost"));
        assert_eq!(o["status"], "reserved");
        assert_eq!(&o["lines"], lines);
    }
    // No hold leaked: reserved = units of the stored orders, once the
    // sagas the kill cut short finished from their stored step (bounded).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let mut held: HashMap<String, i64> = HashMap::new();
        for o in all_orders(&s).await {
            for l in o["lines"].as_array().unwrap() {
                *held
                    .entry(l["product_code"].as_str().unwrap().to_owned())
                    .or_default() += l["quantity"].as_i64().unwrap();
            }
        }
        let mut differ = Vec::new();
        for p in &products {
            let (on_hand, reserved) = s.levels(p).await;
            assert_eq!(on_hand, 100_000);
            if reserved != held.get(p).copied().unwrap_or(0) {
                differ.push((p.clone(), reserved, held.get(p).copied()));
            }
        }
        if differ.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "reserved units differ from the stored orders: {differ:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let dir = s.kill9();
    let (code, out) = ledger_verify(&dir);
    assert_eq!(code, 0, "{out}");
}

#[tokio::test]
async fn sigterm_drains_in_flight_orders_and_exits_cleanly() {
    let s = Server::start("sigterm", &[]);
    s.product("TERM-1", 1000).await;
    let (_, token) = s.channel("Term", json!({})).await;
    let sends = (0..40).map(|i| {
        let body =
            json!({"external_id": format!("t-{i}"), "lines": [{"sku": "TERM-1", "quantity": 1}]});
        s.raw(reqwest::Method::POST, "/api/v1/orders")
            .bearer_auth(&token)
            .json(&body)
            .send()
    });
    let pid = s.pid().to_string();
    let (replies, _) = tokio::join!(join_all(sends), async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(&pid)
            .status();
    });
    let acked: Vec<String> = Vec::new();
    let mut acked = acked;
    for r in replies.into_iter().flatten() {
        if r.status() == 201 {
            acked.push(
                r.json::<Value>().await.unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
    }
    let dir = s.dir.clone();
    assert_eq!(
        s.terminate(),
        Some(0),
        "agusto did not exit cleanly on SIGTERM"
    );
    let s = Server::start_in(&dir, &[], true);
    let stored = all_orders(&s).await;
    for id in &acked {
        assert!(
            stored.iter().any(|o| o["id"] == id.as_str()),
            "acknowledged order {id} lost"
        );
    }
    assert_eq!(s.levels("TERM-1").await, (1000, stored.len() as i64));
}

#[tokio::test]
async fn ledger_verify_passes_on_real_data_and_fails_on_altered_quantities() {
    let s = Server::start("tamper", &[]);
    s.product("TMP-1", 10).await;
    let (_, token) = s.channel("Tamper", json!({})).await;
    assert_eq!(s.order(&token, "tm-1", &[("TMP-1", 4)]).await.status, 201);
    let dir = s.dir.clone();
    assert_eq!(s.terminate(), Some(0));
    let (code, out) = ledger_verify(&dir);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ledger ok"), "{out}");
    let db = rusqlite::Connection::open(dir.join("agusto.db")).unwrap();
    db.execute(
        "UPDATE stock_levels SET on_hand = on_hand + 1 WHERE product_code = 'TMP-1'",
        [],
    )
    .unwrap();
    drop(db);
    let (code, out) = ledger_verify(&dir);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("MISMATCH TMP-1"), "{out}");
}
