//! `tokenbroker providers` and `tokenbroker profiles`.

use serde_json::{Value, json};
use tokenbroker::advanced::profile::Endpoint;
use tokenbroker::advanced::provider::{self, ParamFormat, Preset};

use crate::args::Global;
use crate::fail::{Result, code};
use crate::{broker, output};

fn format_name(format: ParamFormat) -> &'static str {
    match format {
        ParamFormat::Text => "text",
        ParamFormat::Guid => "guid",
        ParamFormat::PathSegment => "path_segment",
    }
}

fn preset_json(p: &Preset) -> Value {
    let params: serde_json::Map<String, Value> = p
        .params
        .iter()
        .map(|(name, spec)| {
            (
                name.clone(),
                json!({
                    "about": spec.about,
                    "required": spec.required,
                    "format": format_name(spec.format),
                    "default": spec.default,
                }),
            )
        })
        .collect();
    json!({
        "name": p.name,
        "title": p.title,
        "seeds": p.seeds,
        "auth_method": p.auth_method.as_str(),
        "default_grant": p.default_grant.as_deref().unwrap_or("client_credentials"),
        "discovery": p.discovery,
        "scope_param": p.scope_param,
        "scope_separator": p.scope_separator,
        "default_scopes": p.default_scopes,
        "token_url": p.token_url,
        "params": params,
        "regions": p.regions,
    })
}

pub fn providers(as_json: bool) -> Result<u8> {
    let presets = provider::presets();
    if as_json {
        let list: Vec<Value> = presets.iter().map(preset_json).collect();
        output::stdout_json(&json!(list), true)?;
        return Ok(code::OK);
    }
    let mut text = String::new();
    for p in presets {
        text.push_str(&format!("{}: {}", p.name, p.title));
        if !p.seeds.is_empty() {
            text.push_str(&format!(" (seeds {})", p.seeds.join(", ")));
        }
        text.push('\n');
        match (&p.token_url, p.discovery) {
            (_, true) => text.push_str("  endpoints: discovered from `issuer`\n"),
            (Some(url), false) => text.push_str(&format!("  token_url: {url}\n")),
            (None, false) => {}
        }
        text.push_str(&format!(
            "  grant: {}, auth_method: {}, scopes sent as '{}' separated by {:?}{}\n",
            p.default_grant.as_deref().unwrap_or("client_credentials"),
            p.auth_method.as_str(),
            p.scope_param,
            p.scope_separator,
            if p.default_scopes.is_empty() {
                String::new()
            } else {
                format!(", default scopes: {}", p.default_scopes.join(" "))
            }
        ));
        if !p.params.is_empty() {
            text.push_str("  parameters:\n");
            let width = p.params.keys().map(String::len).max().unwrap_or(0);
            for (name, spec) in &p.params {
                let mut flags = vec![format_name(spec.format).to_owned()];
                if spec.required {
                    flags.push("required".into());
                }
                if let Some(d) = &spec.default {
                    flags.push(format!("default {d}"));
                }
                text.push_str(&format!(
                    "    {name:<width$}  {} [{}]\n",
                    spec.about,
                    flags.join(", ")
                ));
            }
        }
        if !p.regions.is_empty() {
            text.push_str("  regions:\n");
            let width = p.regions.keys().map(String::len).max().unwrap_or(0);
            for (region, host) in &p.regions {
                text.push_str(&format!("    {region:<width$}  {host}\n"));
            }
        }
        text.push('\n');
    }
    output::stdout(&text)?;
    Ok(code::OK)
}

pub fn profiles(global: &Global, as_json: bool) -> Result<u8> {
    let broker = broker(global)?;
    let config = broker.config();
    let rows: Vec<Value> = config
        .profiles()
        .map(|(name, p)| {
            json!({
                "name": name,
                "provider": p.provider(),
                "grant": p.grant().as_str(),
                "client_id": p.client_id(),
                "auth_method": p.auth_method().as_str(),
                "scopes": p.scopes(),
                "issuer": p.issuer(),
                "token_url": p.endpoint(Endpoint::Token).ok().map(|u| u.as_str()),
            })
        })
        .collect();
    // A profile that does not load is reported (it still fails when used); the others list.
    let mut any_broken = false;
    for (_, why) in config.broken() {
        eprintln!("{why}");
        any_broken = true;
    }
    let status = if !any_broken { code::OK } else { code::USAGE };
    if as_json {
        output::stdout_json(&json!(rows), true)?;
        return Ok(status);
    }
    let mut text = String::new();
    for (name, p) in config.profiles() {
        let endpoint = p
            .endpoint(Endpoint::Token)
            .ok()
            .map(|u| u.to_string())
            .or_else(|| p.issuer().map(|i| format!("issuer {i}")))
            .unwrap_or_default();
        text.push_str(&format!(
            "{name}  provider={} grant={} client_id={}  {endpoint}\n",
            p.provider(),
            p.grant().as_str(),
            p.client_id()
        ));
    }
    output::stdout(&text)?;
    Ok(status)
}
