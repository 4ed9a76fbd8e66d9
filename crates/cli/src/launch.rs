//! `holdfast launch`, `holdfast status`, `holdfast stop`: sessions.

use std::io::IsTerminal;

use anyhow::Result;

use holdfast_core::launch::{LaunchOptions, LaunchProgress, LaunchStep, SessionInfo};
use holdfast_core::Holdfast;

use super::output;

/// `holdfast launch NAME`: launches, then waits for the browser to exit or a signal.
pub async fn launch(
    hf: &Holdfast,
    name: &str,
    options: LaunchOptions,
    as_json: bool,
) -> Result<()> {
    let show_progress = !as_json && std::io::stderr().is_terminal();
    let progress = move |p: &LaunchProgress| {
        if show_progress {
            let what = match p.step {
                LaunchStep::Lease => "taking the lease",
                LaunchStep::Preflight => "checking clock and egress",
                LaunchStep::Browser => "starting the browser",
                LaunchStep::Ready => "ready",
            };
            eprintln!("[launch] {what}…");
        }
    };
    let session = hf.sessions().launch(name, options, &progress).await?;
    let info = session.info().clone();
    let pre = session.preflight();
    if as_json {
        output::json(&session.launched().report())?;
    } else {
        for w in &pre.warnings {
            eprintln!("warning: {w}");
        }
        for f in &pre.forced {
            eprintln!("warning (forced): {f}");
        }
        println!(
            "{} running: browser pid {}, egress {}, relay {}, automation port {} (Ctrl-C stops)",
            info.template,
            info.pid.map_or_else(|| "?".to_owned(), |p| p.to_string()),
            info.egress_ip.as_deref().unwrap_or("unknown"),
            info.relay.as_deref().unwrap_or("-"),
            info.cdp.as_deref().unwrap_or("off"),
        );
    }
    let stopper = session.stopper();
    let signal = tokio::spawn(async move {
        if super::exit::shutdown_signal().await.is_ok() {
            let _ = stopper.send(true);
        }
    });
    // The session idles for hours: what start-up used goes back once the first page is in.
    let small = tokio::spawn(holdfast_core::memory::keep_idle_small());
    let end = session.wait().await;
    signal.abort();
    small.abort();
    if let Some(why) = &end.ended_by {
        eprintln!("error[{}]: {}", why.code.as_str(), why.message);
        return Err(super::Reported.into());
    }
    if !as_json {
        println!(
            "{} stopped ({})",
            info.template,
            match (end.stopped, end.browser_exit) {
                (true, _) => "by request".to_owned(),
                (false, Some(c)) => format!("browser exited with {c}"),
                (false, None) => "browser killed".to_owned(),
            }
        );
    }
    Ok(())
}

/// `holdfast status`: the running sessions.
pub async fn status(hf: &Holdfast, as_json: bool) -> Result<()> {
    let list = hf.sessions().list().await?;
    if as_json {
        output::json(&list)?;
        return Ok(());
    }
    if list.is_empty() {
        println!("no running sessions");
        return Ok(());
    }
    println!(
        "{:<24} {:>8} {:<20} {:<16} {:>9}  RISK",
        "TEMPLATE", "PID", "SINCE", "EGRESS", "CLOCK"
    );
    for s in &list {
        print_row(s);
    }
    Ok(())
}

fn print_row(s: &SessionInfo) {
    println!(
        "{:<24} {:>8} {:<20} {:<16} {:>9}  {}",
        s.template,
        s.pid.map_or_else(|| "-".to_owned(), |p| p.to_string()),
        s.since.get(..19).unwrap_or(&s.since),
        s.egress_ip.as_deref().unwrap_or("-"),
        s.clock_offset_ms
            .map_or_else(|| "-".to_owned(), |o| format!("{o:+}ms")),
        if s.risk.open {
            format!("OPEN: {}", s.risk.summary(chrono::Utc::now()))
        } else {
            "-".to_owned()
        },
    );
}

/// `holdfast stop NAME`.
pub async fn stop(hf: &Holdfast, name: &str, as_json: bool) -> Result<()> {
    let info = hf.sessions().stop(name).await?;
    if as_json {
        output::json(&info)?;
        return Ok(());
    }
    println!("stopped {}", info.template);
    Ok(())
}
