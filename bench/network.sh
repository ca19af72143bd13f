#!/usr/bin/env bash
# What networking costs per container, for berth, docker and podman side by side in one run,
# on the same busybox image (imported into each engine from one rootfs tarball) and the same
# storage driver (overlay; docker's overlay2):
#   1. `ENGINE run --rm IMAGE true` three ways, RUNS runs each (default 15, at least 10),
#      interleaved so that noise hits every engine and mode alike: `--network none` (a private
#      namespace with loopback only), the default bridge network, and the bridge with one
#      published port (`-p PORT:80`). The differences are the network's share and the port's
#      share of a run, per engine; medians and ratios.
#   2. COUNT containers (default 100) started detached (`sleep`) on one user-defined network,
#      one after another: the wall time to start them all, a name lookup between two of them
#      through the network's DNS, the memory of the network's resolver (berth-dns, podman's
#      aardvark-dns; docker's is inside dockerd), then the time to remove them all with one
#      `rm -f`, and the network.
# Every engine runs inside ONE private network namespace that this script makes (a file under
# its work directory, nsenter for every command): all bridges, veths, nftables/iptables rules,
# port forwards and resolvers live there, the host's own network is never touched, and the
# namespace (with anything an engine might leave) goes when the script ends. Peers: a private
# dockerd (bridge and iptables on, as installed: docker0, userland proxy for -p) whose data,
# exec root, socket and containerd namespace are its own; podman with private storage on its
# default netavark backend (iptables driver, aardvark-dns), its network files in the work
# directory, `default_ulimits = []` and runc as in bench/run.sh. With dockerd present, Berth
# meets dockerd's FORWARD policy DROP and uses DOCKER-USER, as on a real docker host.
# Writes bench/results/network-<date>.md (the tables) and bench/results/network-<date>.png (the
# plot, with gnuplot). docker and podman are measured when installed; BENCH_ENGINES="berth
# podman" picks engines explicitly.
# Usage: bench/network.sh [RUNS] [COUNT]   (as root; busybox-static, nftables, iproute2,
#        util-linux; docker.io and podman for the peers; netavark, aardvark-dns and gnuplot-nox
#        are installed when missing)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

runs=${1:-15}
count=${2:-100}
[ "$runs" -ge 10 ] || { echo "RUNS must be at least 10" >&2; exit 2; }
[ "$count" -ge 2 ] || { echo "COUNT must be at least 2" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 2; }
for t in nsenter unshare nft ip; do command -v "$t" >/dev/null || { echo "$t is not installed" >&2; exit 2; }; done
[ -x /bin/busybox ] || { echo "busybox-static is not installed" >&2; exit 2; }
[ -f dist/berth.js ] && [ -x build/Release/berth-shim ] || { echo "build first: npm ci" >&2; exit 2; }

say() { echo "bench: $*" >&2; }
have() { local t; for t in "$@"; do command -v "$t" >/dev/null || return 1; done; }

if [ -n "${BENCH_ENGINES:-}" ]; then
  read -r -a engines <<<"$BENCH_ENGINES"
  for e in "${engines[@]}"; do
    case $e in berth | docker | podman) ;; *) echo "BENCH_ENGINES: unknown engine '$e' (berth, docker, podman)" >&2; exit 2 ;; esac
  done
else
  engines=(berth)
  if have dockerd docker containerd containerd-shim-runc-v2; then engines+=(docker); else say "docker.io is not installed: docker is left out"; fi
  if have podman conmon runc; then engines+=(podman); else say "podman is not installed: podman is left out"; fi
fi
uses() { [[ " ${engines[*]} " == *" $1 "* ]]; }

apt_get() { # PACKAGE...: installs what is missing, quietly
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1
}
if uses podman && [ ! -x /usr/lib/podman/netavark ]; then
  say "installing netavark and aardvark-dns (podman's default network backend)"
  apt_get netavark aardvark-dns || { say "could not install netavark"; exit 2; }
