#!/usr/bin/env bash
# Workspace sweep (issue #12, "never explode"): run cargo-lockstep over whole workspaces of
# kernels, VMMs, network stacks and runtimes at several release tags each, as a user would from
# the workspace root, and write wall time, peak memory, call-summary work, findings per lint and
# status per run to docs/workspace-sweep.md. The goals: 0 crashes, 0 runs over 60 s, 0 runs
# over 2 GiB.
#
#   scripts/workspace-sweep.sh                  sweep every run of the list, write the table
#   scripts/workspace-sweep.sh --only REGEX     run only lines of the list matching REGEX (the
#                                               table is rebuilt from every result on disk)
#   scripts/workspace-sweep.sh --table          rebuild the table from the results on disk
#   KEEP_TREES=1 scripts/workspace-sweep.sh --only 'tikv v8'   rerun one, keep its tree
#
# Environment:
#   LOCKSTEP=PATH     the binary (default: `cargo build --release -p cargo-lockstep` here and
#                     target/release/cargo-lockstep)
#   LOCKSTEP_REV=REV  the commit the binary was built from, for the table (default: this
#                     checkout's HEAD when built here, else a `-<hex>` suffix of LOCKSTEP's name)
#   MIRRORS=DIR       bare git mirrors, laid out DIR/owner+name/repo (default /work/.mirror)
#   SCRATCH=DIR       scratch trees and raw results (default ${TMPDIR:-/tmp}/lockstep-workspace-sweep;
#                     not under this repository's target/: cargo would take a plain package
#                     there for a member of cargo-lockstep's own workspace and fail)
#   LIST=FILE         the runs (default scripts/workspace-sweep.list: `owner/name ref [label]`)
#   TIMEOUT=SECONDS   per run (default 120); MEM_LIMIT_MIB: `ulimit -v` per run (default 6144)
#   RUSTUP_TOOLCHAIN  the toolchain whose cargo the tool's `cargo metadata --no-deps --offline`
#                     runs, for every tree (default: `nightly` for trees whose rust-toolchain file
#                     pins a nightly, since their manifests may use `cargo-features`, else
#                     `stable`: the pinned toolchains themselves are mostly not installed and
#                     cannot be downloaded offline)
#   KEEP_TREES=1      keep the materialised trees (default: deleted after each run)
#
# Each run: the tree at `ref` is written from the mirror with `git archive` into
# $SCRATCH/trees/; submodules are filled in from $MIRRORS when a mirror of the submodule
# (github URLs, or URLs relative to the superproject) holds the recorded commit, and are left
# empty otherwise (noted in the table). The tool runs from the root (or, without a root
# Cargo.toml, from the directory that holds the main workspace, noted in the table):
#   cargo-lockstep lockstep [--workspace] --no-cache --stats --message-format short --color never
# with --workspace when the root manifest has a [workspace] table, under `ulimit -v`,
# `timeout` and `/usr/bin/time -f '%e %M %U %S'`. Raw output stays in $SCRATCH/results/. No code of
# the analysed repositories goes into the table, only names and numbers. Not part of
# `cargo test`: it needs the mirrors; the listed runs take about five minutes on 2 cores.
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MIRRORS="${MIRRORS:-/work/.mirror}"
SCRATCH="${SCRATCH:-${TMPDIR:-/tmp}/lockstep-workspace-sweep}"
LIST="${LIST:-$ROOT/scripts/workspace-sweep.list}"
OUT="${OUT:-$ROOT/docs/workspace-sweep.md}"
TIMEOUT="${TIMEOUT:-120}"
MEM_LIMIT_MIB="${MEM_LIMIT_MIB:-6144}"
USER_TOOLCHAIN="${RUSTUP_TOOLCHAIN:-}"
LINTS="unreleased_lock double_lock lock_order_inversion blocking_under_spinlock irq_unsafe_lock resource_leak seq_compare seq_arith isn_not_monotonic parse_error analysis_budget"
FLAGS="--no-cache --stats --message-format short --color never"
RESULTS="$SCRATCH/results"
TREES="$SCRATCH/trees"

