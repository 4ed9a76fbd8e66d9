//! Judging the fleet: a row's health badge, the sessions in trouble ranked, and each exit
//! judged across its accounts (pure functions over the rows, so they are tested without I/O).

use std::collections::BTreeMap;

use super::{ExitOverview, ExitVerdict, FleetRow, FleetState, HealthBadge, Trouble};

/// Connection-layer failures in five minutes that make a row bad on their own.
const BAD_CONNECTION_FAILURES: i64 = 5;

/// The badge of five minutes of requests.
pub fn badge(requests: i64, failures: i64, connection: i64, unauthorized: i64) -> HealthBadge {
    if requests == 0 {
        HealthBadge::Idle
    } else if connection >= BAD_CONNECTION_FAILURES || failures * 2 > requests {
        HealthBadge::Bad
    } else if failures > 0 || unauthorized > 0 {
        HealthBadge::Warn
    } else {
        HealthBadge::Ok
    }
}

/// The rows in trouble now, worst first: an open risk window weighs most, then connection
/// failures, 401s and other failures of the last five minutes, and an egress off its pin.
pub fn trouble(rows: &[FleetRow], exits: &[ExitOverview]) -> Vec<Trouble> {
    let exit_problem: BTreeMap<&str, &ExitOverview> = exits
        .iter()
        .filter(|e| e.verdict == ExitVerdict::Exit)
        .map(|e| (e.exit.as_str(), e))
        .collect();
    let mut out: Vec<Trouble> = rows
        .iter()
        .filter_map(|r| {
            let mut score = 0;
            let mut reasons = Vec::new();
            if r.risk.open {
                score += 1_000 * r.risk.reasons.len() as i64;
                reasons.extend(r.risk.reasons.iter().map(|x| format!("risk: {}", x.detail)));
            }
            if r.connection_failures_5m > 0 {
                score += 20 * r.connection_failures_5m;
                reasons.push(format!(
                    "{} connection failures in 5 min",
                    r.connection_failures_5m
                ));
            }
            if r.unauthorized_5m > 0 {
                score += 10 * r.unauthorized_5m;
                reasons.push(format!("{} × 401 in 5 min", r.unauthorized_5m));
            }
            let other = r.failures_5m - r.connection_failures_5m;
            if other > 0 {
                score += 5 * other;
                reasons.push(format!("{other} other failed requests in 5 min"));
            }
            if r.pin_mismatch && r.state == FleetState::Running {
                score += 500;
                reasons.push(format!(
                    "egress {} is not the pinned {}",
                    r.egress_ip.as_deref().unwrap_or("?"),
                    r.pinned_egress_ip.as_deref().unwrap_or("?")
                ));
            }
            if score == 0 {
                return None;
            }
            if let Some(e) = exit_problem.get(r.exit.as_str()) {
                reasons.push(format!("its exit fails for {} accounts", e.failing.len()));
            }
            Some(Trouble {
                template: r.name.clone(),
                template_id: r.template_id.clone(),
                score,
                reasons,
            })
        })
        .collect();
    out.sort_by(|a, b| b.score.cmp(&a.score).then(a.template.cmp(&b.template)));
    out
}

