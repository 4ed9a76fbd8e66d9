//! `holdfast fleet` and `holdfast overview`: every template at a glance, and who is in trouble.

use anyhow::Result;

use holdfast_core::fleet::{FleetRow, FleetState};
use holdfast_core::Holdfast;

use crate::output;

/// `holdfast fleet [--json]`.
pub async fn list(hf: &Holdfast, as_json: bool) -> Result<()> {
    let rows = hf.fleet().rows().await?;
    if as_json {
        return Ok(output::json(&rows)?);
    }
    println!(
        "{:<24} {:<10} {:<16} {:<8} {:<22} {:<20}  RISK",
        "TEMPLATE", "STATE", "EGRESS", "HEALTH", "5 MIN", "LAST LAUNCHED"
    );
    for r in &rows {
        print_row(r);
    }
    Ok(())
}

fn print_row(r: &FleetRow) {
    let state = match r.state {
        FleetState::Running => "running",
        FleetState::Starting => "starting",
        FleetState::Stopped => "stopped",
        FleetState::Elsewhere => "elsewhere",
    };
    let egress = match (&r.egress_ip, r.pin_mismatch) {
        (Some(ip), true) => format!("{ip}≠pin"),
        (Some(ip), false) => ip.clone(),
        (None, _) => "-".to_owned(),
    };
    println!(
        "{:<24} {:<10} {:<16} {:<8} {:<22} {:<20}  {}",
        r.name,
        state,
        egress,
        format!("{:?}", r.health).to_lowercase(),
        format!("{} fail, {}×401", r.failures_5m, r.unauthorized_5m),
        r.last_launched
            .as_deref()
            .map_or("never", |t| t.get(..19).unwrap_or(t)),
        if r.risk.open {
            format!("OPEN: {}", r.risk.summary(chrono::Utc::now()))
        } else {
            "-".to_owned()
        },
    );
}

/// `holdfast overview [--json]`: the sessions in trouble ranked, each exit judged.
pub async fn overview(hf: &Holdfast, as_json: bool) -> Result<()> {
    let rows = hf.fleet().rows().await?;
    let o = hf.fleet().overview(&rows);
    if as_json {
        return Ok(output::json(&o)?);
    }
    println!("{} running, {} at risk", o.running, o.risk_open);
    if o.trouble.is_empty() {
        println!("no session in trouble");
    }
    for (i, t) in o.trouble.iter().enumerate() {
        println!("{:>3}. {}: {}", i + 1, t.template, t.reasons.join("; "));
    }
    for e in o.exits.iter().filter(|e| e.failures_5m > 0) {
        println!("exit {}: {}", e.exit, e.summary);
    }
    Ok(())
}