ONLY=""
RUN=1
case "${1:-}" in
  --only) ONLY="${2:?--only needs a regular expression}" ;;
  --table) RUN=0 ;;
  "") ;;
  *) echo "usage: $0 [--only REGEX | --table]" >&2; exit 2 ;;
esac

if [ -z "${LOCKSTEP:-}" ]; then
  cargo build --quiet --release -p cargo-lockstep --manifest-path "$ROOT/Cargo.toml" || exit 2
  LOCKSTEP="$ROOT/target/release/cargo-lockstep"
  LOCKSTEP_REV="${LOCKSTEP_REV:-$(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- analyzer lints cargo-plugin || echo '+dirty')}"
  COMMAND="scripts/workspace-sweep.sh"
else
  LOCKSTEP_REV="${LOCKSTEP_REV:-$(basename "$LOCKSTEP" | sed -n 's/.*-\([0-9a-f]\{7,40\}\)$/\1/p')}"
  COMMAND="LOCKSTEP=$LOCKSTEP scripts/workspace-sweep.sh"
fi
LOCKSTEP_REV="${LOCKSTEP_REV:-unknown}"
mkdir -p "$RESULTS" "$TREES"

# runs: the list without comments, one `repo ref label` a line
runs() {
  grep -v '^[[:space:]]*#' "$LIST" | while read -r repo ref label _; do
    [ -n "$repo" ] && echo "$repo $ref ${label:-$ref}"
  done
}

# id REPO LABEL: the file name of a run's results
id() { echo "${1/\//+}@$2"; }

# materialise GITDIR REF DEST: write the tree at REF into DEST with `git archive`; blobs the
# mirror lacks (snapshots leave out files of 4 MiB and more) are left out and counted in a note
materialise() {
  local git="$1" ref="$2" dest="$3" missing rs
  local list
  list="$(git --git-dir="$git" ls-tree -r "$ref" |
    awk -F'\t' '{ split($1, a, " "); if (a[2] == "blob") print a[3] "\t" $2 }')"
  missing="$(paste <(cut -f 1 <<<"$list" | git --git-dir="$git" cat-file --batch-check='%(objecttype)') \
    <(cut -f 2- <<<"$list") | awk -F'\t' '$1 ~ /missing$/ { print $2 }')"
  mkdir -p "$dest"
  if [ -z "$missing" ]; then
    git --git-dir="$git" archive "$ref" | tar -x -C "$dest" || return 1
  else
    local args=()
    while IFS= read -r f; do args+=(":(exclude,literal)$f"); done <<<"$missing"
    git --git-dir="$git" archive "$ref" -- . "${args[@]}" 2>/dev/null | tar -x -C "$dest" || return 1
    rs=$(grep -c '\.rs$' <<<"$missing")
    echo "$(wc -l <<<"$missing") files absent from the mirror ($rs .rs)"
  fi
}

# suburl REPO URL: owner/name of a submodule on GitHub (URLs relative to the superproject are
# resolved against github.com/REPO), or nothing
suburl() {
  local repo="$1" url="${2%/}" base
  url="${url%.git}"
  case "$url" in
    https://github.com/*) echo "${url#https://github.com/}" ;;
    git@github.com:*) echo "${url#git@github.com:}" ;;
    ../*)
      base="$repo"
      while [ "${url#../}" != "$url" ]; do
        url="${url#../}"
        case "$base" in */*) base="${base%/*}" ;; *) base="" ;; esac
      done
      echo "${base:+$base/}$url" ;;
  esac
}

# submodules GITDIR REF REPO DEST: fill in submodules from $MIRRORS; prints a note per submodule
# that stays empty
submodules() {
  local git="$1" ref="$2" repo="$3" dest="$4" key path url commit sub m
  git --git-dir="$git" cat-file -e "$ref:.gitmodules" 2>/dev/null || return 0
  git --git-dir="$git" config --blob "$ref:.gitmodules" --get-regexp '^submodule\..*\.path$' |
    while read -r key path; do
      url="$(git --git-dir="$git" config --blob "$ref:.gitmodules" --get "${key%.path}.url")"
      commit="$(git --git-dir="$git" ls-tree "$ref" -- "$path" | awk '$2 == "commit" { print $3 }')"
      [ -n "$commit" ] || continue
      sub="$(suburl "$repo" "$url")"
      m="$MIRRORS/${sub/\//+}/repo"
      if [ -n "$sub" ] && git --git-dir="$m" cat-file -e "$commit^{commit}" 2>/dev/null; then
        materialise "$m" "$commit" "$dest/$path" | sed "s#^#submodule $path: #"
      else
        echo "submodule $path empty"
      fi
    done
}

