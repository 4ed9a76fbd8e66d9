//! The browser's own egress. An extension or a managed policy on the host can switch the
//! profile's proxy off (their settings override the command line); the relay's own probe would
//! not notice. So a request made *by the browser* to the echo URL must come back with the exit's
//! IP. Made through an open tab's frame with `Network.loadNetworkResource` (the profile's own
//! network stack and proxy settings, no page load: a few ms), else in a hidden tab.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use super::observer::{Page, ReadyPages};
use crate::browser::devtools::{Cdp, CdpError};

/// Most of an echo's answer that is read.
const MAX_BODY: usize = 4096;

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

/// How the browser is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// A page load in a hidden tab (~250 ms while the browser starts). At launch when
    /// extensions may run: it also gives one that switches the proxy at start-up the time to
    /// have done so, so that the check sees it before any start URL opens.
    Tab,
    /// `Network.loadNetworkResource` in an open tab (a few ms): the re-probes, and the launch's
    /// check when no extension can run.
    Quick,
}

/// Asks the browser, over DevTools, to fetch the echo. Cheap to clone.
#[derive(Debug, Clone)]
pub struct BrowserProbe {
    pub(super) cdp: Cdp,
    pub(super) ready: Arc<ReadyPages>,
}

impl BrowserProbe {
    /// The IP the echo at `echo_url` saw for a request of the browser's own: in a hidden tab
    /// (`Probe::Tab`), or through an open tab's frame when there is one (`Probe::Quick`).
    pub async fn egress(&self, echo_url: &str, how: Probe) -> Result<BrowserEgress, CdpError> {
        if how == Probe::Tab {
            return self.in_hidden_tab(echo_url).await;
        }
        if let Some(page) = self.ready.wait(None).await {
            match self.fetch_in(&page, echo_url).await {
                Ok(seen) => return Ok(seen),
                // A tab closed meanwhile, say: the hidden tab still works.
                Err(e) => {
                    tracing::debug!("probe through an open tab failed ({e}); using a hidden tab")
                }
            }
        }
        self.in_hidden_tab(echo_url).await
    }

    /// `Network.loadNetworkResource` for the main frame of `page`.
    async fn fetch_in(&self, page: &Page, echo_url: &str) -> Result<BrowserEgress, CdpError> {
        let session = page.session.as_str();
        let load = |frame: &str| {
            self.cdp.call(
                Some(session),
                "Network.loadNetworkResource",
                json!({
                    "frameId": frame,
                    "url": echo_url,
                    "options": { "disableCache": true, "includeCredentials": false },
                }),
            )
        };
        // A page's main frame has its target's id: no round trip to the page's renderer (which
        // may still be starting) to ask. Should a browser ever differ, its frame tree says.
        let loaded = match load(&page.target).await {
            Ok(v) => v,
            Err(CdpError::Command { .. }) => {
                let tree = self
                    .cdp
                    .call(Some(session), "Page.getFrameTree", json!({}))
                    .await?;
                load(
                    tree["frameTree"]["frame"]["id"]
                        .as_str()
                        .unwrap_or_default(),
                )
                .await?
            }
            Err(e) => return Err(e),
        };
        let resource = &loaded["resource"];
        if resource["success"] != true {
            let why = resource["netErrorName"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("HTTP {}", resource["httpStatusCode"]));
            return Ok(BrowserEgress::Failed(why));
        }
        let Some(stream) = resource["stream"].as_str() else {
            return Ok(BrowserEgress::Failed("no body".to_owned()));
        };
        let mut body = Vec::new();
        while body.len() < MAX_BODY {
            let chunk = self
                .cdp
                .call(Some(session), "IO.read", json!({ "handle": stream }))
                .await?;
            let data = chunk["data"].as_str().unwrap_or_default();
            if chunk["base64Encoded"] == true {
                use base64::Engine as _;
                body.extend(
                    base64::engine::general_purpose::STANDARD
                        .decode(data)
                        .unwrap_or_default(),
                );
            } else {
                body.extend_from_slice(data.as_bytes());
            }
            if chunk["eof"] == true || data.is_empty() {
                break;
            }
        }
        self.cdp
            .fire(Some(session), "IO.close", json!({ "handle": stream }));
        Ok(BrowserEgress::Seen(
            String::from_utf8_lossy(&body).trim().to_owned(),
        ))
    }

    /// Loads `echo_url` in a hidden tab (closed afterwards) and reads the IP it shows.
    async fn in_hidden_tab(&self, echo_url: &str) -> Result<BrowserEgress, CdpError> {
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
