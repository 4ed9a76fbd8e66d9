//! Team store benchmark against a real PostgreSQL (bench/team.sh starts one): lease take +
//! release beside a bare `SELECT 1` on the same pool, and 50 simulated members racing for 100
//! accounts through the real lease functions, checked afterwards for two holders at once.
//!
//!     team_bench URL OWNER_PASSWORD [SECONDS]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use holdfast_core::store::secrets::Secret;
use holdfast_core::store::team::{TeamDb, TeamRow};
use holdfast_core::TemplateDraft;

const MEMBERS: usize = 50;
const ACCOUNTS: usize = 100;
const ROUNDS: usize = 2_000;

/// One held lease as a member saw it: account, epoch, from its take's answer to its release.
#[derive(Debug, Clone)]
struct Held {
    account: usize,
    epoch: i64,
    member: usize,
    from: Instant,
    to: Instant,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn p99(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[(v.len() * 99 / 100).min(v.len() - 1)]
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (url, password) = (args[1].clone(), Secret::new(args[2].clone()));
    let seconds: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(60);
    let db = TeamDb::connect(&url, Some(&password)).await?;
    db.migrate().await?;
    if db.team().await?.is_none() {
        db.create_team(&TeamRow {
            id: uuid_v4(),
            kdf_salt: vec![0; 16],
            kdf_log_n: 10,
            key_check: vec![0; 40],
        })
        .await?;
    }
    let mut accounts = Vec::new();
    for i in 0..ACCOUNTS {
        let (t, _) = TemplateDraft {
            name: format!("bench-{i:03}-{}", uuid_v4()),
            exit: "direct".into(),
            ..Default::default()
        }
        .validate(Utc::now())?;
        accounts.push(t);
    }
    let rows: Vec<_> = accounts.iter().map(|t| (t, None)).collect();
    db.insert_templates(&rows, "bench").await?;
    let mut members = Vec::new();
    for m in 0..MEMBERS {
        let id = uuid_v4();
        let (name, machine) = (format!("member-{m}"), format!("machine-{m}-{id}"));
        db.add_member(&id, &name, &machine).await?;
        members.push((id, name, machine));
    }

    // 1. Take + release of a free lease vs SELECT 1, interleaved, same pool.
    let ttl = Duration::from_secs(20);
    let (mut select, mut lease) = (Vec::new(), Vec::new());
    let (mid, mname, mmachine) = &members[0];
    for i in 0..ROUNDS {
        let t = Instant::now();
        sqlx::query("SELECT 1").execute(db.pool()).await?;
        select.push(t.elapsed().as_secs_f64() * 1000.0);
        let id = &accounts[i % ACCOUNTS].id;
        let t = Instant::now();
        let epoch = db
            .lease_take(id, mid, mname, mmachine, ttl)
            .await?
            .ok_or("the lease is free")?;
        db.lease_release(id, epoch).await?;
        lease.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let (s50, l50) = (median(select.clone()), median(lease.clone()));
    println!("lease take + release vs SELECT 1 ({ROUNDS} rounds, interleaved, one pool):");
    println!(
        "  SELECT 1            p50 {s50:.3} ms  p99 {:.3} ms",
        p99(select)
    );
    println!(
        "  take + release      p50 {l50:.3} ms  p99 {:.3} ms",
        p99(lease)
    );
    println!(
        "  ratio (p50)         {:.2}x  (two statements; each one round trip)",
        l50 / s50
    );

    // 2. 50 members race for 100 accounts, each through its own connection.
    let held: Arc<Mutex<Vec<Held>>> = Arc::default();
    let refused = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let errors = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for (m, (id, name, machine)) in members.iter().cloned().enumerate() {
        let own = TeamDb::connect(&url, Some(&password)).await?;
        let ids: Vec<String> = accounts.iter().map(|t| t.id.clone()).collect();
        let (held, refused, errors) = (held.clone(), refused.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = m * 7919;
            while Instant::now() < deadline {
                n = n
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let account = (n >> 33) % ACCOUNTS;
                match own
                    .lease_take(&ids[account], &id, &name, &machine, Duration::from_secs(5))
                    .await
                {
                    Ok(Some(epoch)) => {
                        let from = Instant::now();
                        // Hold it a moment, renewing once, as a session does.
                        tokio::time::sleep(Duration::from_millis(((n >> 40) % 5) as u64)).await;
                        if !own
                            .lease_renew(&ids[account], epoch, Duration::from_secs(5))
                            .await
                            .unwrap_or(false)
                        {
                            errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        let to = Instant::now();
                        let _ = own.lease_release(&ids[account], epoch).await;
                        if let Ok(mut h) = held.lock() {
                            h.push(Held {
                                account,
                                epoch,
                                member: m,
                                from,
                                to,
                            });
                        }
                    }
                    Ok(None) => {
                        refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    Err(_) => {
                        errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let held = held.lock().map_err(|_| "poisoned")?.clone();
    let mut by_account: HashMap<usize, Vec<&Held>> = HashMap::new();
    for h in &held {
        by_account.entry(h.account).or_default().push(h);
    }
    let mut overlaps = 0;
    let mut repeated_epochs = 0;
    for list in by_account.values_mut() {
        list.sort_by_key(|h| h.epoch);
        for w in list.windows(2) {
            if w[0].epoch == w[1].epoch {
                repeated_epochs += 1;
            }
            // A later epoch's hold began before the earlier one's ended: two holders at once.
            if w[1].from < w[0].to && w[0].member != w[1].member {
                overlaps += 1;
            }
        }
    }
    let n = held.len() as f64;
    println!("contention: {MEMBERS} members, {ACCOUNTS} accounts, {seconds} s, each through its own connection:");
    println!(
        "  acquisitions        {} ({:.0}/s)",
        held.len(),
        n / seconds as f64
    );
    println!(
        "  refused (held)      {}",
        refused.load(std::sync::atomic::Ordering::Relaxed)
    );
    println!(
        "  errors              {}",
        errors.load(std::sync::atomic::Ordering::Relaxed)
    );
    println!("  moments with two holders of one account (from the fencing epochs): {overlaps}");
    println!("  epochs handed out twice: {repeated_epochs}");
    let ok = overlaps == 0 && repeated_epochs == 0;
    println!("overall: {}", if ok { "PASS" } else { "FAIL" });
    if !ok {
        std::process::exit(1);
    }
    Ok(())
}

fn uuid_v4() -> String {
    uuid::Uuid::new_v4().to_string()
}
