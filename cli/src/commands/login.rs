//! `tokenbroker login`: the authorization code flow through the browser and a loopback
//! listener, or the device flow. The core runs the flows; the CLI shows the URL or code,
//! draws the spinner and handles Ctrl-C.

use std::future::Future;
use std::sync::Arc;

use tokenbroker::{
    AccessToken, DeviceLoginOptions, Error, LoginFlow, LoginOptions, ScopesArg, UrlCallback,
};

use crate::args::{Global, LoginArgs};
use crate::fail::{Result, code};
use crate::spinner::Spinner;
use crate::{broker, note, output, pick_profile};

pub async fn run(global: &Global, args: LoginArgs) -> Result<u8> {
    let broker = broker(global)?;
    let profile = pick_profile(&broker, args.profile.as_deref())?;
    let scopes = (!args.scopes.is_empty()).then(|| ScopesArg::List(args.scopes.clone()));
    let seconds = args.timeout as f64;
    let timeout = tokenbroker::seconds_arg("--timeout", seconds)?;
    let token = if broker.login_flow(&profile, args.device)? == LoginFlow::Device {
        let spinner = Arc::new(Spinner::new("Waiting for approval"));
        let shown = spinner.clone();
        let name = profile.clone();
        let options = DeviceLoginOptions::from_args(scopes, Some(seconds))?;
        let flow = broker.device_login(&profile, &options, move |auth| {
            // The code must reach the person even with --quiet: it is the point of the command.
            eprintln!(
                "To sign in to '{name}', open\n\n    {}\n\nand enter the code: {}\n",
                auth.verification_uri, auth.user_code
            );
            if let Some(complete) = &auth.verification_uri_complete {
                note!("(or open {complete} which fills the code in)\n");
            }
            let limit = auth.expires_in.min(timeout);
            shown.start(tokio::time::Instant::now() + limit);
        });
        cancellable(flow).await
    } else {
        let spinner = Arc::new(Spinner::new("Waiting for the browser"));
        let shown = spinner.clone();
        let name = profile.clone();
        let no_browser = args.no_browser;
        let on_url: UrlCallback = Arc::new(move |url: &str| {
            if no_browser {
                eprintln!("To sign in to '{name}', open this URL in a browser:\n\n    {url}\n");
            } else {
                eprintln!(
                    "Opening the browser to sign in to '{name}'. If it does not open, visit:\n\n    {url}\n"
                );
            }
            shown.start(tokio::time::Instant::now() + timeout);
        });
        let options =
            LoginOptions::from_args(Some(!no_browser), Some(seconds), scopes, Some(on_url))?;
        cancellable(broker.login(&profile, &options)).await
    }?;
    report(&profile, &token);
    Ok(code::OK)
}

/// Runs `flow` until it ends or Ctrl-C cancels it (an interaction error, exit code 7).
async fn cancellable(
    flow: impl Future<Output = tokenbroker::Result<AccessToken>>,
) -> Result<AccessToken> {
    tokio::select! {
        result = flow => Ok(result?),
        _ = tokio::signal::ctrl_c() => Err(Error::interaction("cancelled").into()),
    }
}

fn report(profile: &str, token: &AccessToken) {
    note!(
        "Signed in to '{profile}'. The access token is valid for {}; later tokens come from \
         the stored refresh token.",
        output::human_left(token.expires_at())
    );
}