# toolchain TREE WD: the toolchain for cargo: $RUSTUP_TOOLCHAIN when set; else `nightly` when
# the nearest rust-toolchain file pins a nightly (its `cargo-features` need one), else `stable`
toolchain() {
  local d="$1/$2" f
  if [ -n "$USER_TOOLCHAIN" ]; then echo "$USER_TOOLCHAIN"; return; fi
  while :; do
    for f in "$d/rust-toolchain.toml" "$d/rust-toolchain"; do
      if [ -f "$f" ]; then
        if grep -q 'nightly' "$f"; then echo nightly; else echo stable; fi
        return
      fi
    done
    [ "$d" = "$1" ] && break
    d="$(dirname "$d")"
  done
  echo stable
}

# workdir TREE: the directory to run in: the root if it has a Cargo.toml, else the shallowest
# directory with one (`kernel` first, then a [workspace] root, then the most .rs files below)
workdir() {
  local tree="$1"
  if [ -f "$tree/Cargo.toml" ]; then echo "."; return; fi
  (cd "$tree" && find . -name Cargo.toml -not -path '*/target/*' -not -path '*/.*/*' |
    while read -r f; do
      d="$(dirname "$f")"; d="${d#./}"
      depth=$(echo "$d" | tr -cd / | wc -c)
      kernel=1; [ "$(basename "$d")" = kernel ] && kernel=0
      ws=1; grep -q '^[[:space:]]*\[workspace' "$f" && ws=0
      rs=$(find "$d" -name '*.rs' | wc -l)
      echo "$depth $kernel $ws $((1000000 - rs)) $d"
    done | sort -n -k1,1 -k2,2 -k3,3 -k4,4 | head -n 1 | awk '{ print $5 }')
}

run_one() {
  local repo="$1" ref="$2" label="$3" git tree wd flags notes status rid tc
  rid="$(id "$repo" "$label")"
  git="$MIRRORS/${repo/\//+}/repo"
  tree="$TREES/$rid"
  rm -f "$RESULTS/$rid".*
  {
    echo "repo=$repo"; echo "ref=$ref"; echo "label=$label"
  } >"$RESULTS/$rid.meta"
  if ! git --git-dir="$git" rev-parse -q --verify "$ref^{commit}" >/dev/null 2>&1; then
    echo "status=no mirror or ref" >>"$RESULTS/$rid.meta"
    echo "workspace-sweep: $repo $ref: no mirror or ref under $MIRRORS" >&2
    return
  fi
  echo "commit=$(git --git-dir="$git" rev-parse --short=12 "$ref^{commit}")" >>"$RESULTS/$rid.meta"
  rm -rf "$tree"; mkdir -p "$tree"
  if ! notes="$(materialise "$git" "$ref" "$tree")"; then
    echo "status=git archive failed" >>"$RESULTS/$rid.meta"
    return
  fi
  notes="$( (echo "$notes"; submodules "$git" "$ref" "$repo" "$tree") | grep -v '^$' |
    awk '/^submodule .* empty$/ { e[++n] = $2; next } { print }
      END {
        if (n) {
          s = "submodules not in the mirrors, left empty (" n "): " e[1]
          for (i = 2; i <= n && i <= 4; i++) s = s ", " e[i]
          if (n > 4) s = s ", ..."
          print s
        }
      }' | paste -sd ';' -)"
  wd="$(workdir "$tree")"
  if [ -z "$wd" ]; then
    echo "status=no Cargo.toml in the tree" >>"$RESULTS/$rid.meta"
    rm -rf "$tree"
    return
  fi
  [ "$wd" = . ] || notes="no root Cargo.toml, ran in $wd/${notes:+;$notes}"
  flags=""
  grep -q '^[[:space:]]*\[workspace' "$tree/$wd/Cargo.toml" && flags="--workspace"
  tc="$(toolchain "$tree" "$wd")"
  [ "$tc" = stable ] || notes="${notes:+$notes;}cargo: $tc"
  { echo "dir=$wd"; echo "flags=$flags $FLAGS"; echo "toolchain=$tc"; echo "notes=$notes"; } >>"$RESULTS/$rid.meta"
  echo "load=$(cut -d ' ' -f 1 /proc/loadavg)" >>"$RESULTS/$rid.meta"
  echo "workspace-sweep: $repo $label ($wd) ..." >&2
  # shellcheck disable=SC2086
  (
    ulimit -v $((MEM_LIMIT_MIB * 1024))
    export RUSTUP_TOOLCHAIN="$tc"
    cd "$tree/$wd" &&
      exec /usr/bin/time -o "$RESULTS/$rid.time" -f '%e %M %U %S' \
        timeout -k 10 "$TIMEOUT" "$LOCKSTEP" lockstep $flags $FLAGS \
        >"$RESULTS/$rid.out" 2>"$RESULTS/$rid.err"
  )
  status=$?
  echo "exit=$status" >>"$RESULTS/$rid.meta"
  echo "workspace-sweep: $repo $label: exit $status, $(tail -n 1 "$RESULTS/$rid.time" 2>/dev/null)" >&2
  [ "${KEEP_TREES:-}" = 1 ] || rm -rf "$tree"
}

