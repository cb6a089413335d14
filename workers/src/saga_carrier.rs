//! What a stock writer does for the sagas it is the home of, outside its
//! loop: carries each step's stock command to its participant partition and
//! appends the participant's answer to the home's log (spawned tasks, never
//! awaited by the writer), and keeps the replies of commands that wait for
//! their saga.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use agusto_bus::{Bus, ReplyFn};
use agusto_schemas::{StockCommand, StockReply};

use crate::domain::saga::SagaSend;
use crate::warehouse::StockBus;

/// Carries saga steps over the stock log (without keeping the log open:
/// it closes when its other users are gone, and the writers stop then).
#[derive(Clone)]
pub struct Carrier {
    bus: Weak<dyn Bus<StockCommand, StockReply>>,
    wait: Duration,
}

impl Carrier {
    /// Steps go over `bus`; a participant that does not answer within
    /// `wait` is reported as failed (its step is asked again later).
    pub fn new(bus: &StockBus, wait: Duration) -> Self {
        Carrier {
            bus: Arc::downgrade(bus),
            wait,
        }
    }

    /// Carries `sends` (after the batch that decided them is durable).
    pub fn carry(&self, sends: Vec<SagaSend>) {
        for send in sends {
            let wait = self.wait;
            let Some(bus) = self.bus.upgrade() else {
                tracing::warn!(order_id = %send.order_id, "saga step not carried: the log is closed");
                continue;
            };
            tokio::spawn(async move {
                let asked = tokio::time::timeout(wait, bus.request(send.to, send.command.clone()));
                let reply = match asked.await {
                    Ok(Ok(r)) => Ok(r),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err(format!(
                        "stock partition {} did not answer within {wait:?}",
                        send.to
                    )),
                };
                if reply.is_ok() {
                    crate::fault::saga_crash("answer");
                }
                let answer = send.answer(reply);
                let told = tokio::time::timeout(wait, bus.request(send.home, answer)).await;
                if !matches!(told, Ok(Ok(_))) {
                    tracing::warn!(order_id = %send.order_id, step = send.step, home = send.home,
                        "saga answer not appended; the home asks again");
                }
            });
        }
    }
}

/// Replies of commands waiting for their saga, by order id (with the
/// command, whose outcome is counted when it is known).
#[derive(Default)]
pub struct Parked {
    waiting: HashMap<String, Vec<Waiting>>,
}

/// A parked command and where its reply goes (if anyone waits).
type Waiting = (StockCommand, Option<ReplyFn<StockReply>>);

impl Parked {
    /// Keeps `command`'s reply (if anyone waits) until the saga of `order_id` answers.
    pub fn park(
        &mut self,
        order_id: String,
        command: StockCommand,
        reply: Option<ReplyFn<StockReply>>,
    ) {
        self.waiting
            .entry(order_id)
            .or_default()
            .push((command, reply));
    }

    /// Answers (and counts) every command waiting for `order_id`.
    pub fn answer(&mut self, order_id: &str, reply: &StockReply) {
        for (command, send) in self.waiting.remove(order_id).unwrap_or_default() {
            crate::stock_outcome::count(&command, reply);
            if let Some(send) = send {
                send(reply.clone());
            }
        }
    }

    /// Forgets every waiting reply (the writer lost its partition): the
    /// callers see no reply and answer from the stored order later.
    pub fn clear(&mut self) {
        self.waiting.clear();
    }
}
