#!/usr/bin/env bash
# Memory of the per-container monitor: berth-shim against conmon (podman's), side by side in
# one run. Starts N idle busybox containers (`sleep`) under each monitor and reads every
# monitor's /proc/PID/smaps_rollup, as smem does:
#   PSS   proportional set size: shared pages divided among the processes mapping them
#         (the per-container cost when many containers run)
#   RSS   resident pages, shared ones counted in full
#   anon  private anonymous memory (heap, stacks): never shared
# Prints the medians per monitor and the ratio berth-shim/conmon. With a second variant,
# berth-shim linked dynamically is measured too (why the build links it statically).
# Usage: bench/shim-memory.sh [N]    (as root; needs podman, conmon, runc, busybox-static; default N=10)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

n=${1:-10}
[ "$n" -ge 3 ] || { echo "N must be at least 3" >&2; exit 2; }
[ -x /bin/busybox ] || { echo "busybox-static not installed" >&2; exit 2; }
[ -x build/Release/berth-shim ] || { echo "build first: npm ci" >&2; exit 2; }
podman=$(command -v podman) || { echo "podman not installed" >&2; exit 2; }
runc=$(command -v runc) || { echo "runc not installed" >&2; exit 2; }

work=$(mktemp -d /tmp/berth-bench-shim-XXXXXX)
proot=(--root "$work/podman-root" --runroot "$work/podman-run" --runtime "$runc" --cgroup-manager cgroupfs)
cleanup() {
  BERTH_NATIVE_DIR=$PWD/build/Release node "$work/driver.js" stop "$work/static" >/dev/null 2>&1 || true
  BERTH_NATIVE_DIR=$PWD/build/Release node "$work/driver.js" stop "$work/dynamic" >/dev/null 2>&1 || true
  "$podman" "${proot[@]}" rm -f -t 0 -a >/dev/null 2>&1 || true
  rmdir /sys/fs/cgroup/*/berth-bench 2>/dev/null || true
  # podman's overlay storage bind-mounts its own directory
  awk -v w="$work/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r | xargs -r umount -l
  # conmon's exit commands (podman container cleanup) may still be writing there
  for _ in $(seq 1 20); do rm -rf "$work" 2>/dev/null && break; sleep 0.5; done
}
trap cleanup EXIT

# the rootfs all containers share (read-only)
rootfs=$work/rootfs
mkdir -p "$rootfs"/{bin,proc,sys,dev,etc,tmp}
cp /bin/busybox "$rootfs/bin/busybox"
for a in sh sleep true; do ln -s busybox "$rootfs/bin/$a"; done

node_modules/.bin/esbuild bench/shim-driver.ts --bundle --platform=node --target=node20 --log-level=warning --outfile="$work/driver.js"

# A dynamically linked shim next to the other native programs, for the comparison.
dyn=$work/native-dynamic
mkdir -p "$dyn"
for f in build/Release/*; do [ -f "$f" ] && ln -s "$PWD/$f" "$dyn/"; done
rm "$dyn/berth-shim"
gcc -std=gnu11 -O2 -D_GNU_SOURCE -Wall -Wextra -Werror -o "$dyn/berth-shim" native/shim/*.c

# kB fields of smaps_rollup for each pid on stdin: "pss rss anon" per line
measure() {
  while read -r pid; do
    awk '/^Pss:/ { p = $2 } /^Rss:/ { r = $2 } /^Anonymous:/ { a = $2 } END { print p, r, a }' "/proc/$pid/smaps_rollup"
  done
}
col() { awk -v c="$1" '{ print $c }' | median | awk '{ printf "%.0f\n", $1 }'; }

declare -A res
record() { # name file
  res[$1-pss]=$(col 1 <"$2"); res[$1-rss]=$(col 2 <"$2"); res[$1-anon]=$(col 3 <"$2")
}

# berth-shim, static (the build) and dynamic
BERTH_NATIVE_DIR=$PWD/build/Release node "$work/driver.js" start "$n" "$work/static" "$rootfs" >"$work/static.pids"
BERTH_NATIVE_DIR=$dyn node "$work/driver.js" start "$n" "$work/dynamic" "$rootfs" >"$work/dynamic.pids"
sleep 1
measure <"$work/static.pids" >"$work/static.mem"
measure <"$work/dynamic.pids" >"$work/dynamic.mem"
record static "$work/static.mem"
record dynamic "$work/dynamic.mem"
BERTH_NATIVE_DIR=$PWD/build/Release node "$work/driver.js" stop "$work/static"
BERTH_NATIVE_DIR=$dyn node "$work/driver.js" stop "$work/dynamic"

# conmon, through podman
for i in $(seq 1 "$n"); do
  "$podman" "${proot[@]}" run -d --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
    --read-only --name "bench-conmon-$i" --rootfs "$rootfs" sleep 100000 >/dev/null
done
sleep 1
for i in $(seq 1 "$n"); do "$podman" "${proot[@]}" inspect --format '{{.State.ConmonPid}}' "bench-conmon-$i"; done >"$work/conmon.pids"
measure <"$work/conmon.pids" >"$work/conmon.mem"
record conmon "$work/conmon.mem"

echo "# bench/shim-memory.sh — $(date -u +%Y-%m-%d), $(machine_line), $n idle containers per monitor, medians in KiB"
echo "# conmon: $(conmon --version 2>&1 | head -1), podman $("$podman" --version | awk '{ print $3 }'), runtime runc"
printf '| %-26s | %8s | %8s | %8s |\n' monitor PSS RSS anon
printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..28})" "$(printf -- '-%.0s' {1..10})" "$(printf -- '-%.0s' {1..10})" "$(printf -- '-%.0s' {1..10})"
printf '| %-26s | %8s | %8s | %8s |\n' "berth-shim (static)" "${res[static-pss]}" "${res[static-rss]}" "${res[static-anon]}"
printf '| %-26s | %8s | %8s | %8s |\n' "berth-shim (dynamic)" "${res[dynamic-pss]}" "${res[dynamic-rss]}" "${res[dynamic-anon]}"
printf '| %-26s | %8s | %8s | %8s |\n' "conmon" "${res[conmon-pss]}" "${res[conmon-rss]}" "${res[conmon-anon]}"
printf '| %-26s | %8s | %8s | %8s |\n' "berth-shim (static)/conmon" "$(ratio "${res[static-pss]}" "${res[conmon-pss]}")" "$(ratio "${res[static-rss]}" "${res[conmon-rss]}")" "$(ratio "${res[static-anon]}" "${res[conmon-anon]}")"
