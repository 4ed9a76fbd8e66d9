//! Holds: a sensitive request paused in the browser, waiting for a decision. In the app a
//! [`Broker`] passes each hold to the prompt and the operator's answer back; without one (the CLI
//! alone) the `guard.policy` setting decides at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::sync::oneshot;
use ts_rs::TS;

pub use crate::events::{DecidedBy, Decision};

use super::risk::RiskReason;
use crate::error::{Error, Result};

/// What happens to a held request when no one can be asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Cancel it.
    Block,
    /// Let it go and keep the record.
    Allow,
}

/// A hold waiting for the operator, as the prompt shows it.
#[derive(Debug, Clone, PartialEq, Serialize, TS, schemars::JsonSchema)]
#[ts(export)]
pub struct PendingHold {
    /// The audit record's id.
    #[ts(type = "number")]
    #[schemars(with = "i64")]
    pub id: i64,
    pub template: String,
    /// The rule's action, e.g. `password-change`.
    pub action: String,
    pub method: String,
    /// Without query values.
    pub url: String,
    pub reasons: Vec<RiskReason>,
    /// RFC 3339 UTC.
    pub held_at: String,
    /// When no answer means Cancel (RFC 3339 UTC).
    pub deadline: String,
}

/// Told of each new hold (the app raises its window).
pub type HoldNotice = Arc<dyn Fn(&PendingHold) + Send + Sync>;

type Waiting = HashMap<i64, (PendingHold, oneshot::Sender<Decision>)>;

/// Passes holds to whoever can ask the operator, and their answers back.
#[derive(Default)]
pub struct Broker {
    waiting: Mutex<Waiting>,
    /// Set once a prompt is there to ask (the app); `None`: the policy decides.
    notice: Mutex<Option<HoldNotice>>,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker")
            .field("interactive", &self.is_interactive())
            .finish_non_exhaustive()
    }
}

impl Broker {
    /// From now on holds go to a prompt (the app calls this once at start); `notice` is told of
    /// each new one.
    pub fn enable_prompt(&self, notice: HoldNotice) {
        if let Ok(mut n) = self.notice.lock() {
            *n = Some(notice);
        }
    }

    /// Whether someone can be asked.
    pub fn is_interactive(&self) -> bool {
        self.notice.lock().is_ok_and(|n| n.is_some())
    }

    /// Puts a hold up for decision; the answer comes on the receiver.
    pub fn ask(&self, hold: PendingHold) -> oneshot::Receiver<Decision> {
        let (tx, rx) = oneshot::channel();
        let notice = self.notice.lock().ok().and_then(|n| n.clone());
        if let Ok(mut w) = self.waiting.lock() {
            w.insert(hold.id, (hold.clone(), tx));
        }
        if let Some(notice) = notice {
            notice(&hold);
        }
        rx
    }

    /// Takes a hold off the list (timed out, or its browser went).
    pub fn withdraw(&self, id: i64) {
        if let Ok(mut w) = self.waiting.lock() {
            w.remove(&id);
        }
    }

    /// The holds waiting now, oldest first.
    pub fn pending(&self) -> Vec<PendingHold> {
        let mut list: Vec<PendingHold> = self
            .waiting
            .lock()
            .map(|w| w.values().map(|(h, _)| h.clone()).collect())
            .unwrap_or_default();
        list.sort_by_key(|h| h.id);
        list
    }

    /// Answers a hold. Fails with `hold_not_found` if it is no longer waiting (answered, timed
    /// out, or its session ended).
    pub fn decide(&self, id: i64, decision: Decision) -> Result<()> {
        let entry = self.waiting.lock().ok().and_then(|mut w| w.remove(&id));
        match entry.map(|(_, tx)| tx.send(decision)) {
            Some(Ok(())) => Ok(()),
            _ => Err(Error::HoldNotFound { id }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hold(id: i64) -> PendingHold {
        PendingHold {
            id,
            template: "acct".into(),
            action: "payment".into(),
            method: "POST".into(),
            url: "http://127.0.0.1/checkout".into(),
            reasons: Vec::new(),
            held_at: String::new(),
            deadline: String::new(),
        }
    }

    #[tokio::test]
    async fn an_answer_reaches_the_waiting_hold_once() {
        let broker = Broker::default();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        broker.enable_prompt(Arc::new(move |h| s.lock().unwrap().push(h.id)));
        assert!(broker.is_interactive());
        let rx = broker.ask(hold(7));
        assert_eq!(
            *seen.lock().unwrap(),
            vec![7],
            "the prompt is told of the hold"
        );
        assert_eq!(broker.pending().len(), 1);
        broker.decide(7, Decision::Proceed).unwrap();
        assert_eq!(rx.await.unwrap(), Decision::Proceed);
        assert!(broker.pending().is_empty());
        let again = broker.decide(7, Decision::Cancel).unwrap_err();
        assert_eq!(
            again.code(),
            crate::ErrorCode::HoldNotFound,
            "a hold is answered once"
        );
    }

    #[tokio::test]
    async fn a_withdrawn_hold_cannot_be_answered_and_its_waiter_learns_it() {
        let broker = Broker::default();
        let rx = broker.ask(hold(1));
        broker.withdraw(1);
        assert!(broker.decide(1, Decision::Proceed).is_err());
        assert!(
            rx.await.is_err(),
            "the hold's task sees the withdrawal (session ended), not a decision"
        );
    }
}
