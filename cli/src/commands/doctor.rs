//! `tokenbroker doctor`: checks the config, the cache and each profile's token endpoint.
//!
//! The endpoint check is a plain GET through the broker's own HTTP client (same proxy, CA
//! and timeout settings as token requests): any HTTP status means the endpoint answers;
//! only transport failures and timeouts fail. No credentials are sent, nothing is printed
//! that could be a secret.

use std::time::Instant;

use serde_json::{Value, json};
use tokenbroker::Broker;
use tokenbroker::advanced::http::{Request, Retry};
use tokenbroker::advanced::profile::Endpoint;

use crate::args::Global;
use crate::fail::{Fail, Result, code, exit_code};
use crate::output;

struct Check {
    name: String,
    ok: bool,
    detail: String,
    code: u8,
}

impl Check {
    fn ok(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ok: true,
            detail: detail.into(),
            code: code::OK,
        }
    }

    fn failed(name: impl Into<String>, fail: &Fail) -> Self {
        Self {
            name: name.into(),
            ok: false,
            detail: fail.to_string(),
            code: fail.code(),
        }
    }
}

pub async fn run(global: &Global, as_json: bool) -> Result<u8> {
    let mut checks = Vec::new();
    match crate::broker(global) {
        Err(fail) => checks.push(Check::failed("config", &fail)),
        Ok(broker) => {
            let n = broker.profile_names().len();
            checks.push(Check::ok("config", format!("valid, {n} profile(s)")));
            checks.push(cache_check(&broker).await);
            if let Some(source) = broker.cache_key_source().await {
                checks.push(Check::ok("cache key", source));
            }
            let mut tasks = tokio::task::JoinSet::new();
            for name in broker.profile_names() {
                let broker = broker.clone();
                tasks.spawn(async move { profile_check(&broker, &name).await });
            }
            let mut profiles = Vec::new();
            while let Some(done) = tasks.join_next().await {
                profiles.push(done.map_err(|e| Fail::other(format!("check failed: {e}")))?);
            }
            for (name, why) in broker.config().broken() {
                let label = format!("profile {name}");
                profiles.push(Check::failed(label, &Fail::from(why.clone())));
            }
            profiles.sort_by(|a, b| a.name.cmp(&b.name));
            checks.extend(profiles);
        }
    }
    let worst = checks.iter().find(|c| !c.ok).map_or(code::OK, |c| c.code);
    if as_json {
        let list: Vec<Value> = checks
            .iter()
            .map(|c| json!({"check": c.name, "ok": c.ok, "detail": c.detail}))
            .collect();
        output::stdout_json(&json!({"ok": worst == code::OK, "checks": list}), true)?;
    } else {
        let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
        let text: String = checks
            .iter()
            .map(|c| {
                format!(
                    "{}  {:<width$}  {}\n",
                    if c.ok { "ok  " } else { "FAIL" },
                    c.name,
                    c.detail
                )
            })
            .collect();
        output::stdout(&text)?;
    }
    Ok(worst)
}

async fn cache_check(broker: &Broker) -> Check {
    let store = format!("{:?}", broker.config().cache().store).to_lowercase();
    let before = broker.stats().store_errors;
    match broker.cache_entries().await {
        Err(e) => Check::failed("cache", &Fail::Core(e)),
        Ok(_) if broker.stats().store_errors > before => Check {
            name: "cache".into(),
            ok: false,
            detail: format!(
                "the {store} store cannot be opened; tokens would be kept in memory only (see the warning above)"
            ),
            code: code::CACHE,
        },
        Ok(entries) => Check::ok(
            "cache",
            format!("{store} store, {} cached token(s)", entries.len()),
        ),
    }
}

async fn profile_check(broker: &Broker, name: &str) -> Check {
    let label = format!("profile {name}");
    let profile = match broker.resolved_profile(name).await {
        Ok(p) => p,
        Err(e) => return Check::failed(label, &Fail::Core(e)),
    };
    let url = match profile.endpoint(Endpoint::Token) {
        Ok(u) => u.clone(),
        Err(e) => return Check::failed(label, &Fail::Core(e)),
    };
    let request = Request::get(url).with_retry(Retry::OnlyUnprocessed);
    let started = Instant::now();
    match broker.http().send(&request).await {
        Ok(resp) => Check::ok(
            label,
            format!(
                "{} ({}): token endpoint {} answered HTTP {} in {} ms",
                profile.provider(),
                profile.grant().as_str(),
                resp.endpoint,
                resp.status,
                started.elapsed().as_millis()
            ),
        ),
        Err(e) => Check {
            name: label,
            ok: false,
            code: exit_code(e.kind()),
            detail: e.to_string(),
        },
    }
}
