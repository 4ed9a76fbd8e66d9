//! `holdfast setting …`

use anyhow::Result;
use clap::Subcommand;

use holdfast_core::{Holdfast, SettingView};

use super::output;

/// Setting subcommands.
#[derive(Debug, Subcommand)]
pub enum SettingCommand {
    /// List every setting with its value in effect.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Set a setting.
    Set { key: String, value: String },
    /// Put a setting back to its default.
    Unset { key: String },
}

/// Runs one setting subcommand.
pub async fn run(hf: &Holdfast, cmd: SettingCommand) -> Result<()> {
    match cmd {
        SettingCommand::List { json } => {
            let view = hf.settings().current().await?.view();
            if json {
                output::json(&view)?;
            } else {
                print(&view);
            }
        }
        SettingCommand::Set { key, value } => {
            hf.settings().set(&key, &value).await?;
            println!("set {key}");
        }
        SettingCommand::Unset { key } => {
            hf.settings().unset(&key).await?;
            println!("{key} is back to its default");
        }
    }
    Ok(())
}

fn print(view: &[SettingView]) {
    let width = view.iter().map(|s| s.key.len()).max().unwrap_or(0);
    for s in view {
        let value = if s.value.is_empty() {
            "(default)"
        } else {
            s.value.as_str()
        };
        let mark = if s.is_set { "*" } else { " " };
        println!("{mark} {:width$}  {value:<24}  {}", s.key, s.about);
    }
}
