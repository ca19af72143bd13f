#!/usr/bin/env bash
# `berth run` against `docker run` and `podman run`, side by side in one run, on the same
# busybox image (imported into each engine from one rootfs tarball), all with
# --network none (Berth has no networking yet; a private network namespace with loopback
# is what all three then do):
#   1. `ENGINE run --rm IMAGE true`, end to end: RUNS runs per engine (default 15, at least
#      10), interleaved so that noise hits all three alike; medians and ratios.
#   2. COUNT detached `sleep` containers per engine (default 100): the time to start them
#      all (one after another), and the memory per container: the PSS of each container's
#      monitor (berth-shim / conmon / containerd-shim-runc-v2) from /proc/PID/smaps_rollup,
#      plus, for docker, the PSS of its daemons (dockerd, containerd), also per container.
# Writes bench/results/run-<date>.md (the tables) and bench/results/run-<date>.png (the
# plot, with gnuplot). Every engine gets private state: a dockerd of its own (data root,
# exec root, socket, containerd namespace), podman with its own storage and a containers.conf
# with `default_ulimits = []` (podman's defaults ask for more open files than root may have
# here), Berth with its own roots; all of it is removed at the end.
# Usage: bench/run.sh [RUNS] [COUNT]      (as root; docker.io, podman, busybox-static)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

runs=${1:-15}
count=${2:-100}
[ "$runs" -ge 10 ] || { echo "RUNS must be at least 10" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 2; }
for t in dockerd docker containerd containerd-shim-runc-v2 podman conmon unshare; do command -v "$t" >/dev/null || { echo "$t is not installed" >&2; exit 2; }; done
[ -x /bin/busybox ] || { echo "busybox-static is not installed" >&2; exit 2; }
[ -f dist/berth.js ] && [ -x build/Release/berth-shim ] || { echo "build first: npm ci" >&2; exit 2; }
if ! command -v gnuplot >/dev/null; then
  echo "bench: installing gnuplot-nox for the plot" >&2
  apt-get install -y -qq gnuplot-nox >/dev/null 2>&1 || echo "bench: no gnuplot: the plot is skipped" >&2
fi

# Short paths: containerd's and the shims' sockets live under the exec root (108-byte limit).
work=$(mktemp -d /tmp/bb-XXXXXX)
tag=bench-$$
img=busybox:bench
ns=berth-$tag
berth=("$PWD/bin/berth" --root "$work/berth/root" --runroot "$work/berth/run")
docker=(docker --host "unix://$work/d/docker.sock")
export CONTAINERS_CONF=$work/containers.conf
podman=(podman --root "$work/p/root" --runroot "$work/p/run" --cgroup-manager cgroupfs --events-backend file)

cleanup() {
  set +e
  "${berth[@]}" ps -aq --no-trunc 2>/dev/null | xargs -r "${berth[@]}" rm -f >/dev/null 2>&1
  if [ -S "$work/d/docker.sock" ]; then
    "${docker[@]}" ps -aq 2>/dev/null | xargs -r "${docker[@]}" rm -f >/dev/null 2>&1
  fi
  [ -f "$work/d/dockerd.pid" ] && kill "$(cat "$work/d/dockerd.pid")" 2>/dev/null
  for _ in $(seq 1 100); do [ -f "$work/d/dockerd.pid" ] && kill -0 "$(cat "$work/d/dockerd.pid")" 2>/dev/null || break; sleep 0.2; done
  "${podman[@]}" rm -a -f -t 0 >/dev/null 2>&1
  # overlay mounts, netns files and the storage bind mounts of all three
  awk -v w="$work/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r | xargs -r umount -l 2>/dev/null
  rmdir /sys/fs/cgroup/*/"$tag"/* /sys/fs/cgroup/*/"$tag" 2>/dev/null
  for _ in $(seq 1 20); do rm -rf "$work" 2>/dev/null && break; sleep 0.5; done
}
trap cleanup EXIT

say() { echo "bench: $*" >&2; }

# --- the image ---------------------------------------------------------------------------
mkdir -p "$work/rootfs/bin" "$work/rootfs/etc"
cp /bin/busybox "$work/rootfs/bin/"
chroot "$work/rootfs" /bin/busybox --install -s /bin
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$work/rootfs/etc/passwd"
tar -C "$work/rootfs" -cf "$work/rootfs.tar" .

