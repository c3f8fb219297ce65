#!/usr/bin/env bash
# Run cargo-lockstep over published crates (network stacks, drivers, lock implementations and
# users) and write a table of files, lines, time and findings per lint to docs/real-crates.md.
#
#   scripts/real-crates.sh              fetch the crates, analyze them, write the table
#   scripts/real-crates.sh --keep DIR   also keep each crate's findings (short format) in DIR
#
# The crates are pinned below. They are downloaded by cargo itself: a scratch crate that depends
# on them is written to target/real-crates/, `cargo fetch` brings their sources into cargo's
# registry cache and each crate is read from `$CARGO_HOME/registry/src/*/NAME-VERSION`. Nothing is
# built; each crate is analyzed by its manifest (`--manifest-path`), library and binary targets,
# default configuration. Not part of `cargo test`: it needs the registry (or a warm cache).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SCRATCH="$ROOT/target/real-crates"
OUT="$ROOT/docs/real-crates.md"
KEEP=""
if [ "${1:-}" = "--keep" ]; then
  KEEP="${2:?--keep needs a directory}"
  mkdir -p "$KEEP"
fi

# name version [dir]: network stacks, drivers, lock implementations, lock-heavy users.
CRATES="
smoltcp 0.12.0
embassy-net 0.7.1
etherparse 0.16.0
pnet_packet 0.35.0
ipstack 1.0.1
virtio-drivers 0.12.0
virtio-queue 0.14.0
vhost 0.13.0
vm-memory 0.16.2
vmm-sys-util 0.12.1
kvm-ioctls 0.19.1
x86_64 0.15.5
uart_16550 0.3.2
rp2040-hal 0.10.2
critical-section 1.2.0
spin 0.10.1
lock_api 0.4.14
parking_lot 0.12.5
embassy-sync 0.7.2
async-lock 3.5.0
crossbeam-channel 0.5.17
linked_list_allocator 0.10.6
tokio 1.54.1
tokio 1.54.1 src/sync
boringtun 0.7.1
tun-rs 2.8.16
vhost-user-backend 0.24.0
event-manager 0.4.2
vm-superio 0.8.2
dbs-interrupt 0.2.2
dbs-virtio-devices 0.3.1
dashmap 6.2.1
flume 0.12.0
rayon-core 1.13.0
threadpool 1.8.1
r2d2 0.8.10
futures-util 0.3.34
async-std 1.13.2
sled 0.34.7
moka 0.12.16
# OS kernels and embedded kernels
ostd 0.19.0
kspin 0.2.0
spinning_top 0.2.5
acpi 6.1.1
aml 0.16.4
conquer-once 0.4.0
embassy-executor 0.10.0
rtic 2.4.0
cortex-m 0.7.10
"

mkdir -p "$SCRATCH"
{
  printf '[package]\nname = "lockstep-real-crates"\nversion = "0.0.0"\nedition = "2021"\n'
  printf 'publish = false\n\n[lib]\npath = "lib.rs"\n\n[dependencies]\n'
  echo "$CRATES" | grep -v "^#" | while read -r name version dir; do
    if [ -n "$name" ] && [ -z "$dir" ]; then printf '%s = "=%s"\n' "$name" "$version"; fi
  done
  printf '\n[workspace]\n'
} >"$SCRATCH/Cargo.toml"
: >"$SCRATCH/lib.rs"
(cd "$SCRATCH" && cargo fetch --quiet)

cargo build --quiet --release -p cargo-lockstep --manifest-path "$ROOT/Cargo.toml"
TOOL="$ROOT/target/release/cargo-lockstep"
REG="${CARGO_HOME:-$HOME/.cargo}/registry/src"
LINTS="unreleased_lock double_lock lock_order_inversion blocking_under_spinlock irq_unsafe_lock resource_leak seq_compare seq_arith isn_not_monotonic parse_error analysis_budget"

