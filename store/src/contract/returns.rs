//! Returns: requests limited by what was dispatched (also when they race),
//! found by id, by order and in the receiving list, received once.

use futures::future::join_all;

use super::fixtures::at;
use crate::{ReturnLine, ReturnRecord, ReturnRequest, ReturnStatus, Store};

fn request(id: &str, order: &str, lines: &[(&str, i64)], ms: i64) -> ReturnRecord {
    ReturnRecord {
        id: id.to_owned(),
        order_id: order.to_owned(),
        channel_id: "ch-rt".into(),
        status: ReturnStatus::Requested,
        lines: lines
            .iter()
            .map(|(code, q)| ReturnLine {
                sku: format!("sku-{code}"),
                product_code: (*code).to_owned(),
                quantity: *q,
                restock: None,
                damaged: None,
            })
            .collect(),
        reason: Some("wrong size".into()),
        created_at: at(2031, ms),
        received_at: None,
    }
}

/// Requests of one order never return more than was dispatched, however
/// they race; returns are read back by id, by order and by status (paged),
/// and receiving one moves it between the lists.
pub async fn returns_are_limited_by_what_was_dispatched(store: &dyn Store) {
    let dispatched = vec![("rt-a".to_owned(), 3), ("rt-b".to_owned(), 1)];
    let first = request("rtn_0001", "ord-rt", &[("rt-a", 1), ("rt-b", 1)], 1);
    assert_eq!(
        store
            .request_return(&first, &dispatched)
            .await
            .expect("first"),
        ReturnRequest::Created
    );
    // The same request again (a retry) is recorded once.
    assert_eq!(
        store
            .request_return(&first, &dispatched)
            .await
            .expect("again"),
        ReturnRequest::Created
    );
    let too_many = request("rtn_0002", "ord-rt", &[("rt-b", 1)], 2);
    assert_eq!(
        store
            .request_return(&too_many, &dispatched)
            .await
            .expect("b"),
        ReturnRequest::Exceeds {
            product_code: "rt-b".into(),
            dispatched: 1,
            returned: 1
        }
    );
    assert_eq!(store.get_return("rtn_0002").await.expect("get"), None);
    // Eight racing requests of one unit: two are left of rt-a.
    let racing: Vec<ReturnRecord> = (0..8)
        .map(|i| request(&format!("rtn_01{i:02}"), "ord-rt", &[("rt-a", 1)], 10 + i))
        .collect();
    let outcomes = join_all(racing.iter().map(|r| store.request_return(r, &dispatched))).await;
    let created = outcomes
        .into_iter()
        .map(|o| o.expect("request"))
        .filter(|o| *o == ReturnRequest::Created)
        .count();
    assert_eq!(created, 2, "rt-a: 3 dispatched, 1 returned before");
    let of_order = store.returns_for_order("ord-rt").await.expect("order");
    assert_eq!(of_order.len(), 3);
    assert_eq!(of_order[0], first);
    let units: i64 = of_order
        .iter()
        .flat_map(|r| &r.lines)
        .filter(|l| l.product_code == "rt-a")
        .map(|l| l.quantity)
        .sum();
    assert_eq!(units, 3);

    // Receiving list, paged by id.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store
            .list_returns(Some(ReturnStatus::Requested), after.as_deref(), 2)
            .await
            .expect("list");
        seen.extend(page.items.into_iter().map(|r| r.id));
        match page.next_cursor {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    let ids: Vec<String> = of_order.iter().map(|r| r.id.clone()).collect();
    assert_eq!(seen, ids);

    let mut received = first.clone();
    received.status = ReturnStatus::Received;
    received.received_at = Some(at(2031, 100));
    for l in &mut received.lines {
        l.restock = Some(l.quantity - 1);
        l.damaged = Some(1);
    }
    store.put_received_return(&received).await.expect("receive");
    store.put_received_return(&received).await.expect("again");
    assert_eq!(
        store.get_return("rtn_0001").await.expect("get"),
        Some(received.clone())
    );
    let requested = store
        .list_returns(Some(ReturnStatus::Requested), None, 10)
        .await
        .expect("requested");
    assert_eq!(requested.items.len(), 2);
    assert!(requested.items.iter().all(|r| r.id != "rtn_0001"));
    let done = store
        .list_returns(Some(ReturnStatus::Received), None, 10)
        .await
        .expect("received");
    assert_eq!(done.items, vec![received]);
    let all = store.list_returns(None, None, 10).await.expect("all");
    assert_eq!(all.items.len(), 3);
    assert!(all.next_cursor.is_none());
}
