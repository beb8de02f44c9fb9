//! An external secret store behind a credential helper (`[secrets] command = [...]`), in the
//! manner of git credential helpers and the AWS CLI's `credential_process`.
//!
//! The helper is run without a shell as `command... get|store|erase`, with one JSON object on
//! stdin: `{"name": "..."}`, plus `"secret": "..."` for `store`. For `get` it prints
//! `{"secret": "..."}`, or `{}` / `{"secret": null}` when it has nothing under that name. Exit
//! status 0 means success; anything else, or no answer within the timeout, is an error that
//! names the helper and the operation but never quotes its output (which may hold a secret).
//! `erase` of a missing name must succeed. The helper's environment is the broker's, minus
//! the cache key and every variable an `env:` secret of the config names.

use std::path::PathBuf;
use std::process::Stdio;

use async_trait::async_trait;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zeroize::Zeroizing;

use crate::cache::SecretStore;
use crate::config::SecretsConfig;
use crate::error::{Error, Result};
use crate::secret::Secret;

/// Longest answer read from a helper.
const MAX_OUTPUT: u64 = 1 << 20;
/// A [`SecretStore`] that asks a credential helper.
#[derive(Debug, Clone)]
pub struct HelperSecrets {
    config: SecretsConfig,
    hidden_env: Vec<String>,
}

impl HelperSecrets {
    /// A store running `config.command`; `hidden_env` are variables its process must not see.
    pub fn new(config: SecretsConfig, hidden_env: Vec<String>) -> Self {
        Self { config, hidden_env }
    }

    fn label(&self) -> String {
        let program = PathBuf::from(&self.config.command[0]);
        format!("secret helper '{}'", program.display())
    }

    fn fail(&self, op: &str, reason: impl std::fmt::Display) -> Error {
        Error::cache(format!("{} {op}: {reason}", self.label()))
    }

    /// Runs the helper for `op` with `input` on stdin; its stdout when it exits with 0.
    async fn run(&self, op: &str, input: &Value) -> Result<Zeroizing<Vec<u8>>> {
        let mut cmd = tokio::process::Command::new(&self.config.command[0]);
        cmd.args(&self.config.command[1..])
            .arg(op)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        for name in &self.hidden_env {
            cmd.env_remove(name);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| self.fail(op, format!("cannot start it: {e}")))?;
        let stdin_bytes = Zeroizing::new(input.to_string().into_bytes());
        let mut stdin = child.stdin.take();
        let mut stdout = child.stdout.take();
        let talk = async {
            if let Some(mut pipe) = stdin.take() {
                // A helper that exits without reading its input is judged by its status.
                let _ = pipe.write_all(&stdin_bytes).await;
                let _ = pipe.shutdown().await;
            }
            let mut out = Zeroizing::new(Vec::new());
            if let Some(pipe) = stdout.as_mut() {
                pipe.take(MAX_OUTPUT + 1)
                    .read_to_end(&mut out)
                    .await
                    .map_err(|e| self.fail(op, format!("cannot read its answer: {e}")))?;
            }
            let status = child
                .wait()
                .await
                .map_err(|e| self.fail(op, format!("cannot wait for it: {e}")))?;
            Ok::<_, Error>((status, out))
        };
        let (status, out) = match tokio::time::timeout(self.config.timeout, talk).await {
            Ok(done) => done?,
            Err(_) => {
                return Err(Error::Timeout {
                    endpoint: format!("{} {op}", self.label()),
                    after: self.config.timeout,
                });
            }
        };
        if !status.success() {
            return Err(self.fail(
                op,
                format!("it failed ({status}); its output is not shown since it may hold secrets"),
            ));
        }
        if out.len() as u64 > MAX_OUTPUT {
            return Err(self.fail(op, "its answer is larger than 1 MiB"));
        }
        Ok(out)
    }
}

#[async_trait]
impl SecretStore for HelperSecrets {
    async fn get_secret(&self, name: &str) -> Result<Option<Secret>> {
        let out = self.run("get", &json!({ "name": name })).await?;
        if out.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        let bad = || {
            self.fail(
                "get",
                "its answer is not a JSON object with a string 'secret'",
            )
        };
        let value: Value = serde_json::from_slice(&out).map_err(|_| bad())?;
        let Value::Object(mut map) = value else {
            return Err(bad());
        };
        match map.remove("secret") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(Secret::new(s))),
            Some(_) => Err(bad()),
        }
    }

    async fn set_secret(&self, name: &str, value: &Secret) -> Result<()> {
        let input = json!({ "name": name, "secret": value.expose() });
        self.run("store", &input).await.map(drop)
    }

    async fn delete_secret(&self, name: &str) -> Result<()> {
        self.run("erase", &json!({ "name": name })).await.map(drop)
    }
}

#[cfg(test)]
#[path = "helper_tests.rs"]
mod tests;
