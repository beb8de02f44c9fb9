#!/usr/bin/env bash
# `make fuzz`: runs every cargo-fuzz target in fuzz/ for FUZZ_SECS seconds (default 60) with
# overflow checks on, goes on past a crash, and prints one line per target: executions and
# the crash, if any (its input is kept in fuzz/artifacts/TARGET/). FUZZ_TARGETS="a b" runs
# only those. Exits 1 when any target crashed. Installs cargo-fuzz when it is missing; uses
# the nightly toolchain when installed, else stable with RUSTC_BOOTSTRAP=1.
set -uo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${FUZZ_SECS:-60}
export CARGO_TARGET_DIR=$PWD/target

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  toolchain=(+nightly)
else
  toolchain=()
  export RUSTC_BOOTSTRAP=1
fi
fuzz() { cargo "${toolchain[@]}" fuzz "$@"; }

targets=${FUZZ_TARGETS:-$(fuzz list)}
fuzz build --debug-assertions >/dev/null || exit 2

crashed=0
for target in $targets; do
  mkdir -p "corpus/$target" "artifacts/$target"
  log="artifacts/$target/last-run.log"
  seeds=()
  [ -d "seeds/$target" ] && seeds=("seeds/$target")
  fuzz run --debug-assertions "$target" "corpus/$target" "${seeds[@]}" -- \
    -max_total_time="$secs" -print_final_stats=1 -rss_limit_mb=2048 -max_len=65536 -dict=hostile.dict \
    >"$log" 2>&1
  status=$?
  runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  [ -n "$runs" ] || runs=$(grep -oE '#[0-9]+' "$log" | tail -1 | tr -d '#')
  if [ "$status" -eq 0 ]; then
    echo "$target: ${runs:-?} runs in ${secs} s, no crash"
  else
    crashed=1
    why=$(grep -m1 -E "panicked at|ERROR: (libFuzzer|AddressSanitizer)" -A1 "$log" | tr '\n' ' ')
    input=$(grep -oE "artifacts/$target/[a-z]+-[0-9a-f]+" "$log" | head -1)
    echo "$target: CRASH after ${runs:-?} runs: ${why} input: fuzz/${input}"
  fi
done
exit "$crashed"
