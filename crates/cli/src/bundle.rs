//! `holdfast export` and `holdfast import`.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};

use holdfast_core::bundle::{Action, ImportPlan, OnConflict};
use holdfast_core::store::secrets::Secret;
use holdfast_core::{Error, Holdfast, Selection};

use super::output;

/// Environment variable holding a bundle passphrase (for scripts; stdin is safer).
pub const PASSPHRASE_ENV: &str = "HOLDFAST_BUNDLE_PASSPHRASE";

/// `holdfast export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Templates to export, by name.
    names: Vec<String>,
    /// Export every template.
    #[arg(long)]
    all: bool,
    /// Export templates with this tag; repeat for several.
    #[arg(long = "tag", value_name = "T")]
    tags: Vec<String>,
    /// The bundle file to write.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: PathBuf,
    /// Include the exit passwords, encrypted with a passphrase (asked for, or from
    /// --passphrase-stdin / HOLDFAST_BUNDLE_PASSPHRASE).
    #[arg(long)]
    with_secrets: bool,
    /// Read the passphrase from the first line of stdin.
    #[arg(long)]
    passphrase_stdin: bool,
    #[arg(long)]
    json: bool,
}

/// Conflict policy on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Conflict {
    Skip,
    Rename,
    Replace,
}

/// `holdfast import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The bundle file to read.
    file: PathBuf,
    /// Print the plan and write nothing.
    #[arg(long)]
    dry_run: bool,
    /// What to do with a template whose name is taken.
    #[arg(long, value_enum, default_value = "skip")]
    on_conflict: Conflict,
    /// Read the passphrase of the bundle's secrets from the first line of stdin.
    #[arg(long)]
    passphrase_stdin: bool,
    /// Let a replacement weaken a stored template: turn a proxied or pinned exit into
    /// `direct`, or drop a pinned egress IP (the plan marks each such template).
    #[arg(long)]
    allow_weaker: bool,
    #[arg(long)]
    json: bool,
}

/// Runs `export`.
pub async fn export(hf: &Holdfast, args: ExportArgs) -> Result<()> {
    let passphrase = if args.with_secrets {
        Some(passphrase(args.passphrase_stdin, true)?.context(
            "--with-secrets needs a passphrase: give --passphrase-stdin or set HOLDFAST_BUNDLE_PASSPHRASE",
        )?)
    } else {
        None
    };
    let selection = Selection {
        names: args.names,
        tags: args.tags,
        all: args.all,
    };
    let summary = hf
        .bundles()
        .export(&selection, &args.output, passphrase)
        .await?;
    if args.json {
        output::json(&summary)?;
        return Ok(());
    }
    println!(
        "exported {} template(s) to {}{}",
        summary.names.len(),
        summary.path.display(),
        if summary.secrets > 0 {
            format!(" with {} exit password(s), encrypted", summary.secrets)
        } else {
            " (no secrets)".to_owned()
        }
    );
    for name in &summary.missing_secrets {
        eprintln!("warning: {name:?} has no password in the keyring; exported without it");
    }
    Ok(())
}

/// Runs `import`.
pub async fn import(hf: &Holdfast, args: ImportArgs) -> Result<()> {
    let on_conflict = match args.on_conflict {
        Conflict::Skip => OnConflict::Skip,
        Conflict::Rename => OnConflict::Rename,
        Conflict::Replace => OnConflict::Replace,
    };
    let passphrase = passphrase(args.passphrase_stdin, false)?;
    let plan = hf
        .bundles()
        .import(
            &args.file,
            on_conflict,
            passphrase,
            args.dry_run,
            args.allow_weaker,
        )
        .await?;
    if args.json {
        output::json(&plan)?;
    } else {
        print_plan(&plan);
    }
    if plan.secrets == "not_imported" {
        eprintln!(
            "note: the bundle holds encrypted exit passwords; give --passphrase-stdin to restore them"
        );
    }
    Ok(())
}

fn print_plan(plan: &ImportPlan) {
    for t in &plan.templates {
        let what = match t.action {
            Action::Add => "add",
            Action::Skip => "skip (name taken)",
            Action::Rename => "rename",
            Action::Replace => "replace",
        };
        let renamed = if t.final_name != t.name {
            format!(" -> {:?}", t.final_name)
        } else {
            String::new()
        };
        let secret = if t.with_secret { "  + password" } else { "" };
        println!("{what:<18} {:?}{renamed}  {}{secret}", t.name, t.exit);
        if let Some(w) = &t.weaker {
            println!("{:<18} WEAKER: {w} (needs --allow-weaker)", "");
        }
        if let Some(r) = &t.secret_refused {
            println!("{:<18} password: {r}", "");
        }
    }
    println!(
        "{}{} added, {} renamed, {} replaced, {} skipped",
        if plan.dry_run {
            "dry run (nothing written): "
        } else {
            ""
        },
        plan.added,
        plan.renamed,
        plan.replaced,
        plan.skipped
    );
}

/// The passphrase from stdin, the environment, or (for export) a prompt on the terminal.
fn passphrase(from_stdin: bool, prompt: bool) -> Result<Option<Secret>> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the passphrase from stdin")?;
        return Ok(Some(Secret::new(
            line.trim_end_matches(['\r', '\n']).to_owned(),
        )));
    }
    if let Ok(p) = std::env::var(PASSPHRASE_ENV) {
        return Ok(Some(Secret::new(p)));
    }
    if !prompt || !std::io::stdin().is_terminal() {
        return Ok(None);
    }
    let first =
        rpassword::prompt_password("Bundle passphrase: ").context("cannot read the passphrase")?;
    let again = rpassword::prompt_password("Again: ").context("cannot read the passphrase")?;
    if first != again {
        bail!(Error::BundlePassphrase {
            detail: "the two passphrases differ".to_owned()
        });
    }
    Ok(Some(Secret::new(first)))
}