fi
if ! command -v gnuplot >/dev/null; then
  say "installing gnuplot-nox for the plot"
  apt_get gnuplot-nox || say "no gnuplot: the plot is skipped"
fi

# Short paths: containerd's and the shims' sockets live under the exec root (108-byte limit).
work=$(mktemp -d /tmp/bn-XXXXXX)
tag=bench-net-$$
img=busybox:bench
ns=berth-$tag
netns=$work/ns/net
# Host-wide paths podman creates whatever its --root says (netavark's run directory and lock,
# the blob-info cache): the ones that are new are removed at the end.
host_paths=(/run/netns/netavark.lock /run/containers/networks /run/containers
  /var/lib/containers/cache/blob-info-cache-v1.boltdb /var/lib/containers/cache /var/lib/containers)
new_host_paths=()
for p in "${host_paths[@]}"; do [ -e "$p" ] || new_host_paths+=("$p"); done

inns() { nsenter --net="$netns" -- "$@"; }
berth=(inns "$PWD/bin/berth" --root "$work/berth/root" --runroot "$work/berth/run" --storage-driver overlay)
docker=(inns docker --host "unix://$work/d/docker.sock")
export CONTAINERS_CONF=$work/containers.conf
podman=(inns podman --root "$work/p/root" --runroot "$work/p/run" --tmpdir "$work/p/tmp" --storage-driver overlay
  --cgroup-manager cgroupfs --events-backend file)
declare -A port=([berth]=18081 [docker]=18082 [podman]=18083)

# The processes inside our namespace (dockerd, the resolvers, anything an engine left running).
netns_id() { stat -L -c %i "$netns" 2>/dev/null; }
pids_in_netns() {
  local id p
  id=$(netns_id) || return 0
  for p in /proc/[0-9]*; do
    [ "$(stat -L -c %i "$p/ns/net" 2>/dev/null)" = "$id" ] && echo "${p#/proc/}"
  done
  return 0
}

remove_all() { # engine: every container and the bench network
  case $1 in
    berth) "${berth[@]}" ps -aq --no-trunc | xargs -r "${berth[@]}" rm -f
      "${berth[@]}" network rm benchnet ;;
    docker) "${docker[@]}" ps -aq | xargs -r "${docker[@]}" rm -f
      "${docker[@]}" network rm benchnet ;;
    podman) "${podman[@]}" rm -a -f -t 0
      "${podman[@]}" network rm -f benchnet ;;
  esac >/dev/null 2>&1 || true
}

cleanup() {
  set +e
  for e in "${engines[@]}"; do
    if [ "$e" != docker ] || [ -S "$work/d/docker.sock" ]; then remove_all "$e"; fi
  done
  [ -f "$work/d/dockerd.pid" ] && kill "$(cat "$work/d/dockerd.pid")" 2>/dev/null
  for _ in $(seq 1 100); do [ -f "$work/d/dockerd.pid" ] && kill -0 "$(cat "$work/d/dockerd.pid")" 2>/dev/null || break; sleep 0.2; done
  # Whatever still runs in the namespace was started by this script (or by an engine for it).
  pids_in_netns | xargs -r kill -9 2>/dev/null
  # overlay mounts, netns files (the engines' and ours) and storage bind mounts, deepest first
  awk -v w="$work/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r | xargs -r umount -l 2>/dev/null
  rmdir /sys/fs/cgroup/*/"$tag"/* /sys/fs/cgroup/*/"$tag" 2>/dev/null
  for p in "${new_host_paths[@]}"; do rm -rf "$p" 2>/dev/null; done
  for _ in $(seq 1 20); do rm -rf "$work" 2>/dev/null && break; sleep 0.5; done
}
trap cleanup EXIT

# --- the namespace -----------------------------------------------------------------------
# unshare binds the namespace onto a file; the directory is made a private mount first, so
# that the bind mount does not propagate into other mount namespaces (it would pin the
# namespace there).
mkdir -p "$work/ns"
mount --bind "$work/ns" "$work/ns"
mount --make-private "$work/ns"
touch "$netns"
unshare --net="$netns" true
inns ip link set lo up
# A new namespace copies the host's ip_forward; start from a fresh host's 0, so that each engine
# turns it on itself and dockerd, finding it off, sets the FORWARD policy to DROP as it does on
# a new docker host (which is when Berth uses DOCKER-USER).
inns sysctl -qw net.ipv4.ip_forward=0

