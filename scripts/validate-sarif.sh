#!/usr/bin/env bash
# Validate cargo-lockstep's SARIF output with the SARIF multitool (a .NET binary shipped on npm
# that runs offline once installed).
#
#   scripts/validate-sarif.sh              validate the renderer's sample log (a test)
#   scripts/validate-sarif.sh FILE.sarif…  validate the given logs
#
# The tool is installed once into $SARIF_TOOL_DIR (default: target/sarif-multitool).
set -euo pipefail

VERSION=5.7.0
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="${SARIF_TOOL_DIR:-$ROOT/target/sarif-multitool}"
TOOL="$DIR/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"

case "$(uname -s)" in
  Linux) ;;
  *) echo "validate-sarif.sh: only the linux build of the multitool is wired here" >&2; exit 2 ;;
esac

if [ ! -x "$TOOL" ] || ! "$TOOL" --version 2>/dev/null | grep -q "$VERSION"; then
  mkdir -p "$DIR"
  npm install --silent --no-audit --no-fund --prefix "$DIR" "@microsoft/sarif-multitool@$VERSION"
  chmod u+x "$TOOL"
fi
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1

if [ "$#" -eq 0 ]; then
  cd "$ROOT"
  LOCKSTEP_SARIF_VALIDATE=1 SARIF_MULTITOOL="$TOOL" \
    cargo test -p cargo-lockstep --test render_sarif multitool_validates_the_log -- --nocapture
  exit
fi

status=0
for f in "$@"; do
  out="$(mktemp --suffix=.sarif)"
  "$TOOL" validate "$f" --output "$out" --log ForceOverwrite >/dev/null
  errors="$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["runs"][0].get("results",[]); print(sum(1 for x in r if x.get("level")=="error"))' "$out")"
  echo "$f: $errors error(s)"
  [ "$errors" = 0 ] || { "$TOOL" validate "$f" --output "$out" --log ForceOverwrite | grep -i error || true; status=1; }
  rm -f "$out"
done
exit "$status"
