//! `holdfast check`, `holdfast relay`, `holdfast stats`, `holdfast template pin`: the exit at run time.

use anyhow::{bail, Result};
use chrono::Utc;

use holdfast_core::clock::ClockVerdict;
use holdfast_core::events::{SessionEvent, SessionRecord};
use holdfast_core::exit::fit::GeoVerdict;
use holdfast_core::{CheckReport, Error, Holdfast};

use super::output;

/// `holdfast check NAME`: prints the report; a failed or changed egress is exit status 1.
pub async fn check(hf: &Holdfast, name: &str, as_json: bool) -> Result<()> {
    let report = hf.exits().check(name).await?;
    if as_json {
        output::json(&report)?;
    } else {
        print_report(&report);
    }
    if let Some(e) = &report.error {
        if !as_json {
            eprintln!("error[{}]: {}", e.code.as_str(), e.message);
        }
        return Err(super::Reported.into());
    }
    if !report.ok {
        if !as_json {
            if report.egress.changed {
                eprintln!("egress differs from the pinned IP");
            }
            if let Some(g) = report.geo.as_ref().filter(|g| !g.consistent) {
                eprintln!(
                    "the environment must fit the exit (require-consistent): {}",
                    g.summary()
                );
            }
            if let Some(c) = report
                .clock
                .as_ref()
                .filter(|c| c.verdict == ClockVerdict::Block)
            {
                eprintln!(
                    "clock off by {} ms (limit {} ms)",
                    c.offset_ms.unwrap_or_default(),
                    c.block_ms
                );
            }
        }
        return Err(super::Reported.into());
    }
    Ok(())
}

fn print_report(r: &CheckReport) {
    let e = &r.egress;
    let or_none = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
    println!("exit:       {}", e.exit);
    println!("egress IP:  {}", or_none(&e.ip));
    println!("pinned:     {}", or_none(&e.pinned));
    println!("previous:   {}", or_none(&e.previous));
    println!("changed:    {}", if e.changed { "YES" } else { "no" });
    println!("checked at: {}", or_none(&e.checked_at));
    println!("via:        {}", or_none(&e.via));
    if let Some(old) = &e.previous_country {
        println!(
            "country:    CHANGED {old} -> {}",
            e.country.as_deref().unwrap_or("?")
        );
    }
    if let Some(g) = &r.geo {
        let verdict = match g.verdict {
            GeoVerdict::Consistent => "consistent",
            GeoVerdict::Mismatch => "MISMATCH",
            GeoVerdict::Unknown => "unknown",
        };
        println!(
            "exit is in: {} / {} ({verdict})",
            or_none(&g.country),
            or_none(&g.timezone)
        );
        if let Some(why) = &g.reason {
            println!("  {why}");
        }
        for i in &g.issues {
            println!("  {}", i.message);
        }
    }
    if let Some(c) = &r.clock {
        let offset = c
            .offset_ms
            .map_or_else(|| "unknown".to_owned(), |o| format!("{o:+} ms"));
        println!("clock:      {offset} ({:?})", c.verdict);
        for s in &c.servers {
            match (&s.offset_ms, &s.error) {
                (Some(o), _) => println!(
                    "  {}: {o:+.1} ms, stratum {}",
                    s.server,
                    s.stratum.unwrap_or_default()
                ),
                (None, Some(e)) => println!("  {}: {e}", s.server),
                (None, None) => println!("  {}: no answer", s.server),
            }
        }
    }
}

/// `holdfast template pin NAME [IP]`.
pub async fn pin(hf: &Holdfast, name: &str, ip: Option<&str>) -> Result<()> {
    let t = hf.exits().pin(name, ip).await?;
    println!(
        "pinned egress of {:?} to {}",
        t.name,
        t.pinned_egress_ip.as_deref().unwrap_or("-")
    );
    Ok(())
}