# --- the image ---------------------------------------------------------------------------
mkdir -p "$work/rootfs/bin" "$work/rootfs/etc"
cp /bin/busybox "$work/rootfs/bin/"
chroot "$work/rootfs" /bin/busybox --install -s /bin
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$work/rootfs/etc/passwd"
tar -C "$work/rootfs" -cf "$work/rootfs.tar" .

# --- engines -----------------------------------------------------------------------------
if uses docker; then
  say "starting a private dockerd in the bench's network namespace"
  mkdir -p "$work/d"
  cat >"$work/d/daemon.json" <<EOF
{ "storage-driver": "overlay2", "cgroup-parent": "/$tag", "exec-opts": ["native.cgroupdriver=cgroupfs"], "deprecated-key-path": "$work/d/key.json" }
EOF
  DOCKER_CONFIG=$work/d/client inns dockerd --data-root "$work/d/data" --exec-root "$work/d/x" --pidfile "$work/d/dockerd.pid" \
    --host "unix://$work/d/docker.sock" --config-file "$work/d/daemon.json" \
    --containerd-namespace "$ns" --containerd-plugins-namespace "$ns-plugins" >"$work/d/dockerd.log" 2>&1 &
  for _ in $(seq 1 300); do "${docker[@]}" version >/dev/null 2>&1 && break; sleep 0.2; done
  "${docker[@]}" version >/dev/null || { tail -20 "$work/d/dockerd.log" >&2; exit 1; }
fi
if uses podman; then
  mkdir -p "$work/p/networks"
  cat >"$CONTAINERS_CONF" <<EOF
[containers]
default_ulimits = []
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
# crun refuses hybrid cgroup hosts; runc is what docker uses too.
runtime = "runc"
[network]
network_backend = "netavark"
network_config_dir = "$work/p/networks"
EOF
fi

say "importing $img into ${engines[*]}"
for e in "${engines[@]}"; do
  case $e in
    berth) "${berth[@]}" import "$work/rootfs.tar" "$img" ;;
    docker) "${docker[@]}" import "$work/rootfs.tar" "$img" ;;
    podman) "${podman[@]}" import -q "$work/rootfs.tar" "$img" ;;
  esac >/dev/null
done

run_rm() { # engine mode
  local -n c=$1
  case $2 in
    none) "${c[@]}" run --rm --network none "$img" true ;;
    bridge) "${c[@]}" run --rm "$img" true ;;
    publish) "${c[@]}" run --rm -p "${port[$1]}:80" "$img" true ;;
  esac
}
modes=(none bridge publish)

# --- 1. run --rm true, three ways --------------------------------------------------------
say "run --rm $img true (--network none, bridge, -p PORT:80): $runs runs per engine and mode (after 2 warm-up runs each)"
for e in "${engines[@]}"; do for m in "${modes[@]}"; do for _ in 1 2; do
  run_rm "$e" "$m" >/dev/null 2>&1 || { say "$e run --rm ($m) failed:"; run_rm "$e" "$m"; exit 1; }
done; done; done
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for i in $(seq 1 "$runs"); do
  for e in "${engines[@]}"; do for m in "${modes[@]}"; do time_ms run_rm "$e" "$m" >>"$work/$e.$m"; done; done
done
declare -A med
for e in "${engines[@]}"; do for m in "${modes[@]}"; do med[$e.$m]=$(median <"$work/$e.$m"); done; done

