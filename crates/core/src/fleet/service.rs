//! Fleet operations: the list of every template's state, the overview, the charts' series.
//! Each reads the whole fleet in a fixed number of queries, however many templates there are.

use std::collections::HashMap;

use chrono::Utc;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::fleet::{rank, FleetRow, FleetState, HealthSeries, Overview, SeriesMark};
use crate::health::outcome_rows as outcomes;
use crate::health::report::{points, SERIES_BUCKETS};
use crate::launch::Kept;
use crate::store;

/// Fleet operations: over the shared context and this process's kept sessions.
#[derive(Debug, Clone, Copy)]
pub struct Service<'a> {
    ctx: &'a Context,
    kept: &'a Kept,
}

impl std::ops::Deref for Service<'_> {
    type Target = Context;

    fn deref(&self) -> &Context {
        self.ctx
    }
}

/// The most marks a chart gets (the newest are kept).
const MAX_MARKS: i64 = 500;

impl<'a> Service<'a> {
    /// The service over the shared context and this process's kept sessions.
    pub(crate) fn new(ctx: &'a Context, kept: &'a Kept) -> Self {
        Self { ctx, kept }
    }

    /// Every template's row: state, egress and pin, clock, risk window, five minutes of health,
    /// last launch.
    pub async fn rows(&self) -> Result<Vec<FleetRow>> {
        let running = crate::launch::Service::new(self.ctx, self.kept)
            .list_kept()
            .await?;
        let templates = self.list_listings().await?;
        let since = store::timestamp(Utc::now() - chrono::Duration::minutes(5));
        let mut conn = self.store.pool().acquire().await?;
        let checks = store::egress::latest_two_all(&mut conn).await?;
        let recent = outcomes::recent_per_template(&mut conn, &since).await?;
        let started = store::events::last_started(&mut conn).await?;
        drop(conn);
        // In a team, whose lease holds which account (the store's view; none when offline).
        let team = crate::team::service::Service::new(self.ctx);
        let elsewhere: HashMap<String, String> = match team.status_if_any().await {
            Ok(Some(team)) => team
                .running
                .into_iter()
                .filter(|r| !r.here)
                .map(|r| (r.template_id, format!("{} on {}", r.member, r.machine_id)))
                .collect(),
            _ => HashMap::new(),
        };
        let mut last_ip: HashMap<&str, &str> = HashMap::new();
        for c in &checks {
            // Newest first per template: the first seen is the last check.
            last_ip
                .entry(c.template_id.as_str())
                .or_insert(c.ip.as_str());
        }
        let recent: HashMap<&str, (i64, i64, i64, i64)> = recent
            .iter()
            .map(|(id, r, f, c, u)| (id.as_str(), (*r, *f, *c, *u)))
            .collect();
        let started: HashMap<&str, &str> = started
            .iter()
            .map(|(id, at)| (id.as_str(), at.as_str()))
            .collect();
        let mut sessions: HashMap<String, crate::launch::SessionInfo> = running
            .into_iter()
            .map(|s| (s.template_id.clone(), s))
            .collect();
        let launching = self.kept.launching();
        Ok(templates
            .into_iter()
            .map(|t| {
                let session = sessions.remove(&t.id);
                let held_by = elsewhere.get(&t.id).cloned();
                let state = match (&session, &held_by) {
                    (Some(_), _) => FleetState::Running,
                    _ if launching.contains(&t.id) => FleetState::Starting,
                    (None, Some(_)) => FleetState::Elsewhere,
                    (None, None) => FleetState::Stopped,
                };
                let egress_ip = session
                    .as_ref()
                    .and_then(|s| s.egress_ip.clone())
                    .or_else(|| last_ip.get(t.id.as_str()).map(|ip| (*ip).to_owned()));
                let pin_mismatch = matches!(
                    (&t.pinned_egress_ip, &egress_ip),
                    (Some(pin), Some(ip)) if pin != ip
                );
                let (requests, failures, connection, unauthorized) =
                    recent.get(t.id.as_str()).copied().unwrap_or_default();
                FleetRow {
                    state,
                    held_by,
                    egress_ip,
                    pin_mismatch,
                    clock_offset_ms: session.as_ref().and_then(|s| s.clock_offset_ms),
                    risk: session.as_ref().map(|s| s.risk.clone()).unwrap_or_default(),
                    requests_5m: requests,
                    failures_5m: failures,
                    connection_failures_5m: connection,
                    unauthorized_5m: unauthorized,
                    health: rank::badge(requests, failures, connection, unauthorized),
                    // The recorder writes the start event in its next batch: a session
                    // launched a moment ago is known by its own start time.
                    last_launched: started
                        .get(t.id.as_str())
                        .map(|at| (*at).to_owned())
                        .into_iter()
                        .chain(session.as_ref().map(|s| s.since.clone()))
                        .max(),
                    session,
                    pinned_egress_ip: t.pinned_egress_ip,
                    template_id: t.id,
                    name: t.name,
                    account: t.account,
                    exit: t.exit,
                    tags: t.tags,
                }
            })
            .collect())
    }

    /// The overview of the given rows: sessions in trouble ranked, exits judged.
    pub fn overview(&self, rows: &[FleetRow]) -> Overview {
        let exits = rank::exits(rows);
        Overview {
            generated_at: store::timestamp(Utc::now()),
            trouble: rank::trouble(rows, &exits),
            exits,
            running: rows
                .iter()
                .filter(|r| r.state == FleetState::Running)
                .count() as i64,
            risk_open: rows.iter().filter(|r| r.risk.open).count() as i64,
        }
    }

