//! The browser's own egress. An extension or a managed policy on the host can switch the
//! profile's proxy off (their settings override the command line); the relay's own probe would
//! not notice. So a request made *by the browser* — in a hidden tab, to the echo URL — must come
//! back with the exit's IP.

use std::time::Duration;

use serde_json::{json, Value};

use crate::browser::devtools::{Cdp, CdpError};

/// How long the hidden tab may take to load the echo page.
const LOAD_TIMEOUT: Duration = Duration::from_secs(15);

/// What the browser's own request to the echo saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrowserEgress {
    /// The echo answered with this IP.
    Seen(String),
    /// The request did not complete (the reason as the browser gave it).
    Failed(String),
}

/// Asks the browser, over DevTools, to load an echo page in a hidden tab. Cheap to clone.
#[derive(Debug, Clone)]
pub struct BrowserProbe {
    pub(super) cdp: Cdp,
}

impl BrowserProbe {
    /// Loads `echo_url` in a hidden tab (closed afterwards) and reads the IP it shows.
    pub async fn egress(&self, echo_url: &str) -> Result<BrowserEgress, CdpError> {
        let target = self
            .cdp
            .create_target(json!({ "url": "about:blank", "background": true, "hidden": true }))
            .await?;
        let seen = self.load(&target, echo_url).await;
        self.cdp.fire(
            None,
            "Target.closeTarget",
            json!({ "targetId": target.as_str() }),
        );
        seen
    }

    async fn load(&self, target: &str, echo_url: &str) -> Result<BrowserEgress, CdpError> {
        // A hidden tab is not auto-attached: attach to it here, for this probe only.
        let attached = self
            .cdp
            .call(
                None,
                "Target.attachToTarget",
                json!({ "targetId": target, "flatten": true }),
            )
            .await?;
        let Some(session) = attached.get("sessionId").and_then(Value::as_str) else {
            return Ok(BrowserEgress::Failed(
                "the probe tab could not be attached".to_owned(),
            ));
        };
        let nav = self
            .cdp
            .call(Some(session), "Page.navigate", json!({ "url": echo_url }))
            .await?;
        if let Some(err) = nav.get("errorText").and_then(Value::as_str) {
            return Ok(BrowserEgress::Failed(err.to_owned()));
        }
        let deadline = tokio::time::Instant::now() + LOAD_TIMEOUT;
        loop {
            let r = self
                .cdp
                .call(
                    Some(session),
                    "Runtime.evaluate",
                    json!({
                        "expression": "document.readyState === 'complete' && document.body ? document.body.innerText : null",
                        "returnByValue": true,
                    }),
                )
                .await?;
            if let Some(text) = r
                .get("result")
                .and_then(|v| v.get("value"))
                .and_then(Value::as_str)
            {
                return Ok(BrowserEgress::Seen(text.trim().to_owned()));
            }
            if tokio::time::Instant::now() > deadline {
                return Ok(BrowserEgress::Failed(format!(
                    "the echo page did not load within {LOAD_TIMEOUT:?}"
                )));
            }
            // A page load has no event on this connection that the probe could await without
            // taking the observer's event stream; the loop ends at the first complete read.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
