#!/usr/bin/env bash
# berth-runtime against runc on the same busybox bundle, side by side in one run:
#   run          `RUNTIME run ID` of a container running `true` (create, start, wait, delete)
#   lifecycle    `create` + `start` + `delete --force` as three invocations
# Prints medians of N runs (default 20, at least 10) per runtime and the ratio berth/runc.
# Usage: bench/runtime.sh [N]        (as root; needs runc and busybox-static)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

n=${1:-20}
[ "$n" -ge 10 ] || { echo "N must be at least 10" >&2; exit 2; }
berth=$PWD/bin/berth-runtime
runc=$(command -v runc) || { echo "runc not installed (apt-get install runc)" >&2; exit 2; }
[ -x /bin/busybox ] || { echo "busybox-static not installed" >&2; exit 2; }
[ -f dist/berth-runtime.js ] || { echo "build first: npm ci" >&2; exit 2; }

work=$(mktemp -d /tmp/berth-bench-runtime-XXXXXX)
state_berth=$work/state-berth
state_runc=$work/state-runc
trap '"$berth" --root "$state_berth" delete -f bench-rt >/dev/null 2>&1 || true; "$runc" --root "$state_runc" delete -f bench-rt >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
make_busybox_bundle "$work/bundle" "$berth"

one_run() { "$1" --root "$2" run --bundle "$work/bundle" bench-rt; }
one_lifecycle() {
  local rt=$1 root=$2
  "$rt" --root "$root" create --bundle "$work/bundle" bench-rt
  "$rt" --root "$root" start bench-rt
  # --force: `true` may or may not have exited yet; either way the container goes
  "$rt" --root "$root" delete --force bench-rt
}

declare -A samples
for i in $(seq 1 "$n"); do
  # interleave the runtimes so drift in machine load hits both alike
  for rt in berth runc; do
    if [ "$rt" = berth ]; then bin=$berth; root=$state_berth; else bin=$runc; root=$state_runc; fi
    samples[$rt-run]+="$(time_ms one_run "$bin" "$root") "
    samples[$rt-life]+="$(time_ms one_lifecycle "$bin" "$root") "
  done
done

med() { tr ' ' '\n' <<<"${samples[$1]}" | grep . | median; }
br=$(med berth-run); rr=$(med runc-run); bl=$(med berth-life); rl=$(med runc-life)
echo "# bench/runtime.sh — $(date -u +%Y-%m-%d), $(machine_line), $n runs each, medians in ms"
echo "# runc: $("$runc" --version | head -1)"
printf '| %-36s | %12s | %10s | %12s |\n' "operation" "berth-runtime" "runc" "berth/runc"
printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..38})" "$(printf -- '-%.0s' {1..14})" "$(printf -- '-%.0s' {1..12})" "$(printf -- '-%.0s' {1..14})"
printf '| %-36s | %12s | %10s | %12s |\n' "run (true)" "$br" "$rr" "$(ratio "$br" "$rr")"
printf '| %-36s | %12s | %10s | %12s |\n' "create + start + delete -f (true)" "$bl" "$rl" "$(ratio "$bl" "$rl")"
