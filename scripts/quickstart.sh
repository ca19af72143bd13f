#!/usr/bin/env bash
# Installs what Berth needs on a fresh Debian 12 machine (as root), builds it, and runs a
# first container from a busybox root filesystem with berth-runtime: it prints its own
# process list, hostname and memory limit. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v busybox >/dev/null || ! busybox --list >/dev/null 2>&1 || [ ! -x /bin/busybox ]; then
  apt-get update -qq
  apt-get install -y -qq busybox-static >/dev/null
fi
if [ ! -x build/Release/berth-init ] || [ ! -f dist/berth-runtime.js ]; then
  npm ci --no-audit --no-fund
fi

bundle=$(mktemp -d /tmp/berth-quickstart-XXXXXX)
trap 'bin/berth-runtime delete --force quickstart >/dev/null 2>&1 || true; rm -rf "$bundle"' EXIT
mkdir -p "$bundle/rootfs/bin" "$bundle/rootfs"/{proc,sys,dev,etc,tmp}
cp /bin/busybox "$bundle/rootfs/bin/busybox"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$bundle/rootfs/bin/$a"; done
bin/berth-runtime spec --bundle "$bundle"
# Non-interactive, a hostname, a 64 MiB memory limit and a command that shows them.
node -e '
  const fs = require("fs"); const p = process.argv[1];
  const c = JSON.parse(fs.readFileSync(p, "utf8"));
  c.process.terminal = false;
  c.process.args = ["sh", "-c", "echo \"hostname: $(hostname)\"; echo \"memory limit: $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max)\"; ps"];
  c.hostname = "quickstart";
  c.linux.resources = { ...(c.linux.resources || {}), memory: { limit: 67108864 } };
  fs.writeFileSync(p, JSON.stringify(c, null, 2));
' "$bundle/config.json"
bin/berth-runtime run --bundle "$bundle" quickstart
