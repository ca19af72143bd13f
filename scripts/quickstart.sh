#!/usr/bin/env bash
# Berth's quick start on a fresh Debian 12 machine, as root:
#   1. installs what is missing: busybox-static (the first image is made from it), the C
#      toolchain and python3 (node-gyp builds berth-init, berth-shim and the addon);
#   2. builds Berth (npm ci: native programs, then the bundled CLI);
#   3. makes a first image locally with `berth import` of a busybox root filesystem (no
#      registry is needed, or reachable);
#   4. runs a container that shows its own process list, hostname and memory limit.
# Safe to run again. BERTH_ROOT / BERTH_RUNROOT choose other state directories (CI uses
# private ones); the default is /var/lib/berth and /run/berth.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

say() { printf '\n== %s\n' "$*"; }

[ "$(id -u)" = 0 ] || { echo "quickstart: run as root (containers need namespaces, cgroups and mounts)" >&2; exit 1; }
if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "quickstart: Berth needs Node.js 20 or later (found: $(node --version 2>/dev/null || echo none))" >&2
  echo "hint: install it from your usual Node.js source, then run this script again" >&2
  exit 1
fi

missing=()
[ -x /bin/busybox ] && /bin/busybox --list >/dev/null 2>&1 || missing+=(busybox-static)
command -v gcc >/dev/null && command -v g++ >/dev/null && command -v make >/dev/null || missing+=(build-essential)
command -v python3 >/dev/null || missing+=(python3)
# Containers on a bridge network (the default) get their NAT and published ports from nftables.
command -v nft >/dev/null || missing+=(nftables)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x build/Release/berth-shim ] || [ ! -f dist/berth.js ] || [ ! -d node_modules ]; then
  say "building Berth (npm ci)"
  npm ci --no-audit --no-fund
fi
berth="$repo/bin/berth"

if ! "$berth" image inspect busybox >/dev/null 2>&1; then
  say "making a first image: busybox"
  work=$(mktemp -d /tmp/berth-quickstart-XXXXXX)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/rootfs/bin" "$work/rootfs/etc"
  cp /bin/busybox "$work/rootfs/bin/"
  # Links to /bin/busybox as the container will see it (busybox links to its own path).
  chroot "$work/rootfs" /bin/busybox --install -s /bin
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$work/rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$work/rootfs/etc/group"
  tar -C "$work/rootfs" -c . | "$berth" import --change 'CMD ["sh"]' - busybox
fi

say "a first container: its own processes, hostname and memory limit"
"$berth" run --rm --hostname demo -m 64m busybox sh -c \
  'ps -o pid,user,comm; echo "hostname: $(hostname)"; echo "memory limit: $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max)"'

say "a published port: a web server in a container, fetched from the host"
"$berth" rm -f berth-quickstart-web >/dev/null 2>&1 || true
"$berth" run -d --name berth-quickstart-web -p 127.0.0.1::80 busybox \
  sh -c 'mkdir -p /www && echo "hello from a container" >/www/index.html && exec httpd -f -p 80 -h /www' >/dev/null
addr=$("$berth" port berth-quickstart-web 80)
echo "berth port berth-quickstart-web 80 -> $addr"
for _ in 1 2 3 4 5 6 7 8 9 10; do /bin/busybox wget -qO- "http://$addr/" 2>/dev/null && break; sleep 0.2; done
"$berth" rm -f berth-quickstart-web >/dev/null

cat <<EOF

Berth works. Put it on your PATH and try more (see docs/examples.md):
  export PATH="$repo/bin:\$PATH"
  berth run -it --rm busybox
EOF
