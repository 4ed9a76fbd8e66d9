//! `holdfast serve` (the local automation API in the foreground) and `holdfast api` (its token).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use anyhow::Result;
use clap::Subcommand;

use holdfast_core::Holdfast;

/// `holdfast api …`
#[derive(Debug, Subcommand)]
pub enum ApiCommand {
    /// Print the API's bearer token (made on first use, kept in the OS keyring).
    Token {
        /// Replace it: requests with the old token fail from now on.
        #[arg(long)]
        rotate: bool,
    },
    /// Print the API's OpenAPI document (what GET /v1/openapi.json answers).
    Openapi,
}

/// Runs `holdfast api …`.
pub async fn run(hf: &Holdfast, cmd: ApiCommand) -> Result<()> {
    match cmd {
        ApiCommand::Token { rotate } => {
            let token = if rotate {
                hf.api().rotate_token().await?
            } else {
                hf.api().token().await?
            };
            println!("{token}");
            Ok(())
        }
        ApiCommand::Openapi => {
            println!(
                "{}",
                serde_json::to_string_pretty(&holdfast_api::openapi::document())?
            );
            Ok(())
        }
    }
}

/// `holdfast serve`: the API on 127.0.0.1 (or the explicit `--listen` address) until Ctrl-C /
/// SIGTERM; then the sessions it started are closed cleanly.
pub async fn serve(
    hf: &Holdfast,
    port: Option<u16>,
    listen: Option<IpAddr>,
    json: bool,
) -> Result<()> {
    let port = match port {
        Some(p) => p,
        None => hf.settings().current().await?.api_port(),
    };
    let ip = listen.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    if !ip.is_loopback() {
        eprintln!(
            "warning: listening on {ip}, beyond this machine's loopback: anyone who can reach it \
             and has the token can start accounts and drive their browsers"
        );
    }
    let serving = holdfast_api::start(hf.clone(), SocketAddr::new(ip, port), true).await?;
    let url = format!("http://{}", serving.addr);
    if json {
        println!(
            "{}",
            serde_json::json!({ "url": url, "pid": std::process::id() })
        );
    } else {
        println!(
            "local API on {url} (token: `holdfast api token`; both in {}/api.json)",
            hf.home().root().display()
        );
    }
    let signalled = super::exit::shutdown_signal().await;
    serving.stop().await;
    signalled
}
