#!/usr/bin/env bash
# The full test suite on a fresh Debian 12 machine, as root: installs the Debian packages the
# tests use (busybox-static for test root filesystems; runc, crun, podman with conmon,
# docker.io with containerd (dockerd, the docker client, containerd-shim-runc-v2), skopeo and
# docker-registry for interop and drop-in tests; apache2-utils (htpasswd), openssl and zstd for
# the registry tests; nftables/iptables and the CNI plugins for
# networking, curl for published ports), installs the npm dependencies and builds (TypeScript and the C programs), then
# runs the unit and integration tests. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(busybox-static runc crun podman conmon docker.io containerd skopeo docker-registry
  containernetworking-plugins nftables iptables uidmap iproute2 procps psmisc
  apache2-utils openssl zstd curl)
# python3: the seccomp-agent and console-socket tests receive fds with it. The cross headers let
# a unit test check src/seccomp/syscall-tables.generated.ts against the kernel's own tables.
packages+=(python3 linux-libc-dev-armhf-cross linux-libc-dev-riscv64-cross linux-libc-dev-ppc64el-cross
  linux-libc-dev-s390x-cross)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

npm ci --no-audit --no-fund
npm test
