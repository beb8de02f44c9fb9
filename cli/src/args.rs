//! The command line: every subcommand and option, as clap derive types.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Shown at the end of `--help`.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  ok
  1  other failure (cannot run curl, cannot write output)
  2  usage or configuration error (nothing was sent)
  3  the provider refused (OAuth error, registration refused)
  4  network: the provider could not be reached or did not answer in time
  5  the provider's answer was not usable
  6  token cache or secret store failure
  7  interaction: sign-in failed, was denied, timed out or was cancelled
  8  rate limited: the provider asked to wait longer than the call's deadline
  (`curl` passes curl's own exit code through once the token was obtained.)

stdout carries only the requested value; messages and errors go to stderr.
The config file is --config FILE, else $TOKENBROKER_CONFIG, else
~/.config/tokenbroker/config.toml.";

/// tokenbroker: OAuth 2.0 access tokens for shells, curl, scripts and Postman.
#[derive(Debug, Parser)]
#[command(name = "tokenbroker", version, after_help = EXIT_CODES, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand takes.
#[derive(Debug, Args)]
pub struct Global {
    /// Config file (default: $TOKENBROKER_CONFIG, else ~/.config/tokenbroker/config.toml)
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print nothing on stderr but errors
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Log to stderr: -v info, -vv debug, -vvv trace (never secrets)
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print an access token (cached, or fetched when needed)
    Token(TokenArgs),
    /// Print `Authorization: Bearer …` (same as `token --format header`)
    Header(Select),
    /// Run curl with the Authorization header added: tokenbroker curl -p P -- URL …
    Curl(CurlArgs),
    /// Print `export TOKENBROKER_ACCESS_TOKEN=…` lines for `eval "$(tokenbroker env)"`
    Env(Select),
    /// Sign in interactively (browser and loopback redirect, or the device flow)
    Login(LoginArgs),
    /// Forget a profile's cached access token and stored refresh token
    Logout(ProfileArg),
    /// Serve tokens to local tools (Postman) over HTTP on 127.0.0.1
    Serve(ServeArgs),
    /// Inspect or clear the token cache
    #[command(subcommand)]
    Cache(CacheCommand),
    /// List the provider presets with their parameters and regions
    Providers(JsonFlag),
    /// List the configured profiles
    Profiles(JsonFlag),
    /// Check the configuration, the cache and every profile's token endpoint
    Doctor(JsonFlag),
    /// Register and manage OAuth clients at the provider (RFC 7591/7592, Alvaria)
    #[command(subcommand)]
    Clients(ClientsCommand),
    /// Print a shell completion script
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
}

/// Which token: profile, scopes, freshness.
#[derive(Debug, Args, Clone)]
pub struct Select {
    /// Profile name (default: the only profile, else `default`)
    #[arg(short, long, env = "TOKENBROKER_PROFILE")]
    pub profile: Option<String>,
    /// Scope to request instead of the profile's (repeat for several)
    #[arg(short, long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// The token must stay valid at least this many seconds
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    pub min_ttl: u64,
    /// Fetch a new token even if a valid one is cached
    #[arg(long)]
    pub force_refresh: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The token alone
    Raw,
    /// `Authorization: Bearer <token>`
    Header,
    /// {access_token, token_type, expires_at, expires_in, scopes}
    Json,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(flatten)]
    pub select: Select,
    /// Output format
    #[arg(short, long, value_enum, default_value_t = Format::Raw)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct CurlArgs {
    #[command(flatten)]
    pub select: Select,
    /// Arguments for curl, after `--`
    #[arg(last = true, required = true, value_name = "CURL_ARGS")]
    pub args: Vec<OsString>,
}