    /// Requests and failures per stage over `window` (`5m`, `1h`, `24h`), of one template or
    /// of all, with egress changes and failed refreshes marked.
    pub async fn series(&self, name: Option<&str>, window: &str) -> Result<HealthSeries> {
        let span = crate::fleet::window(window).ok_or_else(|| Error::InvalidText {
            field: "window",
            value: window.to_owned(),
            reason: "not one of 5m, 1h, 24h",
        })?;
        let template = match name {
            Some(n) => Some(self.template(n).await?),
            None => None,
        };
        let names: HashMap<String, String> = match &template {
            Some(t) => HashMap::from([(t.id.clone(), t.name.clone())]),
            None => self
                .list_listings()
                .await?
                .into_iter()
                .map(|t| (t.id, t.name))
                .collect(),
        };
        let now = Utc::now();
        let from = now - span;
        let bucket = (span.num_seconds() / SERIES_BUCKETS).max(1);
        let since = store::timestamp(from);
        let mut conn = self.store.pool().acquire().await?;
        let id = template.as_ref().map(|t| t.id.as_str());
        let rows = match id {
            Some(id) => outcomes::per_bucket(&mut conn, id, &since, bucket).await?,
            None => outcomes::per_bucket_all(&mut conn, &since, bucket).await?,
        };
        let marks = store::events::marks(&mut conn, id, &since, MAX_MARKS).await?;
        Ok(HealthSeries {
            window: window.to_owned(),
            from: since,
            to: store::timestamp(now),
            bucket_secs: bucket,
            points: points(rows),
            marks: marks
                .into_iter()
                .map(|e| {
                    let d = &e.detail;
                    let text = |k: &str| d.get(k).and_then(|v| v.as_str()).unwrap_or("?");
                    let (kind, detail) = if e.kind == "egress_changed" {
                        (
                            "egress_change",
                            format!("egress {} → {}", text("old"), text("new")),
                        )
                    } else {
                        let status = d.get("status").and_then(|v| v.as_u64());
                        let why = status
                            .map(|s| s.to_string())
                            .unwrap_or_else(|| text("error").to_owned());
                        ("refresh_failed", format!("refresh failed ({why})"))
                    };
                    SeriesMark {
                        template: names.get(&e.template_id).cloned().unwrap_or(e.template_id),
                        at: e.at,
                        kind: kind.to_owned(),
                        detail,
                    }
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::events::{FailureStage, SessionEvent, SessionRecord};
    use crate::health::RequestRecord;
    use crate::{Holdfast, Home, TemplateDraft};

    fn request(i: usize, stage: Option<FailureStage>, status: Option<u16>) -> RequestRecord {
        RequestRecord::sample(chrono::Utc::now(), i, stage, status)
    }

    #[tokio::test]
    async fn rows_count_five_minutes_of_failures_per_template_and_series_mark_egress_changes() {
        let dir = tempfile::tempdir().unwrap();
        let hf = Holdfast::open(Home::at(dir.path())).await.unwrap();
        for name in ["quiet", "noisy"] {
            hf.templates()
                .add(TemplateDraft {
                    name: name.into(),
                    exit: "direct".into(),
                    ..TemplateDraft::default()
                })
                .await
                .unwrap();
        }
        let noisy = hf.templates().get("noisy").await.unwrap();
        let mut conn = hf.ctx.store.pool().acquire().await.unwrap();
        let batch: Vec<_> = (0..10)
            .map(|i| match i {
                0..=5 => request(i, Some(FailureStage::TcpConnect), None),
                6 => request(i, Some(FailureStage::Auth), Some(401)),
                _ => request(i, None, Some(200)),
            })
            .collect();
        crate::health::outcome_rows::insert_batch(&mut conn, &noisy.id, "s1", &batch)
            .await
            .unwrap();
        let changed = SessionRecord {
            template_id: noisy.id.clone(),
            session_id: "s1".into(),
            at: chrono::Utc::now(),
            event: SessionEvent::EgressChanged {
                old: "127.0.0.2".into(),
                new: "127.0.0.3".into(),
            },
        };
        crate::store::events::insert_batch(&mut conn, &[changed])
            .await
            .unwrap();
        drop(conn);

        let rows = hf.fleet().rows().await.unwrap();
        let by = |n: &str| rows.iter().find(|r| r.name == n).unwrap();
        let n = by("noisy");
        assert_eq!(
            (
                n.requests_5m,
                n.failures_5m,
                n.connection_failures_5m,
                n.unauthorized_5m
            ),
            (10, 7, 6, 1),
            "one query per fleet counts each template's own requests"
        );
        assert_eq!(n.health, crate::fleet::HealthBadge::Bad);
        assert_eq!(by("quiet").health, crate::fleet::HealthBadge::Idle);
        assert_eq!(by("quiet").state, crate::fleet::FleetState::Stopped);

        let all = hf.fleet().series(None, "1h").await.unwrap();
        assert_eq!(all.points.iter().map(|p| p.requests).sum::<i64>(), 10);
        assert_eq!(all.marks.len(), 1);
        assert_eq!(all.marks[0].template, "noisy");
        assert_eq!(all.marks[0].detail, "egress 127.0.0.2 → 127.0.0.3");
        let quiet = hf.fleet().series(Some("quiet"), "5m").await.unwrap();
        assert!(
            quiet.points.is_empty() && quiet.marks.is_empty(),
            "per template: {quiet:?}"
        );
        assert!(
            hf.fleet().series(None, "2d").await.is_err(),
            "only 5m, 1h, 24h"
        );
    }
}
