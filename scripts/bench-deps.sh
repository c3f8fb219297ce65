#!/usr/bin/env bash
# Paired runs of cargo-lockstep on one package without and with its dependencies read:
# cold (--no-cache) and warm (per-file cache filled by a run before), wall milliseconds.
#
#   scripts/bench-deps.sh DIR [RUNS]     DIR holds the package's Cargo.toml
#
# Prints one line per round: cold-no-deps cold-deps warm-no-deps warm-deps. The cache lives in
# a scratch CARGO_TARGET_DIR, removed at the end.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="${1:?a package directory}"
RUNS="${2:-5}"
cargo build --quiet --release -p cargo-lockstep --manifest-path "$ROOT/Cargo.toml"
TOOL="$ROOT/target/release/cargo-lockstep"
CARGO_TARGET_DIR="$(mktemp -d)"
export CARGO_TARGET_DIR
trap 'rm -rf "$CARGO_TARGET_DIR"' EXIT
run() {
  local start
  start=$(date +%s%N)
  "$TOOL" lockstep --manifest-path "$DIR/Cargo.toml" "$@" >/dev/null 2>&1 || true
  echo $((($(date +%s%N) - start) / 1000000))
}
echo "cold-no-deps cold-deps warm-no-deps warm-deps"
for _ in $(seq "$RUNS"); do
  a=$(run --no-cache --no-deps)
  b=$(run --no-cache)
  run --no-deps >/dev/null
  run >/dev/null
  c=$(run --no-deps)
  d=$(run)
  echo "$a $b $c $d"
done
