//! The environment of child processes the broker or its front ends start (the browser
//! opener, `curl`): never the cache key, never a variable an `env:` secret was read from.

use std::process::Command;

use crate::cache::KEY_ENV;
use crate::config::Config;

/// The variables a child process must not inherit under `config`: [`KEY_ENV`] and every
/// variable named by an `env:` secret of any profile.
pub fn secret_variables(config: &Config) -> Vec<String> {
    let mut names = vec![KEY_ENV.to_owned()];
    for profile in config.profiles.values() {
        for name in profile.secret_env_names() {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
    }
    names
}

/// Removes [`secret_variables`] from `command`'s environment; the rest is inherited.
pub fn remove_secrets<'a>(command: &'a mut Command, config: &Config) -> &'a mut Command {
    for name in secret_variables(config) {
        command.env_remove(name);
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_secrets_and_the_cache_key_are_listed() {
        // SAFETY: this test's variable name is unique to it; no other thread reads it.
        unsafe { std::env::set_var("TB_CHILD_ENV_TEST_SECRET", "v4lue-of-the-secret") };
        let config = Config::from_toml_str(
            "[profiles.a]\nprovider = \"alvys\"\ntenant = \"t\"\nclient_id = \"x\"\n\
             client_secret = \"env:TB_CHILD_ENV_TEST_SECRET\"\n",
        )
        .unwrap();
        let names = secret_variables(&config);
        assert_eq!(names, [KEY_ENV, "TB_CHILD_ENV_TEST_SECRET"]);
    }
}
