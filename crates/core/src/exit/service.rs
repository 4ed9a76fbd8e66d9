//! Exit operations: check and pin the egress, run a recorded relay, read the connection layer's
//! statistics, events and egress history.

use std::sync::Arc;

use chrono::Utc;

use crate::error::{Error, Result};
use crate::events::{self, EventBus};
use crate::exit::check::{self, CheckReport, ExitStatus};
use crate::exit::fit::{self, ExitFit};
use crate::exit::geo;
use crate::exit::recorder::{Pruning, Recorder, RecorderConfig};
use crate::exit::session::RelaySession;
use crate::exit::stats::{self, RelayStats};
use crate::exit::{self, Dialer, Relay};
use crate::settings::Settings;
use crate::template::{Template, TemplatePatch};
use crate::{clock, store};

crate::context::service! {
    /// Exit operations.
}

/// Who starts a relay session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Starter {
    /// `holdfast relay`: open at once, probing the egress at once.
    Relay,
    /// A launch: held until its preflight, which probes the egress itself, has passed.
    Launch,
}

impl Service<'_> {
    /// A relay for a template's exit, not yet recording (for `check` and tests).
    pub async fn relay_for(
        &self,
        template: &Template,
        settings: &Settings,
        bus: Option<EventBus>,
    ) -> Result<Relay> {
        self.relay_with(template, settings, bus, false).await
    }

    /// `relay_for`, held until opened when `held` (see `Relay::start_held`).
    async fn relay_with(
        &self,
        template: &Template,
        settings: &Settings,
        bus: Option<EventBus>,
        held: bool,
    ) -> Result<Relay> {
        let password = if template.exit_has_password {
            self.exit_secret(&template.id).await?
        } else {
            None
        };
        let dialer = Arc::new(Dialer::new(
            template.exit.clone(),
            password,
            settings.relay(),
            bus,
        ));
        let started = if held {
            Relay::start_held(dialer).await
        } else {
            Relay::start(dialer).await
        };
        started.map_err(Error::Relay)
    }

    /// Fetches the egress IP through the template's exit, records it in the egress history (an
    /// IP different from the last seen is stored as an `egress_changed` event) and compares it
    /// with the pin; checks the clock against the SNTP servers at the same time. A failed probe
    /// is a report with `ok: false` and the error, not an `Err`.
    pub async fn check(&self, name: &str) -> Result<CheckReport> {
        let template = self.template(name).await?;
        let settings = self.settings().await?;
        let relay = self.relay_for(&template, &settings, None).await?;
        let clock_config = settings.clock();
        let (egress, clock) = tokio::join!(
            self.egress_report(&template, &relay, &settings, "check"),
            clock::check(&clock_config)
        );
        relay.stop().await;
        let (mut report, _) = egress?;
        report.ok = report.ok && clock.verdict != clock::ClockVerdict::Block;
        report.clock = Some(clock);
        Ok(report)
    }

    /// Probes the egress through `relay` and records it (see `check`), learning at the same
    /// time where the exit is and judging the template against it. The error, if any, comes
    /// back beside the report for callers that refuse on it.
    pub(crate) async fn egress_report(
        &self,
        template: &Template,
        relay: &Relay,
        settings: &Settings,
        session_id: &str,
    ) -> Result<(CheckReport, Option<Error>)> {
        let (echo_urls, geo_urls) = (settings.echo_urls(), settings.geo_urls());
        let (probe, located) = tokio::join!(
            exit::egress::probe(relay.probe_addr(), &echo_urls, settings.probe_timeout()),
            geo::lookup(
                relay.probe_addr(),
                &geo_urls,
                settings.probe_timeout(),
                &template.name
            )
        );
        let relay_failure = relay.dialer().last_failure();
        let now = Utc::now();
        let geo_report = located.as_ref().map(|l| {
            fit::judge(
                &template.timezone,
                &template.locale,
                l.as_ref().map_err(String::as_str),
                now,
            )
        });
        let fits =
            !template.require_consistent || geo_report.as_ref().is_some_and(|g| g.consistent);
        let mut conn = self.store.pool().acquire().await?;
        match probe {
            Ok(p) => {
                let geo = located.as_ref().and_then(|l| l.as_ref().ok());
                let recorded = check::record(&mut conn, template, &p, geo, now).await?;
                let records: Vec<_> = recorded
                    .changes(&template.name)
                    .into_iter()
                    .map(|event| events::SessionRecord {
                        template_id: template.id.clone(),
                        session_id: session_id.to_owned(),
                        at: now,
                        event,
                    })
                    .collect();
                if !records.is_empty() {
                    store::events::insert_batch(&mut conn, &records).await?;
                }
                let status = recorded.status;
                tracing::info!(template = %template.name, ip = %p.ip, changed = status.changed, country = ?status.country, "egress checked");
                Ok((
                    CheckReport {
                        ok: !status.changed && fits,
                        egress: status,
                        clock: None,
                        geo: geo_report,
                        error: None,
                    },
                    None,
                ))
            }
            Err(e) => {
                let e = check::probe_error(e, relay_failure);
                tracing::warn!(template = %template.name, "egress check failed: {e}");
                let history = store::egress::history(&mut conn, &template.id, 2).await?;
                let mut status =
                    check::stored(template, None, history.first().map(|c| c.ip.as_str()));
                status.changed = false;
                Ok((
                    CheckReport {
                        ok: false,
                        egress: status,
                        clock: None,
                        geo: geo_report,
                        error: Some(e.payload()),
                    },
                    Some(e),
                ))
            }
        }
    }

    /// Where the template's exit is now (through the exit) and the timezone and locale that
    /// would fit it: what "match the exit" applies. Nothing is saved.
    pub async fn fit(&self, name: &str) -> Result<ExitFit> {
        let template = self.template(name).await?;
        let settings = self.settings().await?;
        let urls = settings.geo_urls();
        if urls.is_empty() {
            return Err(Error::ExitLocationUnknown {
                detail: "the setting egress.geo_urls is off".to_owned(),
            });
        }
        let relay = self.relay_for(&template, &settings, None).await?;
        let located = geo::locate(relay.addr(), &urls, settings.probe_timeout()).await;
        let relay_failure = relay.dialer().last_failure();
        relay.stop().await;
        // The relay's own failure (the exit refused the tunnel, a wrong password) says more
        // than the HTTP client's "unsuccessful tunnel".
        let geo = located.map_err(|detail| Error::ExitLocationUnknown {
            detail: match relay_failure {
                Some(f) => format!("{detail} (relay: {} at {})", f.reason, f.stage.as_str()),
                None => detail,
            },
        })?;
        let (Some(country), Some(timezone)) = (geo.country.clone(), geo.timezone.clone()) else {
            return Err(Error::ExitLocationUnknown {
                detail: format!(
                    "{} gave {}",
                    geo.source,
                    if geo.country.is_none() {
                        "no country"
                    } else {
                        "no timezone"
                    }
                ),
            });
        };
        let locale = fit::locale_for(&country).ok_or_else(|| Error::ExitLocationUnknown {
            detail: format!("no language is known for the country {country}"),
        })?;
        Ok(ExitFit {
            country,
            timezone,
            locale,
            source: geo.source,
            current_timezone: template.timezone,
            current_locale: template.locale,
        })
    }

    /// Pins a template's egress IP: the given one, or the one `check` sees now.
    pub async fn pin(&self, name: &str, ip: Option<&str>) -> Result<Template> {
        let ip = match ip {
            Some(ip) => ip.to_owned(),
            None => {
                let report = self.check(name).await?;
                match (report.egress.ip, report.error) {
                    (Some(ip), _) => ip,
                    (None, Some(e)) => return Err(Error::EgressProbe { detail: e.message }),
                    (None, None) => {
                        return Err(Error::EgressProbe {
                            detail: "no IP seen".to_owned(),
                        })
                    }
                }
            }
        };
        if ip.trim().is_empty() {
            return Err(Error::InvalidEgressIp { value: ip });
        }
        let patch = TemplatePatch {
            pinned_egress_ip: Some(ip),
            ..TemplatePatch::default()
        };
        crate::template::service::Service::new(self.ctx)
            .edit(name, patch)
            .await
    }

    /// The last seen egress of every template (no network), for lists.
    pub async fn statuses(&self) -> Result<Vec<ExitStatus>> {
        let mut conn = self.store.pool().acquire().await?;
        let checks = store::egress::latest_two_all(&mut conn).await?;
        drop(conn);
        let templates = self.list_templates().await?;
        Ok(templates
            .iter()
            .map(|t| {
                let mine: Vec<_> = checks.iter().filter(|c| c.template_id == t.id).collect();
                ExitStatus {
                    template_id: t.id.clone(),
                    egress: check::stored(
                        t,
                        mine.first().copied(),
                        mine.get(1).map(|c| c.ip.as_str()),
                    ),
                }
            })
            .collect())
    }

    /// Starts a recorded relay for a template: listening on 127.0.0.1, writing its metrics and
    /// events, and re-probing the egress through itself.
    pub async fn start_relay(&self, name: &str) -> Result<RelaySession> {
        let template = self.template(name).await?;
        let settings = self.settings().await?;
        self.start_relay_session(template, &settings, Starter::Relay)
            .await
    }

    /// `start_relay` for a loaded template. For a launch, the relay is held (the browser's
    /// connections wait until `RelaySession::open`) and the first egress probe is left to the
    /// launch's preflight, the next one an interval later.
    pub(crate) async fn start_relay_session(
        &self,
        template: Template,
        settings: &Settings,
        starter: Starter,
    ) -> Result<RelaySession> {
        let session_id = uuid::Uuid::new_v4().to_string();
        let bus = EventBus::new(&template.id, &session_id, 4096);
        let held = starter == Starter::Launch;
        let relay = self
            .relay_with(&template, settings, Some(bus.clone()), held)
            .await?;
        let recorder = Recorder::spawn(
            self.store.clone(),
            &bus,
            relay.metrics().clone(),
            RecorderConfig {
                template_id: template.id.clone(),
                session_id,
                exit_url: template.exit.to_string(),
                flush: settings.metrics_flush(),
                retention: settings.retention(),
                max_bytes: settings.health_max_bytes(),
                pruning: Pruning::default(),
            },
        );
        Ok(RelaySession::start(
            self.store.clone(),
            template,
            relay,
            bus,
            recorder,
            settings,
            !held,
        ))
    }

    /// Connection-layer statistics of a template since `since`, per session and per exit.
    pub async fn relay_stats(
        &self,
        name: &str,
        since: chrono::DateTime<Utc>,
    ) -> Result<RelayStats> {
        let template = self.template(name).await?;
        let since = store::timestamp(since);
        let mut conn = self.store.pool().acquire().await?;
        let rows = exit::metric_rows::of_template(&mut conn, &template.id, &since).await?;
        Ok(stats::summarise(&template.name, &since, &rows))
    }

    /// Stored events of a template since `since`, optionally of one kind.
    pub async fn events(
        &self,
        name: &str,
        kind: Option<&str>,
        since: chrono::DateTime<Utc>,
    ) -> Result<Vec<store::events::StoredEvent>> {
        let template = self.template(name).await?;
        let since = store::timestamp(since);
        let mut conn = self.store.pool().acquire().await?;
        store::events::of_template(&mut conn, &template.id, kind, &since).await
    }

    /// Egress history of a template, newest first.
    pub async fn egress_history(
        &self,
        name: &str,
        limit: i64,
    ) -> Result<Vec<store::egress::EgressCheck>> {
        let template = self.template(name).await?;
        let mut conn = self.store.pool().acquire().await?;
        store::egress::history(&mut conn, &template.id, limit).await
    }
}