# --- engines -----------------------------------------------------------------------------
say "starting a private dockerd"
mkdir -p "$work/d"
cat >"$work/d/daemon.json" <<EOF
{ "storage-driver": "overlay2", "cgroup-parent": "/$tag", "exec-opts": ["native.cgroupdriver=cgroupfs"], "deprecated-key-path": "$work/d/key.json" }
EOF
# In a network namespace of its own: with --bridge none dockerd deletes the docker0 it finds,
# and in the host's namespace that is the user's own docker's bridge. The namespace goes with
# dockerd and its children (unshare execs dockerd under the same pid, so the pid file holds).
DOCKER_CONFIG=$work/d/client unshare --net -- dockerd --data-root "$work/d/data" --exec-root "$work/d/x" --pidfile "$work/d/dockerd.pid" \
  --host "unix://$work/d/docker.sock" --config-file "$work/d/daemon.json" --bridge none --iptables=false --ip6tables=false \
  --containerd-namespace "$ns" --containerd-plugins-namespace "$ns-plugins" >"$work/d/dockerd.log" 2>&1 &
for _ in $(seq 1 300); do "${docker[@]}" version >/dev/null 2>&1 && break; sleep 0.2; done
"${docker[@]}" version >/dev/null || { tail -20 "$work/d/dockerd.log" >&2; exit 1; }
cat >"$CONTAINERS_CONF" <<'EOF'
[containers]
default_ulimits = []
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
# crun refuses hybrid cgroup hosts ("drop all controllers from cgroupv2"); runc is what
# docker uses too, so both peers run the same OCI runtime.
runtime = "runc"
EOF

say "importing $img into each engine"
"${berth[@]}" import "$work/rootfs.tar" "$img" >/dev/null
"${docker[@]}" import "$work/rootfs.tar" "$img" >/dev/null
"${podman[@]}" import -q "$work/rootfs.tar" "$img" >/dev/null

run_berth() { "${berth[@]}" run --rm "$img" true; }
run_docker() { "${docker[@]}" run --rm --network none "$img" true; }
run_podman() { "${podman[@]}" run --rm --network none "$img" true; }

# --- 1. run --rm true --------------------------------------------------------------------
say "run --rm $img true: $runs runs per engine (after 2 warm-up runs each)"
for e in berth docker podman; do for _ in 1 2; do "run_$e" >/dev/null 2>&1 || { say "$e run --rm failed:"; "run_$e"; exit 1; }; done; done
for i in $(seq 1 "$runs"); do
  for e in berth docker podman; do time_ms "run_$e" >>"$work/$e.run"; done
done
declare -A med
for e in berth docker podman; do med[$e]=$(median <"$work/$e.run"); done

