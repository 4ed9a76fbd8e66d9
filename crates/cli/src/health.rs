//! `holdfast health NAME [--since D] [--json]`.

use anyhow::Result;
use holdfast_core::health::report::{HealthReport, HealthWindow};
use holdfast_core::Holdfast;

use super::exit::parse_duration;
use super::output;

/// Prints the health report of a template.
pub async fn run(hf: &Holdfast, name: &str, since: Option<&str>, as_json: bool) -> Result<()> {
    let since = match since {
        Some(s) => Some((s.trim().to_owned(), parse_duration(s)?)),
        None => None,
    };
    let report = hf.health().report(name, since).await?;
    if as_json {
        output::json(&report)?;
    } else {
        print_text(&report);
    }
    Ok(())
}

fn pct(v: Option<f64>) -> String {
    v.map_or("–".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

fn ms(v: Option<f64>) -> String {
    v.map_or("–".to_owned(), |m| format!("{m:.0} ms"))
}

fn nonzero<V: PartialEq + Default + std::fmt::Display>(
    m: &std::collections::BTreeMap<String, V>,
) -> String {
    let parts: Vec<String> = m
        .iter()
        .filter(|(_, v)| **v != V::default())
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    if parts.is_empty() {
        "none".to_owned()
    } else {
        parts.join(", ")
    }
}

fn print_window(w: &HealthWindow) {
    let c = &w.connection;
    let s = &w.session;
    println!("last {} (since {})", w.label, w.since);
    println!(
        "  connection  dials {} ({} ok), handshake failures {}, reconnects {:.1}/min, idle reclaims {}, connect p95 {}, first byte p95/p99 {}/{}",
        c.dials,
        c.dial_ok,
        pct(c.handshake_failure_rate),
        c.reconnects_per_min,
        c.idle_reclaims,
        ms(c.connect_ms.p95),
        ms(c.first_byte_ms.p95),
        ms(c.first_byte_ms.p99),
    );
    println!("              relay failures: {}", nonzero(&c.failures));
    println!(
        "  session     requests {}, failed {}, 401 {} ({}), 403 {}, login redirects {}, verifications {}",
        s.requests,
        s.failed,
        s.unauthorized,
        pct(s.unauthorized_ratio),
        s.forbidden,
        s.login_redirects,
        s.verifications,
    );
    println!(
        "              refresh {} ok of {} ({}), p95 {}; first byte p95/p99 {}/{}",
        s.refresh_ok,
        s.refreshes,
        pct(s.refresh_success_rate),
        ms(s.refresh_latency_p95_ms),
        ms(s.first_byte_ms.p95),
        ms(s.first_byte_ms.p99),
    );
    println!("              failures by stage: {}", nonzero(&s.failures));
}

fn print_text(r: &HealthReport) {
    println!("health of {} at {}", r.template, r.generated_at);
    for w in &r.windows {
        print_window(w);
    }
    if !r.exits.is_empty() {
        println!("per exit");
        for e in &r.exits {
            println!(
                "  {} egress {}: {} requests, failures: {}",
                e.exit_url,
                e.egress_ip.as_deref().unwrap_or("?"),
                e.requests,
                nonzero(&e.failures)
            );
        }
    }
    if !r.failures.is_empty() {
        println!("newest failures");
        for f in r.failures.iter().take(10) {
            let what = f
                .error
                .clone()
                .or_else(|| f.status.map(|s| format!("HTTP {s}")))
                .unwrap_or_default();
            let relay = match (&f.relay_stage, &f.relay_reason) {
                (Some(st), Some(why)) => format!(" [relay {st}: {why}]"),
                (Some(st), None) => format!(" [relay {st}]"),
                _ => String::new(),
            };
            let token = match (f.since_refresh_ok_ms, f.since_refresh_fail_ms) {
                (_, Some(fail)) => format!(", refresh failed {} s before", fail / 1000),
                (Some(ok), None) => format!(", refreshed {} s before", ok / 1000),
                _ => String::new(),
            };
            println!(
                "  {} {} {} {} {what}{relay} — exit {} egress {}{}{token}",
                f.at,
                f.stage,
                f.method,
                f.url,
                f.exit_url,
                f.egress_ip.as_deref().unwrap_or("?"),
                if f.relay_reconnected {
                    ", after relay failures"
                } else {
                    ""
                },
            );
        }
    }
    if !r.timeline.is_empty() {
        println!("timeline");
        for t in &r.timeline {
            let count = if t.count > 1 {
                format!(" ×{}", t.count)
            } else {
                String::new()
            };
            let stage = t
                .stage
                .as_deref()
                .map(|s| format!(" [{s}]"))
                .unwrap_or_default();
            println!("  {} {}{stage}{count} {}", t.at, t.kind, t.detail);
        }
    }
}

/// Prints the risk window of a template.
pub async fn risk(hf: &Holdfast, name: &str, as_json: bool) -> Result<()> {
    let state = hf.guard().risk(name).await?;
    if as_json {
        output::json(&state)?;
    } else if state.open {
        println!("{name}: risk window OPEN");
        let now = chrono::Utc::now();
        for r in &state.reasons {
            println!(
                "  {} since {} ({}): {}",
                r.kind.as_str(),
                r.since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                holdfast_core::guard::risk::ago(now - r.since),
                r.detail
            );
        }
    } else {
        println!("{name}: no risk window");
    }
    Ok(())
}

/// `holdfast audit`: the guard's holds and decisions, newest first.
pub async fn audit(hf: &Holdfast, name: Option<&str>, limit: i64, as_json: bool) -> Result<()> {
    let list = hf.guard().audit(name, limit).await?;
    if as_json {
        output::json(&list)?;
        return Ok(());
    }
    if list.is_empty() {
        println!("no holds");
        return Ok(());
    }
    for h in &list {
        let decided = match (&h.decision, &h.decided_by) {
            (Some(d), Some(by)) => format!("{} by {by}", d.to_uppercase()),
            _ => "NO DECISION (Holdfast stopped while it was held)".to_owned(),
        };
        println!(
            "{} {} {} {} {} — {decided}\n    reasons: {}",
            h.held_at, h.template, h.action, h.method, h.url, h.reasons
        );
    }
    Ok(())
}
