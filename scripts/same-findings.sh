#!/usr/bin/env bash
# Check that a change keeps every finding: build two revisions' release binaries (each in its
# own git worktree under target/same-findings/), run both on every fixture crate, the reference
# stack and the crates of scripts/real-crates.sh (default targets and --all-targets, with
# dependencies read), and diff their JSON output, one file per input.
#
#   scripts/same-findings.sh BASE [HEAD]     HEAD defaults to the working tree
#
# Exit status 0 when every output is identical, 1 when some differ (the diffs are printed).
# The published crates must be in cargo's registry cache: run scripts/real-crates.sh once, or
# `cargo fetch` in target/real-crates/. Not part of `cargo test`.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BASE="${1:?usage: same-findings.sh BASE [HEAD]}"
HEAD="${2:-}"
WORK="$ROOT/target/same-findings"
mkdir -p "$WORK"

# build REV NAME: a release binary of REV (empty: the working tree) at $WORK/NAME/cargo-lockstep
build() {
  local rev="$1" name="$2" tree
  if [ -z "$rev" ]; then
    tree="$ROOT"
    (cd "$tree" && cargo build --quiet --release -p cargo-lockstep)
    mkdir -p "$WORK/$name"
    cp "$tree/target/release/cargo-lockstep" "$WORK/$name/cargo-lockstep"
    return
  fi
  tree="$WORK/tree-$name"
  # a commit of this repository (`HEAD` inside the worktree would be the worktree's own)
  rev="$(git -C "$ROOT" rev-parse --verify "$rev^{commit}")"
  if [ ! -d "$tree" ]; then
    git -C "$ROOT" worktree add --detach --quiet "$tree" "$rev"
  else
    git -C "$tree" checkout --quiet --detach "$rev"
  fi
  (cd "$tree" && CARGO_TARGET_DIR="$WORK/target-$name" cargo build --quiet --release -p cargo-lockstep)
  mkdir -p "$WORK/$name"
  cp "$WORK/target-$name/release/cargo-lockstep" "$WORK/$name/cargo-lockstep"
}

build "$BASE" base
build "$HEAD" head

REG="${CARGO_HOME:-$HOME/.cargo}/registry/src"
inputs() {
  # fixture crates: directories with a Cargo.toml not inside another one
  find "$ROOT/fixtures" -name Cargo.toml -not -path '*/target/*' -printf '%h\n' | sort |
    awk 'NR==1 || index($0, prev "/") != 1 { print; prev = $0 }' |
    sed 's/^/manifest /'
  sed -n '/^CRATES="/,/^"/p' "$ROOT/scripts/real-crates.sh" | grep -v '^#\|^CRATES\|^"' |
    while read -r name version dir; do
      [ -n "$name" ] || continue
      src="$(ls -d "$REG"/*/"$name-$version" 2>/dev/null | head -n 1)"
      if [ -z "$src" ]; then
        echo "same-findings.sh: $name $version not in $REG (run scripts/real-crates.sh)" >&2
        continue
      fi
      if [ -n "$dir" ]; then echo "paths $src/$dir"; else echo "manifest $src"; echo "all $src"; fi
    done
}

status=0
n=0
while read -r kind path; do
  n=$((n + 1))
  tag="$(echo "$kind-${path#"$ROOT"/}" | tr '/' '_')"
  for side in base head; do
    bin="$WORK/$side/cargo-lockstep"
    case "$kind" in
      manifest) args=(--manifest-path "$path/Cargo.toml") ;;
      all) args=(--manifest-path "$path/Cargo.toml" --all-targets) ;;
      paths) args=("$path") ;;
    esac
    (cd "$ROOT" && "$bin" lockstep "${args[@]}" --message-format json --color never --no-cache \
      >"$WORK/$side/$tag.json" 2>/dev/null) || true
  done
  if ! cmp -s "$WORK/base/$tag.json" "$WORK/head/$tag.json"; then
    echo "== differs: $kind $path"
    diff <(tr -s ' ' <"$WORK/base/$tag.json") <(tr -s ' ' <"$WORK/head/$tag.json") | head -40 || true
    status=1
  fi
done < <(inputs)
echo "same-findings.sh: $n inputs compared, $([ $status = 0 ] && echo identical || echo 'some differ')"
exit $status