# --- 2. COUNT detached containers --------------------------------------------------------
pss() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
sum_pss() { local s=0 p; for p in "$@"; do s=$((s + $(pss "$p"))); done; echo "$s"; }
start_many() { # engine
  local e=$1 i
  for i in $(seq 1 "$count"); do
    case $e in
      berth) "${berth[@]}" run -d --name "b$i" "$img" sleep 100000 ;;
      docker) "${docker[@]}" run -d --network none --name "d$i" "$img" sleep 100000 ;;
      podman) "${podman[@]}" run -d --network none --name "p$i" "$img" sleep 100000 ;;
    esac >/dev/null
  done
}
monitor_pids() { # engine
  case $1 in
    berth) for f in "$work"/berth/run/c/*/shim.pid; do awk '{ print $1 }' "$f"; done ;;
    docker) pgrep -f "containerd-shim-runc-v2 -namespace $ns " ;;
    podman) for i in $(seq 1 "$count"); do "${podman[@]}" inspect --format '{{.State.ConmonPid}}' "p$i"; done ;;
  esac
}
remove_many() {
  case $1 in
    berth) "${berth[@]}" ps -aq --no-trunc | xargs -r "${berth[@]}" rm -f ;;
    docker) "${docker[@]}" ps -aq | xargs -r "${docker[@]}" rm -f ;;
    podman) "${podman[@]}" rm -a -f -t 0 ;;
  esac >/dev/null
}
declare -A startall mon nmon
for e in berth docker podman; do
  say "$count detached containers with $e"
  t0=$(now_ns)
  start_many "$e"
  t1=$(now_ns)
  startall[$e]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
  sleep 2 # let start-up allocations settle
  mapfile -t pids < <(monitor_pids "$e")
  nmon[$e]=${#pids[@]}
  for p in "${pids[@]}"; do pss "$p"; done >"$work/$e.pss"
  mon[$e]=$(median <"$work/$e.pss" | awk '{ printf "%.0f", $1 }')
  if [ "$e" = docker ]; then
    daemons=$(sum_pss "$(cat "$work/d/dockerd.pid")" $(pgrep -f "containerd --config $work/d/x" || true))
  fi
  remove_many "$e"
done

# --- report ------------------------------------------------------------------------------
mkdir -p bench/results
stamp=$(date -u +%Y%m%d-%H%M%S)
out=bench/results/run-$stamp.md
perc() { awk -v a="$1" -v n="$2" 'BEGIN { printf "%.0f", a / n }'; }
dper=$(perc "$daemons" "$count")
{
  echo "# bench/run.sh — $(date -u +%Y-%m-%d), $(machine_line)"
  echo "# berth $("${berth[@]}" --version | awk '{ print $3 }'), docker $(dockerd --version | awk '{ print $3 }' | tr -d ,) (containerd $(containerd --version | awk '{ print $3 }'), runc $(runc --version | awk 'NR == 1 { print $3 }')), podman $(podman --version | awk '{ print $3 }') (conmon $(conmon --version | awk 'NR == 1 { print $3 }'), runc)"
  echo
  echo "\`ENGINE run --rm $img true\`, median of $runs runs (ms):"
  echo
  echo "| engine | median ms | ratio to berth |"
  echo "|---|---:|---:|"
  for e in berth docker podman; do echo "| $e | ${med[$e]} | $(ratio "${med[$e]}" "${med[berth]}") |"; done
  echo
  echo "$count detached \`sleep\` containers, started one after another; memory per container (KiB, PSS from smaps_rollup):"
  echo
  echo "| engine | start all (s) | monitor | monitor PSS (median) | daemons' PSS per container | per container in all |"
  echo "|---|---:|---|---:|---:|---:|"
  echo "| berth | ${startall[berth]} | berth-shim (${nmon[berth]}) | ${mon[berth]} | 0 | ${mon[berth]} |"
  echo "| docker | ${startall[docker]} | containerd-shim-runc-v2 (${nmon[docker]}) | ${mon[docker]} | $dper (dockerd + containerd: $daemons) | $((mon[docker] + dper)) |"
  echo "| podman | ${startall[podman]} | conmon (${nmon[podman]}) | ${mon[podman]} | 0 | ${mon[podman]} |"
} >"$out"
cat "$out"

if command -v gnuplot >/dev/null; then
  png=bench/results/run-$stamp.png
  {
    echo "berth ${med[berth]} ${startall[berth]} ${mon[berth]}"
    echo "docker ${med[docker]} ${startall[docker]} $((mon[docker] + dper))"
    echo "podman ${med[podman]} ${startall[podman]} ${mon[podman]}"
  } >"$work/plot.dat"
  gnuplot <<EOF
set terminal pngcairo size 1200,420 font "sans,10"
set output "$png"
set multiplot layout 1,3 title "berth vs docker vs podman ($(machine_line))"
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.6
set grid ytics
set yrange [0:*]
unset key
set title "run --rm true: median ms ($runs runs)"
plot "$work/plot.dat" using 2:xtic(1) lc rgb "#3b7dd8"
set title "start $count detached: seconds"
plot "$work/plot.dat" using 3:xtic(1) lc rgb "#e07b39"
set title "KiB PSS per container (docker: + daemons)"
set logscale y
set yrange [10:*]
plot "$work/plot.dat" using 4:xtic(1) lc rgb "#4caf50"
unset multiplot
EOF
  echo
  echo "plot: $png"
fi