# --- 2. COUNT containers on one user-defined network -------------------------------------
pss() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
resolver_pids() { # engine
  local p
  case $1 in
    berth) for p in "$work"/berth/run/dns/*/pid; do [ -f "$p" ] && awk '{ print $1 }' "$p"; done ;;
    podman) for p in $(pids_in_netns); do [ "$(cat "/proc/$p/comm" 2>/dev/null)" = aardvark-dns ] && echo "$p"; done ;;
  esac
  return 0
}
resolver_name() { case $1 in berth) echo berth-dns ;; docker) echo "in dockerd" ;; podman) echo aardvark-dns ;; esac; }
declare -A startall rmall rpss lookup
for e in "${engines[@]}"; do
  declare -n c=$e
  say "$count detached containers on one network with $e"
  netid=$("${c[@]}" network create benchnet)
  # Berth's bridge for it (docker names its user networks' bridges the same way: br-<id12>).
  [ "$e" = berth ] && berth_bridge="br-${netid:0:12}"
  names=()
  t0=$(now_ns)
  for i in $(seq 1 "$count"); do
    "${c[@]}" run -d --network benchnet --name "n$i" "$img" sleep 100000 >/dev/null
    names+=("n$i")
  done
  t1=$(now_ns)
  startall[$e]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
  # The network works: the first container finds the last one by name.
  if "${c[@]}" exec n1 nslookup "n$count" >"$work/$e.lookup" 2>&1; then lookup[$e]=ok; else lookup[$e]=failed; say "$e: n1 could not look up n$count:"; cat "$work/$e.lookup" >&2; fi
  sleep 2 # let start-up allocations settle
  rpss[$e]=-
  mapfile -t rp < <(resolver_pids "$e")
  if [ ${#rp[@]} -gt 0 ]; then rpss[$e]=0; for p in "${rp[@]}"; do rpss[$e]=$((rpss[$e] + $(pss "$p"))); done; fi
  t0=$(now_ns)
  case $e in
    podman) "${c[@]}" rm -f -t 0 "${names[@]}" ;;
    *) "${c[@]}" rm -f "${names[@]}" ;;
  esac >/dev/null
  t1=$(now_ns)
  rmall[$e]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
  # dockerd may still be releasing the endpoints of the containers just removed
  gone=no
  for _ in $(seq 1 50); do if "${c[@]}" network rm benchnet >/dev/null 2>&1; then gone=yes; break; fi; sleep 0.2; done
  [ "$gone" = yes ] || say "$e: network rm benchnet still failed after 10 s"
  unset -n c
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
forward_policy=$(inns iptables -S FORWARD 2>/dev/null | awk '$1 == "-P" { print $3 }')

# What Berth left in the namespace once its containers and network were gone (dockerd's and
# podman's bridges, docker0 and podman0, stay as long as their engine runs).
left=$(
  inns ip -o link show | awk -F': ' '{ print $2 }' | sed 's/@.*//' | grep -E "^(berth|${berth_bridge:-berth}\$)" || true
  # The bench's root is not /var/lib/berth: its table and DOCKER-USER chain carry the root's hash.
  inns nft list tables | grep -E '^table inet berth(-[0-9a-f]{8})?$' || true
  for p in "$work"/berth/run/dns/*/pid; do [ -f "$p" ] && echo "resolver $(awk '{ print $1 }' "$p")"; done
  ls "$work/berth/run/netns" 2>/dev/null | sed 's/^/netns file /' || true
  if command -v iptables >/dev/null; then
    inns iptables -S 2>/dev/null | grep -E '^-N BERTH-(FORWARD|FWD-)' | sed 's/^-N /iptables chain /' || true
    inns iptables -S DOCKER-USER 2>/dev/null | grep -qE 'BERTH-(FORWARD|FWD-)' && echo "the jump in DOCKER-USER"
  fi
  true
)
uses berth || left=""

# --- report ------------------------------------------------------------------------------
mkdir -p bench/results
stamp=$(date -u +%Y%m%d-%H%M%S)
out=bench/results/network-$stamp.md
versions() {
  local v="berth $("${berth[@]}" --version | awk '{ print $3 }')"
  uses docker && v+=", docker $(dockerd --version | awk '{ print $3 }' | tr -d ,) (containerd $(containerd --version | awk '{ print $3 }'), runc $(runc --version | awk 'NR == 1 { print $3 }'))"
  uses podman && v+=", podman $(podman --version | awk '{ print $3 }') (netavark $(/usr/lib/podman/netavark --version 2>/dev/null | awk '{ print $2 }'), aardvark-dns $(/usr/lib/podman/aardvark-dns --version 2>/dev/null | awk '{ print $2 }'), conmon $(conmon --version | awk 'NR == 1 { print $3 }'), runc)"
  echo "$v"
}
diff_ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a - b }'; }
ms1() { awk -v a="$1" 'BEGIN { printf "%.1f", a }'; }
first=${engines[0]}
{
  echo "# bench/network.sh — $(date -u +%Y-%m-%d), $(machine_line)"
  echo "# $(versions)"
  echo "# load average $load_start at the start of the runs, $load_end at the end; all engines in one private network namespace (iptables FORWARD policy there: ${forward_policy:-none})"
  echo
  echo "\`ENGINE run --rm $img true\`, median of $runs runs (ms), interleaved:"
  echo
  echo "| engine | \`--network none\` | bridge (default) | bridge \`-p PORT:80\` | network's share (bridge − none) | port's share (-p − bridge) | bridge vs $first |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  for e in "${engines[@]}"; do
    echo "| $e | $(ms1 "${med[$e.none]}") | $(ms1 "${med[$e.bridge]}") | $(ms1 "${med[$e.publish]}") | $(diff_ms "${med[$e.bridge]}" "${med[$e.none]}") | $(diff_ms "${med[$e.publish]}" "${med[$e.bridge]}") | $(ratio "${med[$e.bridge]}" "${med[$first.bridge]}") |"
  done
  echo
  echo "$count detached \`sleep\` containers on one user-defined network (\`network create\`), started one after another, then removed with one \`rm -f\`:"
  echo
  echo "| engine | start all (s) | per container (ms) | rm -f all (s) | \`n1\` looks up \`n$count\` | resolver | resolver PSS (KiB) |"
  echo "|---|---:|---:|---:|---|---|---:|"
  for e in "${engines[@]}"; do
    echo "| $e | ${startall[$e]} | $(awk -v s="${startall[$e]}" -v n="$count" 'BEGIN { printf "%.0f", s * 1000 / n }') | ${rmall[$e]} | ${lookup[$e]} | $(resolver_name "$e") | ${rpss[$e]} |"
  done
  if uses berth; then
    echo
    if [ -z "$left" ]; then echo "Left by Berth in the namespace after its last container and network were removed: nothing."
    else echo "Left by Berth in the namespace after its last container and network were removed: $(echo "$left" | paste -sd, -)."; fi
  fi
} >"$out"
cat "$out"

if command -v gnuplot >/dev/null; then
  png=bench/results/network-$stamp.png
  for e in "${engines[@]}"; do echo "$e ${med[$e.none]} ${med[$e.bridge]} ${med[$e.publish]} ${startall[$e]}"; done >"$work/plot.dat"
  gnuplot <<EOF
set terminal pngcairo size 1100,420 font "sans,10"
set output "$png"
set multiplot layout 1,2 title "networking: $(echo "${engines[*]}" | sed 's/ / vs /g') ($(machine_line))"
set style fill solid 0.8 border -1
set grid ytics
set yrange [0:*]
set style data histograms
set style histogram clustered gap 1
set key below horizontal
set title "run --rm true: median ms ($runs runs)"
plot "$work/plot.dat" using 2:xtic(1) title "--network none" lc rgb "#9e9e9e", \
     "" using 3 title "bridge" lc rgb "#3b7dd8", \
     "" using 4 title "bridge -p" lc rgb "#e07b39"
unset key
set style histogram rowstacked
set boxwidth 0.6
set title "start $count detached on one network: seconds"
plot "$work/plot.dat" using 5:xtic(1) lc rgb "#4caf50"
unset multiplot
EOF
  echo
  echo "plot: $png"
fi
