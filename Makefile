# tokenbroker: `make demo` runs the main job, `make test` installs what it needs and runs
# every test. One cargo target dir is shared by every crate and binding.
SHELL := /bin/bash
export CARGO_TARGET_DIR ?= $(CURDIR)/target
export CARGO_TERM_COLOR ?= never
# Cases per property in core/tests/parsers_prop.rs (a short pass; `make fuzz` goes longer).
export PROPTEST_CASES ?= 256
# Seconds each fuzz target runs in `make fuzz`.
FUZZ_SECS ?= 60

.PHONY: demo test setup system-deps lint test-rust test-keyring test-python test-node test-uniffi bench-rust bench-herd bench-fleet bench-cold fuzz

demo: tests/oidc/node_modules
	cargo build -q -p tokenbroker-cli
	scripts/demo.sh

test: setup lint test-rust test-keyring test-python test-node test-uniffi

setup: system-deps tests/oidc/node_modules

# System packages the tests use, installed only if missing: redis-server and redis-sentinel
# (Redis tier, Cluster and Sentinel tests), curl
# (`tokenbroker curl`), chromium (the CLI's real browser login), gnome-keyring + dbus +
# secret-tool + dbus-launch (the OS keyring tests, tests/keyring/session.sh), jq (the example
# secret helpers, examples/secret-helpers).
APT_NEEDS := $(strip $(if $(shell command -v redis-server),,redis-server) \
	$(if $(shell command -v redis-sentinel),,redis-sentinel) \
	$(if $(shell command -v curl),,curl) $(if $(shell command -v chromium),,chromium) \
	$(if $(shell command -v gnome-keyring-daemon),,gnome-keyring) \
	$(if $(shell command -v dbus-run-session),,dbus) \
	$(if $(shell command -v secret-tool),,libsecret-tools) \
	$(if $(shell command -v dbus-launch),,dbus-x11) $(if $(shell command -v jq),,jq))
system-deps:
	@if [ -n "$(APT_NEEDS)" ]; then \
	  echo "installing $(APT_NEEDS)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_NEEDS) >/dev/null; \
	fi

tests/oidc/node_modules: tests/oidc/package.json tests/oidc/package-lock.json
	cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -q -- -D warnings

# Everything outside an OS keyring (the "no keyring" case); the keyring tests skip here.
test-rust:
	TB_SKIP_KEYRING_TESTS=1 cargo test --workspace

# The test binaries that need the OS keyring, inside a private D-Bus session with an unlocked
# gnome-keyring and a throwaway HOME (tests/keyring/session.sh).
test-keyring:
	tests/keyring/session.sh cargo test -p tokenbroker --test keyring
	tests/keyring/session.sh cargo test -p tokenbroker-cli --test keyring_cli

# The Python package: venv, maturin develop, mypy --strict, pytest.
test-python:
	$(MAKE) -C python test

# The npm package: npm ci, napi build, tsc, node --test.
test-node:
	$(MAKE) -C node test

# Kotlin (JVM + JNA) and Swift (swiftc in a Debian trixie chroot) through uniffi.
test-uniffi:
	$(MAKE) -C bindings/uniffi test

bench-rust:
	cargo bench -p tokenbroker --bench cache

bench-herd: tests/oidc/node_modules
	cargo run -q --release -p tokenbroker --example herd

# Fleet herds on a Redis Cluster and across a Sentinel failover, and a Redis hit from a cold
# process (docs/benchmarks.md, "Fleets on Redis").
bench-fleet: system-deps
	cargo run -q --release -p tokenbroker --example fleet

# Cold start: a new process with a cached token (CLI, Python, Node vs their peers and the bare
# start-up floors) and the first call of a new client (docs/benchmarks.md, "Cold start").
bench-cold:
	bench/cold/run.sh

# Coverage-guided fuzzing of every parser (fuzz/, cargo-fuzz): FUZZ_SECS per target; prints
# runs and crashes per target (docs/security.md, "Fuzzing").
fuzz:
	FUZZ_SECS=$(FUZZ_SECS) scripts/fuzz.sh
