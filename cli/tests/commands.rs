//! The informational commands: providers, profiles, cache list/clear, doctor, completions
//! and help.

mod support;

use serde_json::Value;
use support::{Env, client_requests, new_client};

fn profile(id: &str, secret: &str) -> String {
    format!(
        "[profiles.aos]\nprovider = \"alliance\"\nclient_id = \"{id}\"\nclient_secret = \"{secret}\"\nscopes = [\"a\", \"b\"]\ntoken_url = \"{{P}}/API/v2/OAuth/token\"\n"
    )
}

#[test]
fn providers_lists_every_preset_with_parameters_and_regions() {
    let env = Env::new("");
    let presets: Value = serde_json::from_str(&env.ok(&["providers", "--json"])).unwrap();
    let names: Vec<&str> = presets
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in ["alliance", "alvaria", "alvys", "azure-ad-v1", "oidc"] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    let alvaria = presets
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "alvaria")
        .unwrap();
    assert_eq!(alvaria["params"]["region"]["required"], true);
    assert!(
        alvaria["regions"]["eu"].as_str().unwrap().contains("eu"),
        "{alvaria}"
    );
    let alvys = presets
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "alvys")
        .unwrap();
    assert_eq!(alvys["params"]["tenant"]["format"], "path_segment");

    let text = env.ok(&["providers"]);
    assert!(text.contains("alvaria: Alvaria Cloud MyAccount"), "{text}");
    assert!(text.contains("us-east-tri"), "{text}");
    assert!(text.contains("tenant"), "{text}");
}

#[test]
fn profiles_and_cache_show_no_secrets_and_clear_forces_a_fetch() {
    let (id, secret) = new_client("cachecmd");
    let env = Env::new(&profile(&id, &secret));
    let profiles: Value = serde_json::from_str(&env.ok(&["profiles", "--json"])).unwrap();
    assert_eq!(profiles[0]["name"], "aos");
    assert_eq!(profiles[0]["provider"], "alliance");
    assert_eq!(profiles[0]["grant"], "client_credentials");
    assert!(env.ok(&["profiles"]).starts_with("aos  provider=alliance"));

    assert_eq!(env.ok(&["cache", "list", "--json"]).trim(), "[]");
    let token = env.ok(&["token"]);
    let listed = env.ok(&["cache", "list", "--json"]);
    let entries: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(entries.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(entries[0]["profiles"][0], "aos");
    assert_eq!(entries[0]["client_id"], id.as_str());
    assert_eq!(entries[0]["expired"], false);
    assert_eq!(entries[0]["scopes"], serde_json::json!(["a", "b"]));
    let text = env.ok(&["cache", "list"]);
    assert!(text.starts_with("aos "), "{text}");
    for output in [&listed, &text, &env.ok(&["profiles", "--json"])] {
        assert!(!output.contains(token.trim()), "token shown: {output}");
        assert!(!output.contains(&secret), "client secret shown: {output}");
    }

    let run = env.run(&["cache", "clear"]);
    assert_eq!(
        (run.code(), run.stdout()),
        (0, String::new()),
        "{}",
        run.stderr()
    );
    assert_eq!(env.ok(&["cache", "list", "--json"]).trim(), "[]");
    assert_eq!(client_requests(&id), 1);
    env.ok(&["token"]);
    assert_eq!(client_requests(&id), 2, "cleared, so fetched again");
}

#[test]
fn doctor_checks_config_cache_and_endpoints() {
    let (id, secret) = new_client("doctor");
    let good = Env::new(&profile(&id, &secret));
    let report = good.ok(&["doctor"]);
    assert!(report.contains("ok    config"), "{report}");
    assert!(report.contains("profile aos"), "{report}");
    assert!(report.contains("answered HTTP"), "{report}");
    assert_eq!(client_requests(&id), 0, "doctor never asks for a token");

    let secret_value = "doctor-secret-never-printed";
    let bad = Env::new(&format!(
        "[http]\nmax_retries = 0\nconnect_timeout = 2\n{}\n[profiles.down]\nprovider = \"alvys\"\ntenant = \"t\"\nclient_id = \"x\"\nclient_secret = \"{secret_value}\"\ntoken_url = \"http://127.0.0.1:1/token\"\n",
        profile(&id, &secret)
    ));
    let run = bad.run(&["doctor", "--json"]);
    assert_eq!(run.code(), 4, "{}{}", run.stdout(), run.stderr());
    let json: Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(json["ok"], false);
    let checks = json["checks"].as_array().unwrap();
    let down = checks
        .iter()
        .find(|c| c["check"] == "profile down")
        .unwrap();
    assert_eq!(down["ok"], false);
    assert!(
        down["detail"].as_str().unwrap().contains("127.0.0.1:1"),
        "{down}"
    );
    let up = checks.iter().find(|c| c["check"] == "profile aos").unwrap();
    assert_eq!(up["ok"], true);
    let all = format!("{}{}", run.stdout(), run.stderr());
    assert!(
        !all.contains(secret_value) && !all.contains(&secret),
        "{all}"
    );

    let broken = Env::new("[profiles.p]\nprovider = \"nope\"\nclient_id = \"x\"\n");
    let run = broken.run(&["doctor"]);
    assert_eq!(run.code(), 2, "{}", run.stdout());
    // One broken profile does not fail the file: it fails its own check.
    assert!(run.stdout().contains("ok    config"), "{}", run.stdout());
    assert!(run.stdout().contains("FAIL  profile p"), "{}", run.stdout());
    assert!(
        run.stdout().contains("unknown provider 'nope'"),
        "{}",
        run.stdout()
    );
}

#[test]
fn completions_help_and_version() {
    let env = Env::new("");
    let bash = env.ok(&["completions", "bash"]);
    assert!(bash.contains("_tokenbroker"), "{bash}");
    assert!(
        env.ok(&["completions", "zsh"])
            .contains("#compdef tokenbroker")
    );
    let help = env.ok(&["--help"]);
    for line in ["Exit codes:", "3  the provider refused", "7  interaction"] {
        assert!(help.contains(line), "{help}");
    }
    for sub in [
        "token",
        "header",
        "curl",
        "env",
        "login",
        "logout",
        "serve",
        "cache",
        "providers",
        "profiles",
        "doctor",
        "clients",
        "completions",
    ] {
        assert!(
            help.contains(&format!("  {sub} ")),
            "{sub} missing from help:\n{help}"
        );
    }
    assert!(env.ok(&["--version"]).starts_with("tokenbroker "));
    let run = env.run(&["no-such-command"]);
    assert_eq!(run.code(), 2);
}
