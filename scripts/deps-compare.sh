#!/usr/bin/env bash
# Each published crate of scripts/real-crates.sh analyzed twice, with `--no-deps` and with its
# dependencies read from source, by a release build: lock classes, findings, wall time,
# dependencies read and lock types learned from their code. Not part of `cargo test`: it needs
# the crates fetched (run scripts/real-crates.sh once). Prints one line per crate.
#
#   scripts/deps-compare.sh [OUTDIR]    findings and --stats of every run are kept in OUTDIR
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-$ROOT/target/deps-compare}"
mkdir -p "$OUT"
cargo build --quiet --release -p cargo-lockstep --manifest-path "$ROOT/Cargo.toml"
TOOL="$ROOT/target/release/cargo-lockstep"
REG="${CARGO_HOME:-$HOME/.cargo}/registry/src"
CRATES=$(sed -n '/^CRATES="/,/^"/p' "$ROOT/scripts/real-crates.sh" | sed '1d;$d' | grep -v '^#')
echo "$CRATES" | while read -r name version dir; do
  [ -n "$name" ] && [ -z "$dir" ] || continue
  src="$(ls -d "$REG"/*/"$name-$version" 2>/dev/null | head -n 1)"
  [ -n "$src" ] || { echo "$name $version not fetched" >&2; exit 2; }
  for mode in nodeps deps; do
    flag=()
    [ "$mode" = nodeps ] && flag=(--no-deps)
    start=$(date +%s%N)
    status=0
    "$TOOL" lockstep --manifest-path "$src/Cargo.toml" --message-format short --color never \
      --no-cache --stats "${flag[@]}" >"$OUT/$name.$mode.txt" 2>"$OUT/$name.$mode.stats" || status=$?
    [ "$status" -le 1 ] || { echo "$name: exit status $status" >&2; exit 2; }
    echo $((($(date +%s%N) - start) / 1000000)) >"$OUT/$name.$mode.ms"
  done
  classes() { sed -n 's/.*lock graph: \([0-9]*\) lock classes.*/\1/p' "$1"; }
  f0=$(grep -c "lockstep::" "$OUT/$name.nodeps.txt" || true)
  f1=$(grep -c "lockstep::" "$OUT/$name.deps.txt" || true)
  same=yes
  diff -q <(grep "lockstep::" "$OUT/$name.nodeps.txt") <(grep "lockstep::" "$OUT/$name.deps.txt") >/dev/null || same=no
  read_=$(sed -n 's/^lockstep: dependencies: \([0-9]*\) packages read ([0-9]* files, \([0-9]*\) lines).*/\1 | \2/p' "$OUT/$name.deps.stats")
  learned=$(sed -n 's/.*, \([0-9]*\) lock types learned.*/\1/p' "$OUT/$name.deps.stats")
  echo "| \`$name\` | $version | $(classes "$OUT/$name.nodeps.stats") → $(classes "$OUT/$name.deps.stats") | $f0 → $f1 ($same) | $(cat "$OUT/$name.nodeps.ms") → $(cat "$OUT/$name.deps.ms") | $read_ | $learned |"
done
