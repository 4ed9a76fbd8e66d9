//! `holdfast team …`: put this home in a team store, report on it, take it out.

use std::io::{BufRead, IsTerminal};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};

use holdfast_core::store::secrets::Secret;
use holdfast_core::team::service::{Connect, TeamStatus};
use holdfast_core::{Error, Holdfast};

use super::output;

/// Environment variable holding the team passphrase (for scripts; stdin is safer).
pub const PASSPHRASE_ENV: &str = "HOLDFAST_TEAM_PASSPHRASE";
/// Environment variable holding the team store's database password.
pub const DB_PASSWORD_ENV: &str = "HOLDFAST_TEAM_DB_PASSWORD";

/// Team subcommands.
#[derive(Debug, Subcommand)]
pub enum TeamCommand {
    /// Create the team store in an empty PostgreSQL database (as its owner) and join it; this
    /// home's templates become the team's.
    Init(ConnectArgs),
    /// Join the team whose store is at URL (this machine becomes a member).
    Join(ConnectArgs),
    /// The membership, the role, and whether the store answers.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Pull the team's template changes now.
    Sync {
        #[arg(long)]
        json: bool,
    },
    /// Leave the team: its templates stay here as local ones.
    Leave,
}

/// How to reach the store, and the team passphrase.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// `postgres://USER@HOST:PORT/DB[?sslmode=require|verify-full…]`. The password goes to the
    /// OS keyring, never to a file; give it with --db-password-stdin or HOLDFAST_TEAM_DB_PASSWORD.
    url: String,
    /// This machine's name in the team (default: the host name).
    #[arg(long)]
    name: Option<String>,
    /// Read the team passphrase from the first line of stdin (else HOLDFAST_TEAM_PASSPHRASE,
    /// else a prompt on the terminal).
    #[arg(long)]
    passphrase_stdin: bool,
    /// Read the database password from stdin (the line after the passphrase, when both).
    #[arg(long)]
    db_password_stdin: bool,
    #[arg(long)]
    json: bool,
}

/// Runs one team subcommand.
pub async fn run(hf: &Holdfast, cmd: TeamCommand) -> Result<()> {
    match cmd {
        TeamCommand::Init(args) => {
            let json = args.json;
            let status = hf.team().init(connect(args, true)?).await?;
            show(&status, json, "created the team store and joined it")?;
        }
        TeamCommand::Join(args) => {
            let json = args.json;
            let status = hf.team().join(connect(args, false)?).await?;
            show(&status, json, "joined the team")?;
        }
        TeamCommand::Status { json } => {
            let status = hf.team().status().await?;
            show(&status, json, "")?;
        }
        TeamCommand::Sync { json } => {
            let n = hf.team().sync().await?;
            if json {
                output::json(&serde_json::json!({ "changed": n }))?;
            } else {
                println!("{n} template(s) changed");
            }
        }
        TeamCommand::Leave => {
            hf.team().leave().await?;
            println!("left the team; its templates stay here as local ones");
        }
    }
    Ok(())
}

fn show(s: &TeamStatus, json: bool, done: &str) -> Result<()> {
    if json {
        return Ok(output::json(s)?);
    }
    if !done.is_empty() {
        println!("{done}");
    }
    println!("team:       {}", s.team_id);
    println!("store:      {}", s.url);
    println!("member:     {} (machine {})", s.member, s.machine_id);
    let role = s
        .role
        .map_or("-".to_owned(), |r| format!("{r:?}").to_lowercase());
    println!("role:       {role}");
    match (&s.error, s.members) {
        (None, Some(m)) => println!("store:      connected, {m} member(s)"),
        (Some(e), _) => println!("store:      OFFLINE ({e}); working from this home's copy"),
        _ => {}
    }
    println!(
        "templates:  {} here, last pulled {}",
        s.templates,
        s.synced_at.as_deref().unwrap_or("never")
    );
    Ok(())
}

fn connect(args: ConnectArgs, init: bool) -> Result<Connect> {
    if holdfast_core::template::exit::redact(&args.url) != args.url {
        eprintln!(
            "warning: the database password was given on the command line, where other users of \
             this machine can read it (ps, /proc) while the command runs; give the URL without it \
             and use --db-password-stdin"
        );
    }
    let mut stdin = std::io::stdin().lock();
    let mut line = |what: &str| -> Result<Secret> {
        let mut l = String::new();
        stdin
            .read_line(&mut l)
            .with_context(|| format!("cannot read the {what} from stdin"))?;
        Ok(Secret::new(l.trim_end_matches(['\r', '\n']).to_owned()))
    };
    let passphrase = if args.passphrase_stdin {
        line("team passphrase")?
    } else if let Ok(p) = std::env::var(PASSPHRASE_ENV) {
        Secret::new(p)
    } else if std::io::stdin().is_terminal() {
        prompt(init)?
    } else {
        bail!(Error::TeamPassphrase {
            detail: format!("give the team passphrase with --passphrase-stdin or {PASSPHRASE_ENV}")
        });
    };
    let db_password = if args.db_password_stdin {
        Some(line("database password")?)
    } else {
        std::env::var(DB_PASSWORD_ENV).ok().map(Secret::new)
    };
    Ok(Connect {
        url: args.url,
        db_password,
        passphrase,
        member_name: args.name,
    })
}

fn prompt(twice: bool) -> Result<Secret> {
    let first =
        rpassword::prompt_password("Team passphrase: ").context("cannot read the passphrase")?;
    if twice {
        let again = rpassword::prompt_password("Again: ").context("cannot read the passphrase")?;
        if first != again {
            bail!(Error::TeamPassphrase {
                detail: "the two passphrases differ".to_owned()
            });
        }
    }
    Ok(Secret::new(first))
}