/// `holdfast relay NAME`: runs the relay in the foreground until SIGINT/SIGTERM.
pub async fn relay(hf: &Holdfast, name: &str, as_json: bool) -> Result<()> {
    let session = hf.exits().start_relay(name).await?;
    let mut events = session.bus().subscribe();
    let addr = session.relay().addr();
    if as_json {
        output::json(&session.listening(name))?;
    } else {
        println!(
            "relay for {name:?} listening on {addr}: use --proxy-server={} (Ctrl-C stops)",
            session.relay().proxy_url()
        );
    }
    // A relay runs for hours: what start-up used goes back.
    let small = tokio::spawn(holdfast_core::memory::keep_idle_small());
    let stop = shutdown_signal();
    tokio::pin!(stop);
    // Whatever ends the loop (a signal, or stdout closed by the reader), the session is
    // stopped cleanly: tunnels closed, metrics flushed.
    let ended = loop {
        tokio::select! {
            r = events.recv() => match r {
                Ok(record) => {
                    if let Err(e) = print_event(&record, as_json) {
                        break Err(e);
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => break Ok(()),
            },
            r = &mut stop => break r,
        }
    };
    small.abort();
    session.stop().await;
    ended?;
    if !as_json {
        println!("relay stopped");
    }
    Ok(())
}

fn print_event(record: &SessionRecord, as_json: bool) -> Result<()> {
    if as_json {
        output::json(record)?;
        return Ok(());
    }
    let at = record.at.format("%H:%M:%S");
    match &record.event {
        SessionEvent::DialFailed {
            stage,
            target,
            reason,
        } => println!("{at} {target}: {} failed: {reason}", stage.as_str()),
        SessionEvent::EgressChecked { ip, via } => println!("{at} egress {ip} (via {via})"),
        SessionEvent::EgressChanged { old, new } => println!("{at} EGRESS CHANGED {old} -> {new}"),
        SessionEvent::GeoChanged { old, new, timezone } => println!(
            "{at} EXIT COUNTRY CHANGED {old} -> {new} ({})",
            timezone.as_deref().unwrap_or("timezone unknown")
        ),
        SessionEvent::EgressCheckFailed { reason } => {
            println!("{at} egress check failed: {reason}")
        }
        SessionEvent::ClockChecked { offset_ms, verdict } => match offset_ms {
            Some(o) => println!("{at} clock {o:+} ms ({verdict:?})"),
            None => println!("{at} clock could not be checked"),
        },
        SessionEvent::BrowserStarted { pid } => println!("{at} browser started (pid {pid})"),
        SessionEvent::BrowserExited { code } => println!("{at} browser exited ({code:?})"),
        SessionEvent::RequestFailed {
            stage,
            request_kind,
            url,
            status,
            error,
            ..
        } => {
            let what = error
                .clone()
                .or_else(|| status.map(|s| format!("HTTP {s}")))
                .unwrap_or_default();
            println!(
                "{at} {} request failed at {}: {url} {what}",
                request_kind.as_str(),
                stage.as_str()
            )
        }
        SessionEvent::RefreshSucceeded { url, latency_ms } => match latency_ms {
            Some(ms) => println!("{at} refresh ok in {ms:.0} ms: {url}"),
            None => println!("{at} refresh ok: {url}"),
        },
        SessionEvent::RequestHeld {
            action,
            method,
            url,
            decision,
            decided_by,
        } => println!(
            "{at} HELD {action} {method} {url}: {} by {}",
            decision.as_str(),
            decided_by.as_str()
        ),
        SessionEvent::ObserverLost { reason } => {
            println!("{at} OBSERVER LOST ({reason}): the relay refuses all traffic; relaunch")
        }
        SessionEvent::RecordsDropped { count } => {
            println!("{at} {count} request records DROPPED (the health writer fell behind)")
        }
        SessionEvent::RelayStarted { .. } | SessionEvent::RelayStopped => {}
    }
    Ok(())
}

pub async fn shutdown_signal() -> Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    // A closed terminal sends SIGHUP: the session ends as cleanly as on Ctrl-C (cookies
    // committed) rather than by the default action, which kills at once.
    let mut hangup = signal(SignalKind::hangup())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
        _ = hangup.recv() => {}
    }
    Ok(())
}

/// `holdfast stats NAME`: connection-layer metrics per session and per exit.
pub async fn stats(hf: &Holdfast, name: &str, since: &str, as_json: bool) -> Result<()> {
    let since = Utc::now() - parse_duration(since)?;
    let stats = hf.exits().relay_stats(name, since).await?;
    if as_json {
        output::json(&stats)?;
        return Ok(());
    }
    println!("{} since {}", stats.template, stats.since);
    for (title, list) in [("per exit", &stats.exits), ("per session", &stats.sessions)] {
        println!("\n{title}:");
        for s in list.iter() {
            let failures: Vec<String> = s
                .failures
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(k, n)| format!("{k}={n}"))
                .collect();
            let q = |q: &holdfast_core::exit::stats::Quantiles| match (q.p50, q.p95, q.p99) {
                (Some(a), Some(b), Some(c)) => format!("p50 {a:.1} p95 {b:.1} p99 {c:.1} ms"),
                _ => "-".to_owned(),
            };
            println!("  {}", s.key);
            println!(
                "    dials {} ok {}  failures: {}  backoff waits {}  active {}",
                s.dial_attempts,
                s.dial_ok,
                if failures.is_empty() {
                    "none".to_owned()
                } else {
                    failures.join(" ")
                },
                s.backoff_waits,
                s.active_tunnels
            );
            println!("    bytes up {} down {}", s.bytes_up, s.bytes_down);
            println!(
                "    connect {}  handshake {}  first byte {}",
                q(&s.connect_ms),
                q(&s.handshake_ms),
                q(&s.first_byte_ms)
            );
        }
    }
    Ok(())
}

/// `holdfast events NAME`: stored events, oldest first.
pub async fn events(
    hf: &Holdfast,
    name: &str,
    kind: Option<&str>,
    since: &str,
    as_json: bool,
) -> Result<()> {
    let since = Utc::now() - parse_duration(since)?;
    let list = hf.exits().events(name, kind, since).await?;
    if as_json {
        output::json(&list)?;
    } else {
        for e in &list {
            println!("{}  {:<20} {}", e.at, e.kind, e.detail);
        }
    }
    Ok(())
}

/// `30s`, `5m`, `1h`, `7d` (a bare number is seconds).
pub fn parse_duration(s: &str) -> Result<chrono::Duration> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let Ok(n) = num.parse::<i64>() else {
        bail!(Error::InvalidText {
            field: "since",
            value: s.to_owned(),
            reason: "expected a duration like 30s, 5m, 1h or 7d",
        });
    };
    let secs = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => bail!(Error::InvalidText {
            field: "since",
            value: s.to_owned(),
            reason: "unit must be s, m, h or d",
        }),
    };
    Ok(chrono::Duration::seconds(n.saturating_mul(secs)))
}