if [ "$RUN" = 1 ]; then
  runs | while read -r repo ref label; do
    if [ -n "$ONLY" ] && ! echo "$repo $ref $label" | grep -Eq -- "$ONLY"; then continue; fi
    run_one "$repo" "$ref" "$label" </dev/null
  done
fi

# --- the table ---------------------------------------------------------------------------------

meta() { sed -n "s/^$2=//p" "$RESULTS/$1.meta" 2>/dev/null | tail -n 1; }

# reason RID: why a run exited 2: the first line of stderr; when that wraps cargo's output, also
# the innermost two of cargo's `Caused by:` messages
reason() {
  local err="$RESULTS/$1.err" first causes
  first="$(grep -v '^[[:space:]]*$' "$err" | head -n 1)"
  if echo "$first" | grep -q 'cargo metadata` failed'; then
    causes="$(awk 'c { sub(/^[[:space:]]+/, ""); if ($0 != "") { print; c = 0 } } /^Caused by:/ { c = 1 }' "$err" |
      tail -n 2 | paste -sd ';' - | sed 's/;/; /')"
    first="$first${causes:+ / $causes}"
  fi
  echo "$first" | sed "s#$TREES/[^/]*#.#g" | cut -c 1-400
}

ROWS="$SCRATCH/rows.tsv"
: >"$ROWS"
runs | while read -r repo ref label; do
  rid="$(id "$repo" "$label")"
  [ -f "$RESULTS/$rid.meta" ] || continue
  st="$(meta "$rid" status)"
  ex="$(meta "$rid" exit)"
  read -r wall rss usr sys < <(tail -n 1 "$RESULTS/$rid.time" 2>/dev/null || true)
  cpu=""
  [ -n "${usr:-}" ] && cpu=$(awk -v u="$usr" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
  files="$(sed -n 's/^lockstep: \([0-9]*\) files, \([0-9]*\) lines.*/\1/p' "$RESULTS/$rid.err" 2>/dev/null | head -n 1)"
  lines="$(sed -n 's/^lockstep: \([0-9]*\) files, \([0-9]*\) lines.*/\2/p' "$RESULTS/$rid.err" 2>/dev/null | head -n 1)"
  peak="$(sed -n 's/^lockstep: peak memory \([0-9.]*\) MiB.*/\1/p' "$RESULTS/$rid.err" 2>/dev/null | head -n 1)"
  entries="$(sed -n 's/^lockstep: call summaries: \([0-9]*\) entries composed, \(.*\)/\1/p' "$RESULTS/$rid.err" 2>/dev/null | head -n 1)"
  sbudget="$(sed -n 's/^lockstep: call summaries: \([0-9]*\) entries composed, \(.*\)/\2/p' "$RESULTS/$rid.err" 2>/dev/null | head -n 1)"
  step="$(sed -n 's/^lockstep: functions hit the step budget\(.*\)/\1/p' "$RESULTS/$rid.err" 2>/dev/null | head -n 1)"
  trunc="$(sed -n 's/^lockstep: functions truncated (too large or deep)\(.*\)/\1/p' "$RESULTS/$rid.err" 2>/dev/null | head -n 1)"
  budget=""
  [ -n "$sbudget" ] && [ "$sbudget" != "within budget" ] && budget="summaries: $sbudget"
  [ -n "$step" ] && [ "$step" != ": none" ] && budget="${budget:+$budget; }step budget$step"
  [ -n "$trunc" ] && [ "$trunc" != ": none" ] && budget="${budget:+$budget; }truncated$trunc"
  if [ -n "$st" ]; then
    status="$st"; kind=skip
  elif [ "$ex" = 0 ] || [ "$ex" = 1 ]; then
    status="ok (exit $ex)"; kind=ok
  elif [ "$ex" = 2 ]; then
    status="exit 2: $(reason "$rid")"; kind=exit2
  elif [ "$ex" = 124 ] || [ "$ex" = 137 ]; then
    status="timeout (${TIMEOUT} s, exit $ex)"; kind=timeout
  elif [ "$ex" = 101 ]; then
    status="crash: internal error (exit 101): $(grep -m 1 'panicked' "$RESULTS/$rid.err" | cut -c 1-200)"; kind=crash
  elif [ -n "$ex" ] && [ "$ex" -gt 128 ]; then
    status="crash: signal $((ex - 128)) (exit $ex): $(grep -v '^lockstep: ' "$RESULTS/$rid.err" | head -n 1 | cut -c 1-200)"; kind=crash
  else
    status="crash: exit $ex"; kind=crash
  fi
  counts=""
  total=0
  for lint in $LINTS; do
    n=$(grep -c "\[lockstep::$lint\]" "$RESULTS/$rid.out" 2>/dev/null)
    n=${n:-0}
    total=$((total + n))
    counts="$counts	$n"
  done
  rssmib=""
  [ -n "${rss:-}" ] && rssmib=$(awk -v k="$rss" 'BEGIN { printf "%.0f", k / 1024 }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s%s\t%s\t%s\t%s\t%s\t%s\n' \
    "$kind" "$repo" "$label" "$(meta "$rid" commit)" "$(meta "$rid" dir)" "${files:-}" "${lines:-}" \
    "${wall:-}" "$rssmib" "${peak:-}" "${entries:-}" "$counts" "$total" "${budget:-}" "$cpu" "$(meta "$rid" load)" \
    "$status$( n="$(meta "$rid" notes)"; [ -n "$n" ] && echo " ($n)" | sed 's/;/; /g')" >>"$ROWS"
done

# summary figures
nruns=$(awk -F'\t' '$1 != "skip"' "$ROWS" | wc -l)
count() { awk -F'\t' -v k="$1" '$1 == k' "$ROWS" | wc -l; }
ncrash=$(count crash); ntimeout=$(count timeout); nexit2=$(count exit2); nok=$(count ok); nskip=$(count skip)
over60=$(awk -F'\t' '$8 != "" && $8 + 0 > 60' "$ROWS" | wc -l)
over2g=$(awk -F'\t' '$9 != "" && $9 + 0 > 2048' "$ROWS" | wc -l)
# maxby COLUMN UNIT: the largest value of a column, with its run
maxby() { sort -t "$(printf '\t')" -k"$1","$1"gr "$ROWS" | awk -F'\t' -v c="$1" -v u="$2" '$c != "" { print $c u " (" $2 " " $3 ")"; exit }'; }
nrepos=$(cut -f 2 "$ROWS" | sort -u | wc -l)
nlines=$(awk -F'\t' '{ s += $7 } END { print s + 0 }' "$ROWS")
# columns: kind repo label commit dir files lines wall rss peak entries, 11 lints (12-22), total,
# budget notes, CPU s, load, status
budgetruns=$(awk -F'\t' '$24 != "" || $22 > 0 { printf "%s%s %s", sep, $2, $3; sep = ", " }' "$ROWS")
exit2runs=$(awk -F'\t' '$1 == "exit2" { printf "%s%s %s", sep, $2, $3; sep = ", " }' "$ROWS")

{
  echo "# Workspace sweep"
  echo
  echo "Written by \`scripts/workspace-sweep.sh\` (issue #12, \"never explode\"): cargo-lockstep run"
  echo "from the workspace root of each repository at each listed tag or dated commit, as a user"
  echo "would run it: \`cargo-lockstep lockstep [--workspace] $FLAGS\`"
  echo "(\`--workspace\` when the root manifest has a \`[workspace]\` table), under"
  echo "\`timeout $TIMEOUT\`, \`ulimit -v\` of $MEM_LIMIT_MIB MiB and \`/usr/bin/time -f '%e %M %U %S'\`, one run at a"
  echo "time on a 2-core machine. Only names and numbers from the analysed repositories are kept."
  echo
  echo "- Command: \`$COMMAND\`"
  echo "- Binary: cargo-lockstep at commit \`$LOCKSTEP_REV\`"
  echo "- Runs, tags and commits: [\`scripts/workspace-sweep.list\`](../scripts/workspace-sweep.list)"
  echo
  echo "## Summary"
  echo
  echo "| goal | result |"
  echo "|---|---|"
  echo "| 0 crashes (exit > 2 or a signal) | $ncrash |"
  echo "| 0 runs over 60 s | $over60 |"
  echo "| 0 runs over 2 GiB peak RSS | $over2g |"
  echo
  echo "- $nruns runs of $nrepos repositories over $nlines lines in all: $nok finished (exit 0 or 1), $nexit2 exit 2, $ntimeout timeouts, $ncrash crashes$([ "$nskip" = 0 ] || echo "; $nskip not run (see status)")."
  echo "- Longest wall time: $(maxby 8 " s")."
  echo "- Most CPU time (user + system): $(maxby 25 " s")."
  echo "- Highest peak RSS (\`/usr/bin/time\`): $(maxby 9 " MiB")."
  echo "- Most call-summary entries composed: $(maxby 11 "")."
  echo "- Runs with a budget note (\`analysis_budget\` findings, partial summaries, step budget, truncation): ${budgetruns:-none}."
  echo "- Runs that exited 2 (reason in the status column): ${exit2runs:-none}."
  echo
  echo "## Runs"
  echo
  echo "\`wall s\` and \`RSS MiB\` are \`/usr/bin/time\`'s elapsed time and peak resident set of the run"
  echo "(including \`cargo metadata\`); \`tool MiB\` is the tool's own \`--stats\` peak; \`entries\` is"
  echo "\`call summaries: N entries composed\`. Lint columns count findings in the short output."
  echo "\`dir\` is where the tool ran (\`.\`: the root). \`CPU s\` is user + system time; \`load\` is"
  echo "the machine's 1-minute load average when the run started: other work shared the machine, so"
  echo "wall times are upper bounds and \`CPU s\` is the steadier figure."
  echo
  echo "The status column also notes how the tree was prepared: \`no root Cargo.toml, ran in DIR/\`;"
  echo "submodules that no mirror here holds (left empty, as in a clone without"
  echo "\`--recurse-submodules\`; the others are filled in from their mirrors); files the mirror lacks"
  echo "(snapshots leave out files of 4 MiB and more); \`cargo: nightly\` where the tree pins a nightly"
  echo "in its rust-toolchain file (its manifests may use \`cargo-features\`; the pinned toolchain itself"
  echo "is not installed), else the installed stable cargo runs \`cargo metadata\`."
  echo
  printf '| repo | tag / date | commit | dir | files | lines | wall s | RSS MiB | tool MiB | entries |'
  for lint in $LINTS; do printf ' `%s` |' "$lint"; done
  printf ' total | budget notes | CPU s | load | status |\n|---|---|---|---|--:|--:|--:|--:|--:|--:|'
  for _ in $LINTS; do printf -- '--:|'; done
  printf -- '--:|---|--:|--:|---|\n'
  awk -F'\t' 'BEGIN { OFS = "" } {
    line = "| `" $2 "` | " $3 " | `" $4 "` | `" $5 "` |"
    for (i = 6; i <= NF; i++) {
      v = $i; gsub(/\|/, "\\|", v)
      line = line " " v " |"
    }
    print line
  }' "$ROWS"
} >"$OUT"
echo "wrote $OUT" >&2
