//! Returns (schema V8): all returns of an order in one `order_returns` row
//! (JSON), changed only by LWT on its `rev`, so a request is decided
//! against every earlier return of the order even when requests race.
//! `returns_by_id` and `returns_by_status` are written before the row and
//! may name a return the row does not hold (a refused or interrupted
//! request, a status being changed): readers keep only what the row says.

use std::collections::HashMap;

use super::Inner;
use super::codec::{big, fetch_size, from_json, limit, text, to_json};
use super::statements::Stmt;
use crate::codec::{cursor, cursor_payload};
use crate::{Error, Page, Result, ReturnRecord, ReturnRequest, ReturnStatus, check_return};

/// Cursor tag of `list_returns`: the last return id.
const RETURNS: &str = "r";
/// Attempts at a conditional write that other writers keep beating.
const ATTEMPTS: usize = 16;

impl Inner {
    /// An order's returns and the row's revision (0: no row), read with
    /// serial consistency when `serial` (before a conditional write).
    pub(crate) async fn order_returns(
        &self,
        order_id: &str,
        serial: bool,
    ) -> Result<(Vec<ReturnRecord>, i64)> {
        let key = vec![text(order_id)];
        let row = if serial {
            self.row_serial::<(Option<String>, Option<i64>)>(Stmt::GetOrderReturns, key)
                .await?
        } else {
            self.row::<(Option<String>, Option<i64>)>(Stmt::GetOrderReturns, key)
                .await?
        };
        match row {
            Some((Some(json), Some(rev))) => Ok((from_json(&json, "returns")?, rev)),
            Some(_) => Err(Error::Corrupt(format!("order_returns of {order_id}"))),
            None => Ok((Vec::new(), 0)),
        }
    }

    /// Writes an order's returns if the row is still at `rev`.
    async fn cas_returns(
        &self,
        order_id: &str,
        returns: &[ReturnRecord],
        rev: i64,
    ) -> Result<bool> {
        let json = to_json(returns)?;
        if rev == 0 {
            return self
                .lwt(Stmt::InitOrderReturns, vec![text(order_id), text(&json)])
                .await;
        }
        let values = vec![text(&json), big(rev + 1), text(order_id), big(rev)];
        self.lwt(Stmt::CasOrderReturns, values).await
    }

    /// See [`crate::Store::request_return`].
    pub(crate) async fn request_return(
        &self,
        request: &ReturnRecord,
        dispatched: &[(String, i64)],
    ) -> Result<ReturnRequest> {
        let (id, order) = (request.id.as_str(), request.order_id.as_str());
        self.exec(Stmt::PutReturnId, vec![text(id), text(order)])
            .await?;
        let status = request.status.as_str();
        self.exec(
            Stmt::PutReturnStatus,
            vec![text(status), text(id), text(order)],
        )
        .await?;
        for _ in 0..ATTEMPTS {
            let (mut returns, rev) = self.order_returns(order, true).await?;
            if returns.iter().any(|r| r.id == request.id) {
                return Ok(ReturnRequest::Created);
            }
            let decision = check_return(request, &returns, dispatched);
            if decision != ReturnRequest::Created {
                self.exec(Stmt::DelReturnStatus, vec![text(status), text(id)])
                    .await?;
                self.exec(Stmt::DelReturnId, vec![text(id)]).await?;
                return Ok(decision);
            }
            returns.push(request.clone());
            if self.cas_returns(order, &returns, rev).await? {
                return Ok(ReturnRequest::Created);
            }
        }
        Err(Error::Unavailable(format!(
            "returns of order {order} kept changing ({ATTEMPTS} attempts)"
        )))
    }

    /// See [`crate::Store::get_return`].
    pub(crate) async fn get_return(&self, return_id: &str) -> Result<Option<ReturnRecord>> {
        let Some((Some(order),)) = self
            .row::<(Option<String>,)>(Stmt::GetReturnId, vec![text(return_id)])
            .await?
        else {
            return Ok(None);
        };
        let (returns, _) = self.order_returns(&order, false).await?;
        Ok(returns.into_iter().find(|r| r.id == return_id))
    }

    /// See [`crate::Store::put_received_return`].
    pub(crate) async fn put_received_return(&self, received: &ReturnRecord) -> Result<()> {
        let (id, order) = (received.id.as_str(), received.order_id.as_str());
        let status = received.status.as_str();
        self.exec(
            Stmt::PutReturnStatus,
            vec![text(status), text(id), text(order)],
        )
        .await?;
        for _ in 0..ATTEMPTS {
            let (mut returns, rev) = self.order_returns(order, true).await?;
            let Some(slot) = returns.iter_mut().find(|r| r.id == received.id) else {
                return Err(Error::Conflict(format!("no return {id} of order {order}")));
            };
            if *slot != *received {
                *slot = received.clone();
                if !self.cas_returns(order, &returns, rev).await? {
                    continue;
                }
            }
            for other in [ReturnStatus::Requested, ReturnStatus::Received] {
                if other != received.status {
                    let values = vec![text(other.as_str()), text(id)];
                    self.exec(Stmt::DelReturnStatus, values).await?;
                }
            }
            return Ok(());
        }
        Err(Error::Unavailable(format!(
            "returns of order {order} kept changing ({ATTEMPTS} attempts)"
        )))
    }

    /// See [`crate::Store::list_returns`]: the index entries of each status
    /// asked, merged by id, kept when the order's row confirms them.
    pub(crate) async fn list_returns(
        &self,
        status: Option<ReturnStatus>,
        after: Option<&str>,
        want: usize,
    ) -> Result<Page<ReturnRecord>> {
        let after = after
            .map(|c| cursor_payload(RETURNS, c).map(str::to_owned))
            .transpose()?
            .unwrap_or_default();
        let statuses = match status {
            Some(s) => vec![s],
            None => vec![ReturnStatus::Requested, ReturnStatus::Received],
        };
        let mut entries: Vec<(String, String, ReturnStatus)> = Vec::new();
        for s in statuses {
            let values = vec![text(s.as_str()), text(&after), limit(fetch_size(want))];
            let rows = self.rows::<(String, Option<String>)>(Stmt::ReturnsByStatus, values);
            for (id, order) in rows.await? {
                entries.extend(order.map(|o| (id, o, s)));
            }
        }
        entries.sort();
        entries.dedup_by(|a, b| a.0 == b.0);
        let more = entries.len() > want.max(1);
        entries.truncate(want.max(1));
        let next_cursor = more
            .then(|| entries.last().map(|(id, _, _)| cursor(RETURNS, id)))
            .flatten();
        let mut rows: HashMap<String, Vec<ReturnRecord>> = HashMap::new();
        let mut items = Vec::with_capacity(entries.len());
        for (id, order, s) in entries {
            if !rows.contains_key(&order) {
                let (returns, _) = self.order_returns(&order, false).await?;
                rows.insert(order.clone(), returns);
            }
            items.extend(
                rows[&order]
                    .iter()
                    .find(|r| r.id == id && status.is_none_or(|_| r.status == s))
                    .cloned(),
            );
        }
        Ok(Page { items, next_cursor })
    }
}
