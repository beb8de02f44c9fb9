//! One function per subcommand.

mod cache;
mod clients;
mod curl;
mod doctor;
mod info;
mod login;

use clap::CommandFactory;
use tokenbroker::{AccessToken, Broker, ScopesArg, TokenOptions};

use crate::args::{Cli, Command, Format, Global, Select, TokenArgs};
use crate::fail::{Result, code};
use crate::output;
use crate::{broker, note, pick_profile};

/// Runs `command`; returns the exit code on success.
pub async fn dispatch(global: &Global, command: Command) -> Result<u8> {
    match command {
        Command::Token(TokenArgs { select, format }) => print_token(global, &select, format).await,
        Command::Header(select) => print_token(global, &select, Format::Header).await,
        Command::Env(select) => {
            let (_, token) = token(global, &select).await?;
            output::stdout(&output::env_lines(&token))?;
            Ok(code::OK)
        }
        Command::Curl(args) => curl::run(global, args).await,
        Command::Login(args) => login::run(global, args).await,
        Command::Logout(args) => {
            let broker = broker(global)?;
            let profile = pick_profile(&broker, args.profile.as_deref())?;
            if broker.logout(&profile).await? {
                note!(
                    "Signed out of '{profile}': the provider revoked its refresh token, and this machine forgot its tokens."
                );
            } else {
                note!(
                    "Signed out of '{profile}': its tokens are forgotten on this machine (the provider \
                     has no revocation endpoint, or nothing was stored)."
                );
            }
            Ok(code::OK)
        }
        Command::Serve(args) => crate::serve::run(global, args).await,
        Command::Cache(cmd) => cache::run(global, cmd).await,
        Command::Providers(flag) => info::providers(flag.json),
        Command::Profiles(flag) => info::profiles(global, flag.json),
        Command::Doctor(flag) => doctor::run(global, flag.json).await,
        Command::Clients(cmd) => clients::run(global, cmd).await,
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "tokenbroker", &mut out);
            output::stdout(&String::from_utf8_lossy(&out))?;
            Ok(code::OK)
        }
    }
}

/// The core's options for a [`Select`], checked by the core.
pub fn token_options(select: &Select) -> Result<TokenOptions> {
    let scopes = (!select.scopes.is_empty()).then(|| ScopesArg::List(select.scopes.clone()));
    let min_ttl = Some(select.min_ttl as f64);
    Ok(TokenOptions::from_args(
        scopes,
        min_ttl,
        select.force_refresh,
        None,
    )?)
}

/// A token for the selected profile, with the broker that got it.
pub async fn token(global: &Global, select: &Select) -> Result<(Broker, AccessToken)> {
    let broker = broker(global)?;
    let profile = pick_profile(&broker, select.profile.as_deref())?;
    let token = broker.token(&profile, &token_options(select)?).await?;
    tracing::info!(profile = %profile, expires_in = token.remaining().as_secs(), "token ready");
    Ok((broker, token))
}

async fn print_token(global: &Global, select: &Select, format: Format) -> Result<u8> {
    let (_, token) = token(global, select).await?;
    match format {
        Format::Raw => output::stdout(&format!("{}\n", token.secret()))?,
        Format::Header => output::stdout(&format!("{}\n", output::header_line(&token)))?,
        Format::Json => output::stdout_json(&output::token_json(&token), false)?,
    }
    Ok(code::OK)
}
