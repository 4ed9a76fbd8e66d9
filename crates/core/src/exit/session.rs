//! A relay running for a template: the relay itself, the recorder of its events and metrics,
//! and the periodic egress re-probe through the same relay. The launch builds on this.

use chrono::Utc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::events::{EventBus, SessionEvent};
use crate::exit::check;
use crate::exit::recorder::Recorder;
use crate::exit::{egress, geo, Relay};
use crate::settings::Settings;
use crate::store::Store;
use crate::template::Template;

/// What `holdfast relay --json` prints once the relay listens.
#[derive(Debug, Clone, serde::Serialize, ts_rs::TS, schemars::JsonSchema)]
#[ts(export)]
pub struct RelayListening {
    /// The template's name.
    pub template: String,
    /// The relay's `host:port`.
    pub relay: String,
    /// What to give a browser as its proxy.
    pub proxy_url: String,
    /// The relay session's id.
    pub session: String,
}

/// A running relay with its recorder and egress prober.
#[derive(Debug)]
pub struct RelaySession {
    session_id: String,
    relay: Relay,
    bus: EventBus,
    recorder: Recorder,
    prober: JoinHandle<()>,
    stop_probe: watch::Sender<bool>,
}

impl RelaySession {
    /// Wires the parts together; the relay is already listening.
    pub(crate) fn start(
        store: Store,
        template: Template,
        relay: Relay,
        bus: EventBus,
        recorder: Recorder,
        settings: &Settings,
        probe_now: bool,
    ) -> Self {
        let (stop_probe, stopped) = watch::channel(false);
        let prober = tokio::spawn(probe_loop(
            store,
            template,
            relay.probe_addr(),
            bus.clone(),
            settings.clone(),
            probe_now,
            stopped,
        ));
        bus.publish(SessionEvent::RelayStarted {
            addr: relay.addr().to_string(),
        });
        Self {
            session_id: bus.session_id().to_owned(),
            relay,
            bus,
            recorder,
            prober,
            stop_probe,
        }
    }

    /// The id under which this session's events and metrics are stored.
    /// What `relay --json` reports for the template named `template`.
    pub fn listening(&self, template: &str) -> RelayListening {
        RelayListening {
            template: template.to_owned(),
            relay: self.relay().addr().to_string(),
            proxy_url: self.relay().proxy_url(),
            session: self.session_id().to_owned(),
        }
    }

    /// The relay session's id.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// The relay (address, metrics).
    pub fn relay(&self) -> &Relay {
        &self.relay
    }

    /// Lets the browser's connections in (the relay of a launch is held until its preflight
    /// passed).
    pub fn open(&self) {
        self.relay.open();
    }

    /// The session's event stream.
    pub fn bus(&self) -> &EventBus {
        &self.bus
    }

    /// Stops the prober and the relay, then flushes the recorder.
    pub async fn stop(self) {
        let _ = self.stop_probe.send(true);
        let _ = self.prober.await;
        self.relay.stop().await;
        self.bus.publish(SessionEvent::RelayStopped);
        self.recorder.stop().await;
    }
}

/// Probes the egress now and then every interval; a change is published as an event (which
/// the recorder writes at once).
async fn probe_loop(
    store: Store,
    template: Template,
    relay: std::net::SocketAddr,
    bus: EventBus,
    settings: Settings,
    probe_now: bool,
    mut stopped: watch::Receiver<bool>,
) {
    let start = if probe_now {
        tokio::time::Instant::now()
    } else {
        tokio::time::Instant::now() + settings.probe_interval()
    };
    let mut tick = tokio::time::interval_at(start, settings.probe_interval());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let urls = settings.echo_urls();
    let geo_urls = settings.geo_urls();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = crate::events::stopped(&mut stopped) => return,
        }
        let checked = async {
            tokio::join!(
                egress::probe(relay, &urls, settings.probe_timeout()),
                geo::lookup(relay, &geo_urls, settings.probe_timeout(), &template.name)
            )
        };
        let (probe, located) = tokio::select! {
            checked = checked => checked,
            _ = crate::events::stopped(&mut stopped) => return,
        };
        let located = located.and_then(Result::ok);
        match probe {
            Ok(p) => {
                let recorded = async {
                    let mut conn = store.pool().acquire().await?;
                    check::record(&mut conn, &template, &p, located.as_ref(), Utc::now()).await
                }
                .await;
                bus.publish(SessionEvent::EgressChecked {
                    ip: p.ip.clone(),
                    via: p.via.clone(),
                });
                match recorded {
                    Ok(r) => r
                        .changes(&template.name)
                        .into_iter()
                        .for_each(|e| bus.publish(e)),
                    Err(e) => tracing::warn!("recording the egress check failed: {e}"),
                }
            }
            Err(e) => bus.publish(SessionEvent::EgressCheckFailed {
                reason: e.to_string(),
            }),
        }
    }
}
