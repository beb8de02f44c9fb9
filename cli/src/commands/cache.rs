//! `tokenbroker cache list|clear`.

use serde_json::json;
use tokenbroker::Broker;
use tokenbroker::advanced::cache::{EntryInfo, KeyIdentity};

use crate::args::{CacheCommand, Global};
use crate::fail::{Result, code};
use crate::{broker, note, output};

pub async fn run(global: &Global, command: CacheCommand) -> Result<u8> {
    let broker = broker(global)?;
    match command {
        CacheCommand::List(flag) => {
            let mut entries = broker.cache_entries().await?;
            entries.sort_by(|a, b| a.key.cmp(&b.key));
            let rows: Vec<Row> = entries.iter().map(|e| Row::new(&broker, e)).collect();
            if flag.json {
                let list: Vec<_> = rows
                    .iter()
                    .map(|r| {
                        json!({
                            "profiles": r.profiles,
                            "server": r.server,
                            "client_id": r.client_id,
                            "grant": r.grant,
                            "subject": r.subject,
                            "scopes": r.entry.scopes,
                            "expires_at": output::rfc3339(r.entry.expires_at),
                            "expired": r.entry.expires_at <= std::time::SystemTime::now(),
                            "has_refresh_token": r.entry.has_refresh_token,
                            "key": r.entry.key,
                        })
                    })
                    .collect();
                output::stdout_json(&json!(list), true)?;
            } else {
                let mut text = String::new();
                for r in &rows {
                    let e = r.entry;
                    text.push_str(&format!(
                        "{:<12} {}  {:>7}  refresh:{}  {} {} {}  scopes:{}\n",
                        if r.profiles.is_empty() {
                            "-".into()
                        } else {
                            r.profiles.join(",")
                        },
                        output::rfc3339(e.expires_at),
                        output::human_left(e.expires_at),
                        if e.has_refresh_token { "yes" } else { "no " },
                        r.server,
                        r.client_id,
                        r.grant,
                        if e.scopes.is_empty() {
                            "-".into()
                        } else {
                            e.scopes.join(",")
                        },
                    ));
                }
                output::stdout(&text)?;
                if entries.is_empty() {
                    note!(
                        "The shared token cache is empty (or this config uses store = \"memory\")."
                    );
                }
            }
        }
        CacheCommand::Clear => {
            broker.clear_cache().await?;
            note!(
                "Cleared the token cache (refresh tokens are kept; `tokenbroker logout` forgets them)."
            );
        }
    }
    Ok(code::OK)
}

/// An entry with its canonical key split into fields, and the profiles it belongs to.
struct Row<'a> {
    entry: &'a EntryInfo,
    server: String,
    client_id: String,
    grant: String,
    subject: String,
    profiles: Vec<String>,
}

impl<'a> Row<'a> {
    fn new(broker: &Broker, entry: &'a EntryInfo) -> Self {
        let KeyIdentity {
            server,
            client_id,
            grant,
            subject,
        } = KeyIdentity::parse(&entry.key);
        let profiles = broker.profiles_for_entry(entry);
        Self {
            entry,
            server,
            client_id,
            grant,
            subject,
            profiles,
        }
    }
}
