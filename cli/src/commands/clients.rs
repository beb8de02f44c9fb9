//! `tokenbroker clients …`: client registration and management through a profile. The core
//! picks the API from the profile's preset (RFC 7591/7592, or Alvaria's organisation client
//! API), validates metadata and keeps registration access tokens in the secret store; the
//! CLI builds the metadata from flags and prints JSON.
//!
//! Only `register`/`create` print a credential (the client secret, once). `get`, `update` and
//! `list` never do, even when a server sends one back.

use std::io::Read;
use std::path::Path;

use serde_json::{Value, json};
use tokenbroker::Secret;
use tokenbroker::advanced::registration::{ClientMetadata, SecretPlacement};

use crate::args::{ClientFields, ClientWrite, ClientsCommand, Global};
use crate::fail::{Fail, Result, code};
use crate::{broker, note, output, pick_profile};

pub async fn run(global: &Global, command: ClientsCommand) -> Result<u8> {
    let broker = broker(global)?;
    match command {
        ClientsCommand::Register(args) | ClientsCommand::Create(args) => {
            register(&broker, args).await
        }
        ClientsCommand::Get(args) => {
            let profile = pick_profile(&broker, args.profile.as_deref())?;
            let client = broker.read_client(&profile, &args.client_id).await?;
            output::stdout_json(&client.to_json(false), true)?;
            Ok(code::OK)
        }
        ClientsCommand::Update(args) => {
            let profile = pick_profile(&broker, args.id.profile.as_deref())?;
            // Updates replace the whole registration: start from what the server has.
            let current = broker.read_client(&profile, &args.id.client_id).await?;
            let metadata = metadata(current.metadata, &args.fields)?;
            let client = broker
                .update_client(&profile, &args.id.client_id, &metadata)
                .await?;
            output::stdout_json(&client.to_json(false), true)?;
            Ok(code::OK)
        }
        ClientsCommand::Delete(args) => {
            let profile = pick_profile(&broker, args.profile.as_deref())?;
            broker.delete_client(&profile, &args.client_id).await?;
            output::stdout_json(
                &json!({"client_id": args.client_id, "deleted": true}),
                false,
            )?;
            Ok(code::OK)
        }
        ClientsCommand::List(args) => {
            let profile = pick_profile(&broker, args.profile.as_deref())?;
            let clients = broker.list_clients(&profile).await?;
            let list: Vec<Value> = clients.iter().map(|c| c.to_json(false)).collect();
            output::stdout_json(&json!(list), true)?;
            Ok(code::OK)
        }
    }
}

async fn register(broker: &tokenbroker::Broker, args: ClientWrite) -> Result<u8> {
    let profile = pick_profile(broker, args.profile.as_deref())?;
    let metadata = metadata(ClientMetadata::new(), &args.fields)?;
    let initial = match &args.initial_access_token_file {
        Some(path) => Some(read_token_file(path)?),
        None => None,
    };
    let client = broker
        .register_client(&profile, &metadata, initial.as_ref())
        .await?;
    match &args.toml {
        Some(name) => {
            let placement = match &args.secret_file {
                Some(path) => SecretPlacement::File(path.clone()),
                None => SecretPlacement::Literal,
            };
            let table = broker.client_profile(&profile, &client, &placement).await?;
            let text = tokenbroker::advanced::registration::profile_toml(name, &table)?;
            output::stdout(&text)?;
        }
        None => output::stdout_json(&issued_json(&client), true)?,
    }
    if client.client_secret.is_some() {
        note!(
            "Registered client '{}'. Its secret is shown this once: keep it now.",
            client.client_id
        );
    } else {
        note!("Registered client '{}'.", client.client_id);
    }
    Ok(code::OK)
}

/// The new client with its client secret, the one credential shown once. The registration
/// access token stays in the secret store and an API key the server echoed is not printed.
fn issued_json(client: &tokenbroker::RegisteredClient) -> Value {
    let mut json = client.to_json(false);
    if let (Value::Object(map), Some(secret)) = (&mut json, &client.client_secret) {
        map.insert("client_secret".into(), secret.expose().into());
    }
    json
}

/// `base` with the fields given on the command line: `--metadata` first, then each flag.
fn metadata(mut base: ClientMetadata, fields: &ClientFields) -> Result<ClientMetadata> {
    if let Some(source) = &fields.metadata {
        let Value::Object(map) = read_json(source)? else {
            return Err(Fail::usage("--metadata must be a JSON object"));
        };
        for (key, value) in map {
            base.set(&key, value);
        }
    }
    if let Some(name) = &fields.name {
        base.set("client_name", name.as_str());
    }
    if !fields.redirect_uris.is_empty() {
        base.set("redirect_uris", json!(fields.redirect_uris));
    }
    if !fields.grant_types.is_empty() {
        base.set("grant_types", json!(fields.grant_types));
    }
    if !fields.response_types.is_empty() {
        base.set("response_types", json!(fields.response_types));
    }
    if fields.no_response_types {
        base.set("response_types", json!([]));
    }
    if !fields.scopes.is_empty() {
        base.set("scope", fields.scopes.join(" "));
    }
    if let Some(method) = &fields.auth_method {
        base.set("token_endpoint_auth_method", method.as_str());
    }
    Ok(base)
}

/// `--metadata`: inline JSON, `-` for stdin, or a file path.
fn read_json(source: &str) -> Result<Value> {
    let text = if source.trim_start().starts_with('{') {
        source.to_owned()
    } else if source == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Fail::usage(format!("cannot read --metadata from stdin: {e}")))?;
        text
    } else {
        tokenbroker::advanced::regular_file::read_text(Path::new(source))
            .map_err(|e| Fail::usage(format!("cannot read --metadata file {source}: {e}")))?
    };
    serde_json::from_str(&text).map_err(|e| Fail::usage(format!("--metadata is not JSON: {e}")))
}

fn read_token_file(path: &Path) -> Result<Secret> {
    let text = tokenbroker::advanced::regular_file::read_text(path).map_err(|e| {
        Fail::usage(format!(
            "cannot read initial access token file {}: {e}",
            path.display()
        ))
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(Fail::usage(format!("{} is empty", path.display())));
    }
    Ok(Secret::new(token))
}
