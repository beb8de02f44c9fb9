//! `tokenbroker`: the command line front end of the tokenbroker core.
//!
//! The CLI parses arguments, calls the core, and prints: OAuth, caching and validation all
//! live in the `tokenbroker` crate. stdout carries only the requested value; messages and
//! errors go to stderr. Exit codes are in [`fail::code`] and `--help`.

mod args;
mod commands;
mod fail;
mod output;
mod serve;
mod spinner;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tokenbroker::{Broker, Config};

use crate::args::{Cli, Command, Global};
use crate::fail::{Fail, Result};

fn main() -> ExitCode {
    let cli = Cli::parse();
    output::set_quiet(cli.global.quiet);
    init_tracing(&cli.global);
    let code = match runtime_for(&cli.command) {
        Flavor::MultiThread => tokenbroker::advanced::runtime::handle().block_on(run(cli)),
        Flavor::CurrentThread => {
            // Leaked, not dropped: dropping would wait for blocking work still running.
            let rt: &'static tokio::runtime::Runtime = Box::leak(Box::new(
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("cannot start the tokio runtime"),
            ));
            tokenbroker::advanced::runtime::adopt(rt.handle().clone());
            rt.block_on(run(cli))
        }
    };
    ExitCode::from(code)
}

/// Which runtime a command runs on. One runtime per process, the core's, and everything the
/// CLI does runs on it too.
#[derive(Debug, PartialEq, Eq)]
enum Flavor {
    /// The core's multi-thread runtime: `serve` answers many clients at once.
    MultiThread,
    /// A current-thread runtime that `main` drives and the core adopts: a command that does
    /// one thing and exits starts no worker thread and hands nothing to one (a token from the
    /// file cache is read on the main thread).
    CurrentThread,
}

fn runtime_for(command: &Command) -> Flavor {
    match command {
        Command::Serve(_) => Flavor::MultiThread,
        _ => Flavor::CurrentThread,
    }
}

async fn run(cli: Cli) -> u8 {
    let logging_in = matches!(cli.command, Command::Login(_));
    match commands::dispatch(&cli.global, cli.command).await {
        Ok(code) => code,
        Err(fail) => {
            eprintln!("tokenbroker: error: {fail}");
            if let Some(hint) = fail.hint().filter(|_| !logging_in) {
                note!("tokenbroker: hint: {hint}");
            }
            fail.code()
        }
    }
}

/// Logs go to stderr. Only tokenbroker's own crates log below `warn`, so no third-party
/// crate can print a header or body even at `-vvv`. `TOKENBROKER_LOG` overrides.
fn init_tracing(global: &Global) {
    let level = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    // At the default level the core's per-request "token request failed" warning is left
    // out: the CLI prints the same error once, and device polling would repeat it for every
    // `authorization_pending` answer, over the spinner.
    let quiet_flows = if global.verbose == 0 {
        ",tokenbroker::flow=error"
    } else {
        ""
    };
    let directives = std::env::var("TOKENBROKER_LOG").unwrap_or_else(|_| {
        format!("warn,tokenbroker={level},tokenbroker_cli={level}{quiet_flows}")
    });
    let filter = tracing_subscriber::EnvFilter::try_new(&directives)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// The broker over the discovered config file.
pub fn broker(global: &Global) -> Result<Broker> {
    let config = Config::discover(global.config.as_deref())?;
    Ok(Broker::new(config)?)
}

/// The profile to use: the one named, else the only one, else `default`.
pub fn pick_profile(broker: &Broker, named: Option<&str>) -> Result<String> {
    if let Some(name) = named {
        return Ok(name.to_owned());
    }
    // A profile that does not load counts too: choosing it reports its error.
    let mut names = broker.profile_names();
    names.extend(broker.config().broken().map(|(name, _)| name.to_owned()));
    names.sort();
    match names.as_slice() {
        [] => Err(Fail::usage(
            "the config file has no profiles; add a [profiles.NAME] table",
        )),
        [only] => Ok(only.clone()),
        _ if names.iter().any(|n| n == "default") => Ok("default".into()),
        _ => Err(Fail::usage(format!(
            "several profiles are configured ({}); choose one with --profile",
            names.join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flavor(args: &[&str]) -> Flavor {
        let cli = Cli::try_parse_from([&["tokenbroker"], args].concat()).unwrap();
        runtime_for(&cli.command)
    }

    #[test]
    fn serve_keeps_the_multi_thread_runtime_and_one_shot_commands_do_not() {
        assert_eq!(flavor(&["serve"]), Flavor::MultiThread);
        assert_eq!(flavor(&["token", "-p", "p"]), Flavor::CurrentThread);
        assert_eq!(flavor(&["login", "-p", "p"]), Flavor::CurrentThread);
    }
}
