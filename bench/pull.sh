#!/usr/bin/env bash
# Pull + unpack of a generated multi-layer image (5 layers, ~120 MB) from a local registry
# (Debian's docker-registry on 127.0.0.1), side by side in one run:
#   berth pull                      (fresh state root each run; layers unpacked while downloading)
#   skopeo copy -> containers-storage (fresh storage each run)
#   podman pull                     (fresh storage each run)
# Prints medians of N runs (default 5) and ratios against berth.
# Usage: bench/pull.sh [N]          (as root; needs docker-registry, skopeo, podman)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

n=${1:-5}
for tool in docker-registry skopeo podman; do
  command -v "$tool" >/dev/null || { echo "$tool not installed (apt-get install $tool)" >&2; exit 2; }
done
[ -f dist/berth.js ] || { echo "build first: npm ci" >&2; exit 2; }

work=$(mktemp -d /tmp/berth-bench-pull-XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() {
  [ -n "${reg_pid:-}" ] && kill "$reg_pid" 2>/dev/null || true
  for d in "$work"/podman-* "$work"/skopeo-*; do
    [ -d "$d" ] && { umount -R "$d" 2>/dev/null || true; }
  done
  grep -o " $work[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cat > "$work/registry.yml" <<YML
version: 0.1
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: 127.0.0.1:$port
YML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
reg_pid=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break; sleep 0.1; done

echo "generating the image..." >&2
node bench/gen-image.mjs "$work/oci" 5 24 >&2
skopeo copy -q --dest-tls-verify=false "oci:$work/oci:bench" "docker://127.0.0.1:$port/bench/big:1"
ref="127.0.0.1:$port/bench/big:1"

cat > "$work/containers.conf" <<CONF
[containers]
default_ulimits = []
CONF
export CONTAINERS_CONF=$work/containers.conf

declare -A samples
for i in $(seq 1 "$n"); do
  root=$work/berth-$i
  samples[berth]+="$(time_ms bin/berth --root "$root" --runroot "$root/run" pull -q "$ref") "
  store=$work/skopeo-$i
  samples[skopeo]+="$(time_ms skopeo copy -q --src-tls-verify=false "docker://$ref" "containers-storage:[overlay@$store/root+$store/run]$ref") "
  p=$work/podman-$i
  samples[podman]+="$(time_ms podman --root "$p/root" --runroot "$p/run" --storage-driver overlay pull -q --tls-verify=false "$ref") "
  # Free the space (and the mounts) of this round before the next.
  bin/berth --root "$root" --runroot "$root/run" rmi -f "$ref" >/dev/null 2>&1 || true
  podman --root "$p/root" --runroot "$p/run" --storage-driver overlay rmi -af >/dev/null 2>&1 || true
  rm -rf "$root" "$store" "$p" 2>/dev/null || true
done

med() { tr ' ' '\n' <<<"${samples[$1]}" | grep . | median; }
b=$(med berth); s=$(med skopeo); p=$(med podman)
echo "# bench/pull.sh — $(date -u +%Y-%m-%d), $(machine_line), $n runs each, medians in ms"
echo "# image: 5 layers, ~120 MB gzip (incompressible data), from docker-registry on 127.0.0.1"
echo "# $(skopeo --version), $(podman --version)"
printf '| %-44s | %10s | %14s |\n' "pull + unpack" "median ms" "vs berth"
printf '|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..46})" "$(printf -- '-%.0s' {1..12})" "$(printf -- '-%.0s' {1..16})"
printf '| %-44s | %10s | %14s |\n' "berth pull" "$b" "1.00"
printf '| %-44s | %10s | %14s |\n' "skopeo copy docker:// -> containers-storage:" "$s" "$(ratio "$s" "$b")"
printf '| %-44s | %10s | %14s |\n' "podman pull" "$p" "$(ratio "$p" "$b")"
