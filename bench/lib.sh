# Shared helpers for the bench scripts: timing in milliseconds, medians, ratios and a
# busybox bundle. Sourced, not run.

now_ns() { date +%s%N; }

# time_ms CMD...: runs CMD (output discarded) and prints its wall time in ms (3 decimals).
time_ms() {
  local t0 t1
  t0=$(now_ns)
  "$@" >/dev/null 2>&1 || { echo "bench: command failed: $*" >&2; return 1; }
  t1=$(now_ns)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) / 1e6 }'
}

# median of the numbers on stdin
median() {
  sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "nan"; exit } m = int((NR + 1) / 2); if (NR % 2) print v[m]; else printf "%.3f\n", (v[m] + v[m + 1]) / 2 }'
}

# ratio A B: A / B with two decimals
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "nan"; else printf "%.2f\n", a / b }'; }

# make_busybox_bundle DIR RUNTIME: a bundle whose rootfs is busybox-static, config from
# `RUNTIME spec`, non-interactive, running `true`.
make_busybox_bundle() {
  local dir=$1 rt=$2
  mkdir -p "$dir/rootfs/bin" "$dir/rootfs"/{proc,sys,dev,etc,tmp}
  cp /bin/busybox "$dir/rootfs/bin/busybox"
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$dir/rootfs/bin/$a"; done
  (cd "$dir" && "$rt" spec)
  node -e '
    const fs = require("fs"); const p = process.argv[1];
    const c = JSON.parse(fs.readFileSync(p, "utf8"));
    c.process.terminal = false; c.process.args = ["true"];
    fs.writeFileSync(p, JSON.stringify(c, null, 2));
  ' "$dir/config.json"
}

machine_line() {
  echo "$(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(. /etc/os-release; echo "$PRETTY_NAME"), kernel $(uname -r)"
}