/// Each exit across the accounts that use it: failing for several accounts at the connection
/// layer is the exit's problem, failing for one account alone is that account's.
pub fn exits(rows: &[FleetRow]) -> Vec<ExitOverview> {
    let mut by_exit: BTreeMap<&str, Vec<&FleetRow>> = BTreeMap::new();
    for r in rows {
        by_exit.entry(r.exit.as_str()).or_default().push(r);
    }
    let mut out: Vec<ExitOverview> = by_exit
        .into_iter()
        .map(|(exit, rs)| {
            let failing: Vec<String> = rs
                .iter()
                .filter(|r| r.failures_5m > 0)
                .map(|r| r.name.clone())
                .collect();
            let connection_failing = rs.iter().filter(|r| r.connection_failures_5m > 0).count();
            let verdict = if connection_failing >= 2 {
                ExitVerdict::Exit
            } else if !failing.is_empty() {
                ExitVerdict::Account
            } else {
                ExitVerdict::Ok
            };
            let summary = match verdict {
                ExitVerdict::Exit => format!(
                    "{connection_failing} of {} accounts fail to connect through this exit: \
                     an exit problem, not an account problem",
                    rs.len()
                ),
                ExitVerdict::Account if failing.len() == 1 => format!(
                    "only {} fails through this exit: look at that account",
                    failing[0]
                ),
                ExitVerdict::Account => format!(
                    "{} accounts have failed requests, none at the connection layer on more \
                     than one: look at the accounts",
                    failing.len()
                ),
                ExitVerdict::Ok => "no failures in 5 min".to_owned(),
            };
            ExitOverview {
                exit: exit.to_owned(),
                accounts: rs.len() as i64,
                running: rs.iter().filter(|r| r.state == FleetState::Running).count() as i64,
                requests_5m: rs.iter().map(|r| r.requests_5m).sum(),
                failures_5m: rs.iter().map(|r| r.failures_5m).sum(),
                connection_failures_5m: rs.iter().map(|r| r.connection_failures_5m).sum(),
                failing,
                verdict,
                summary,
            }
        })
        .collect();
    let weight = |v: ExitVerdict| match v {
        ExitVerdict::Exit => 0,
        ExitVerdict::Account => 1,
        ExitVerdict::Ok => 2,
    };
    out.sort_by(|a, b| {
        weight(a.verdict)
            .cmp(&weight(b.verdict))
            .then(b.failures_5m.cmp(&a.failures_5m))
            .then(a.exit.cmp(&b.exit))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::RiskState;

    fn row(name: &str, exit: &str, failures: i64, connection: i64) -> FleetRow {
        FleetRow {
            template_id: name.to_owned(),
            name: name.to_owned(),
            account: String::new(),
            exit: exit.to_owned(),
            tags: vec![],
            state: FleetState::Running,
            held_by: None,
            session: None,
            egress_ip: None,
            pinned_egress_ip: None,
            pin_mismatch: false,
            clock_offset_ms: None,
            risk: RiskState::default(),
            requests_5m: 100,
            failures_5m: failures,
            connection_failures_5m: connection,
            unauthorized_5m: 0,
            health: badge(100, failures, connection, 0),
            last_launched: None,
        }
    }

    #[test]
    fn the_same_exit_failing_for_three_accounts_is_called_an_exit_problem() {
        let rows = vec![
            row("a", "http://x:1", 4, 4),
            row("b", "http://x:1", 3, 3),
            row("c", "http://x:1", 2, 2),
            row("d", "http://y:1", 2, 0),
            row("e", "http://z:1", 0, 0),
        ];
        let e = exits(&rows);
        assert_eq!(e[0].exit, "http://x:1", "the failing exit comes first");
        assert_eq!(e[0].verdict, ExitVerdict::Exit);
        assert!(e[0].summary.contains("an exit problem"), "{}", e[0].summary);
        assert_eq!(
            e[1].verdict,
            ExitVerdict::Account,
            "one account alone: {e:?}"
        );
        assert_eq!(e[2].verdict, ExitVerdict::Ok);
        let t = trouble(&rows, &e);
        assert_eq!(
            t[0].template, "a",
            "the most connection failures rank first: {t:?}"
        );
        assert!(t[0].reasons.iter().any(|r| r.contains("exit fails for 3")));
        assert!(
            t.iter().all(|x| x.template != "e"),
            "a healthy row is no trouble"
        );
    }

    #[test]
    fn an_open_risk_window_outranks_any_failure_count() {
        let mut quiet = row("quiet", "direct", 0, 0);
        quiet.risk = RiskState {
            open: true,
            reasons: vec![crate::guard::RiskReason {
                kind: crate::guard::RiskKind::ClockDrift,
                since: chrono::Utc::now(),
                detail: "clock 30 s off".to_owned(),
            }],
        };
        let noisy = row("noisy", "direct", 40, 0);
        let t = trouble(&[noisy, quiet], &[]);
        assert_eq!(t[0].template, "quiet");
        assert_eq!(t[0].reasons, vec!["risk: clock 30 s off".to_owned()]);
    }

    #[test]
    fn badges_follow_the_failures() {
        assert_eq!(badge(0, 0, 0, 0), HealthBadge::Idle);
        assert_eq!(badge(10, 0, 0, 0), HealthBadge::Ok);
        assert_eq!(badge(10, 0, 0, 1), HealthBadge::Warn);
        assert_eq!(badge(10, 6, 0, 0), HealthBadge::Bad);
        assert_eq!(badge(100, 5, 5, 0), HealthBadge::Bad);
    }
}