#[derive(Debug, Args)]
pub struct ProfileArg {
    /// Profile name (default: the only profile, else `default`)
    #[arg(short, long, env = "TOKENBROKER_PROFILE")]
    pub profile: Option<String>,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Profile name (default: the only profile, else `default`)
    #[arg(short, long, env = "TOKENBROKER_PROFILE")]
    pub profile: Option<String>,
    /// Do not open a browser; print the URL to open instead
    #[arg(long)]
    pub no_browser: bool,
    /// Use the device flow (the default for profiles with grant = "device_code")
    #[arg(long)]
    pub device: bool,
    /// Give up after this many seconds
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub timeout: u64,
    /// Scope to request instead of the profile's (repeat for several)
    #[arg(short, long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Port on 127.0.0.1 (0 picks a free one)
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// File holding the secret clients must send as X-Tokenbroker-Secret (mode 0600);
    /// without it a random secret is made for this run
    #[arg(long, value_name = "FILE")]
    pub secret_file: Option<PathBuf>,
    /// Write a new random secret to --secret-file (0600) and exit; a running sidecar uses
    /// it from its next request
    #[arg(long, requires = "secret_file")]
    pub rotate_secret: bool,
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// List cached tokens (never the tokens themselves)
    List(JsonFlag),
    /// Remove every cached access token (refresh tokens stay; see `logout`)
    Clear,
}

#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ClientsCommand {
    /// Register a new client (RFC 7591); prints its secret once
    Register(ClientWrite),
    /// Create a client through the provider's management API; prints its secret once
    Create(ClientWrite),
    /// Show one client
    Get(ClientId),
    /// Change a client's metadata
    Update(ClientUpdate),
    /// Delete a client
    Delete(ClientId),
    /// List the clients the management API knows
    List(ProfileArg),
}

#[derive(Debug, Args)]
pub struct ClientWrite {
    /// Profile whose provider and credentials manage clients
    #[arg(short, long, env = "TOKENBROKER_PROFILE")]
    pub profile: Option<String>,
    #[command(flatten)]
    pub fields: ClientFields,
    /// File holding an RFC 7591 initial access token, when the server requires one
    #[arg(long, value_name = "FILE")]
    pub initial_access_token_file: Option<PathBuf>,
    /// Print a `[profiles.NAME]` TOML table for the new client instead of JSON
    #[arg(long, value_name = "NAME")]
    pub toml: Option<String>,
    /// With --toml: write the client secret to this new file (0600) and reference it as
    /// `file:PATH` instead of writing it into the table
    #[arg(long, value_name = "PATH", requires = "toml")]
    pub secret_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ClientId {
    /// Profile whose provider and credentials manage clients
    #[arg(short, long, env = "TOKENBROKER_PROFILE")]
    pub profile: Option<String>,
    /// The client id (may start with `-`: ids are random text)
    #[arg(allow_hyphen_values = true)]
    pub client_id: String,
}

#[derive(Debug, Args)]
pub struct ClientUpdate {
    #[command(flatten)]
    pub id: ClientId,
    #[command(flatten)]
    pub fields: ClientFields,
}

/// Metadata fields for `clients update` (the profile comes from [`ClientId`]).
#[derive(Debug, Args)]
pub struct ClientFields {
    /// Client metadata as JSON (a file path, `-` for stdin, or inline JSON)
    #[arg(long, value_name = "JSON|FILE|-")]
    pub metadata: Option<String>,
    /// Client name
    #[arg(long)]
    pub name: Option<String>,
    /// Redirect URI (repeat for several)
    #[arg(long = "redirect-uri", value_name = "URI")]
    pub redirect_uris: Vec<String>,
    /// Grant type (repeat for several)
    #[arg(long = "grant-type", value_name = "GRANT")]
    pub grant_types: Vec<String>,
    /// Scope (repeat for several)
    #[arg(short, long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// Response type (repeat for several)
    #[arg(long = "response-type", value_name = "TYPE")]
    pub response_types: Vec<String>,
    /// Send `response_types: []` (a client that never uses the authorization endpoint)
    #[arg(long, conflicts_with = "response_types")]
    pub no_response_types: bool,
    /// token_endpoint_auth_method (client_secret_basic, client_secret_post, private_key_jwt, none)
    #[arg(long, value_name = "METHOD")]
    pub auth_method: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
