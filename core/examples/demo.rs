//! `make demo`: starts the project's test provider on 127.0.0.1 and fetches a token for each
//! seed preset through one broker, printing what happened (never the tokens).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

use tokenbroker::{Broker, Config, TokenOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut provider = Command::new("node")
        .arg(root.join("tests/provider/server.mjs"))
        .arg("--exit-on-stdin-close")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(provider.stdout.take().expect("stdout")).read_line(&mut line)?;
    let url = serde_json::from_str::<serde_json::Value>(&line)?["url"]
        .as_str()
        .ok_or("provider printed no url")?
        .to_owned();
    println!("test provider listening at {url}\n");

    let config = Config::from_toml_str(&DEMO_CONFIG.replace("{P}", &url))?;
    let broker = Broker::new(config)?;
    let options = TokenOptions::default();
    for profile in broker.profile_names() {
        let preset = broker.config().profile(&profile)?.preset;
        let started = Instant::now();
        let result = tokenbroker::runtime::block_on(broker.token(&profile, &options));
        let fetched_in = started.elapsed();
        match result {
            Ok(token) => {
                let started = Instant::now();
                let again = tokenbroker::runtime::block_on(broker.token(&profile, &options))?;
                let hit_in = started.elapsed();
                assert_eq!(again.secret(), token.secret());
                println!(
                    "{profile:<10} {:<44} {} token, expires in {:>4}s, scopes {:?}\n{:<10} fetched in {:>7.1?}, then served from cache in {:>7.1?}",
                    preset.title,
                    token.token_type(),
                    token.remaining().as_secs(),
                    token.scopes(),
                    "",
                    fetched_in,
                    hit_in,
                );
            }
            Err(e) => println!("{profile:<10} {:<44} failed: {e}", preset.title),
        }
    }
    let stats = broker.stats();
    println!(
        "\n{} provider requests for {} profiles; {} cache hits.",
        stats.fetches,
        broker.profile_names().len(),
        stats.hits
    );
    drop(provider.stdin.take());
    provider.wait()?;
    Ok(())
}

/// One profile per seed provider, each pointed at the loopback test provider.
const DEMO_CONFIG: &str = r#"
[cache]
store = "memory"

[profiles.alliance]
provider = "alliance"
client_id = "aos-client"
client_secret = "aos-secret"
scopes = ["User.Read.All"]
enrollment = "6f1c2a4e-0b7d-4c1e-9a55-2f7f1b0e8c3d"
token_url = "{P}/API/v2/OAuth/token"

[profiles.alvaria]
provider = "alvaria"
region = "eu"
client_id = "alvaria-client"
client_secret = "alvaria-secret"
scopes = ["myaccount.clients.list"]
token_url = "{P}/tokenservice/oauth2/access_token"

[profiles.alvys]
provider = "alvys"
tenant = "demo-tenant"
client_id = "alvys-client"
client_secret = "alvys-secret"
token_url = "{P}/api/authentication/demo-tenant/token"
"#;