# table FLAGS...: one row per crate, analyzed with the given extra flags.
table() {
  echo "$CRATES" | grep -v "^#" | while read -r name version dir; do
    [ -n "$name" ] || continue
    src="$(ls -d "$REG"/*/"$name-$version" 2>/dev/null | head -n 1)"
    if [ -z "$src" ]; then
      echo "real-crates.sh: $name $version not found under $REG" >&2
      exit 2
    fi
    tag="$name${dir:+-$(basename "$dir")}${1:+-all}"
    findings="$SCRATCH/$tag.txt"
    stats="$SCRATCH/$tag.stats"
    status=0
    if [ -n "$dir" ]; then
      # a directory: every .rs file below it (for modules declared inside macros)
      "$TOOL" lockstep "$src/$dir" --message-format short --color never \
        --stats >"$findings" 2>"$stats" || status=$?
    else
      "$TOOL" lockstep --manifest-path "$src/Cargo.toml" --message-format short --color never \
        --stats "$@" >"$findings" 2>"$stats" || status=$?
    fi
    if [ "$status" -gt 1 ]; then
      echo "real-crates.sh: $name $version: exit status $status" >&2
      cat "$stats" >&2
      exit 2
    fi
    if [ -n "$KEEP" ]; then cp "$findings" "$KEEP/$tag-$version.txt"; fi
    files=$(sed -n 's/^lockstep: \([0-9]*\) files, \([0-9]*\) lines.*/\1/p' "$stats")
    lines=$(sed -n 's/^lockstep: \([0-9]*\) files, \([0-9]*\) lines.*/\2/p' "$stats")
    ms=$(sed -n 's/^lockstep: load+parse.* total \([0-9]*\)\.[0-9]* ms/\1/p' "$stats")
    calls=$(sed -n 's/^lockstep: .* calls resolved \([0-9]*\), unresolved \([0-9]*\).*/\1 \/ \2/p' "$stats")
    unresolved=${calls##* / }
    # the unresolved calls by reason: what the analysis could not follow, and why
    reasons=$(sed -n 's/^lockstep: unresolved by reason: //p' "$stats")
    reason() { echo "$reasons" | grep -o "$1 [0-9]*" | grep -o '[0-9]*$' | head -n 1; }
    unknown=$(reason "receiver type unknown")
    outside_m=$(reason "method of a type outside the analyzed code")
    outside_f=$(reason "function outside the analyzed code")
    unknown=${unknown:-0}
    outside=$(( ${outside_m:-0} + ${outside_f:-0} ))
    other=$(( unresolved - unknown - outside ))
    classes=$(sed -n 's/^lockstep: lock graph: \([0-9]*\) lock classes.*/\1/p' "$stats")
    row="| \`$name\`${dir:+ (\`$dir/\`)} | $version | $files | $lines | $ms | ${classes:-0} | $calls | $unknown | $outside | $other |"
    total=0
    for lint in $LINTS; do
      n=$(grep -c "lockstep::$lint\]" "$findings" || true)
      total=$((total + n))
      row="$row $n |"
    done
    echo "$row $total |"
  done
}

header() {
  printf '| crate | version | files | lines | ms | lock classes | calls resolved / unresolved | unresolved: receiver type unknown | unresolved: outside the code read | unresolved: other |'
  for lint in $LINTS; do printf ' `%s` |' "$lint"; done
  printf ' total |\n|---|---|--:|--:|--:|--:|--:|--:|--:|--:|'
  for _ in $LINTS; do printf -- '--:|'; done
  printf -- '--:|\n'
}

default_rows="$(table)"
all_rows="$(table --all-targets)"
{
  echo "# cargo-lockstep on published crates"
  echo
  echo "Written by \`scripts/real-crates.sh\`: each crate analyzed from its manifest with the default"
  echo "configuration by a release build; \`ms\` is the wall time of one run (\`--stats\`, which"
  echo "includes \`cargo metadata\`) on one machine. Every finding is triaged in"
  echo "[triage-locks.md](triage-locks.md) (lock lints) and [triage-seq.md](triage-seq.md)"
  echo "(sequence-number lints). A row with a directory reads every \`.rs\` file below it"
  echo "(paths mode, the same in both tables): tokio declares its modules inside macros, so"
  echo "its manifest reaches only part of the crate."
  echo
  echo "The unresolved calls are split by the reason \`--stats\` gives: the receiver's type is not"
  echo "known; the callee is in code that was not read (std, a dependency whose source is absent,"
  echo "a method of such a type); other (no such method or path in the code read, a trait with no"
  echo "impl there, a type parameter bounded by outside traits only). An unresolved call adds no"
  echo "edge: a crate with few lock classes and many unknown receivers is one the analysis could"
  echo "not see into, not a clean one."
  echo
  echo "## Library and binary targets (the default)"
  echo
  header
  echo "$default_rows"
  echo
  echo "## All targets (\`--all-targets\`: tests, examples, benches, \`#[cfg(test)]\` code)"
  echo
  header
  echo "$all_rows"
} >"$OUT"
echo "wrote $OUT"
