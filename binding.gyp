{
  # node-gyp builds the N-API addon used by src/sys and the C executables.
  # Warnings are errors everywhere: this code runs between clone() and execve().
  "target_defaults": {
    "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-O2", "-D_GNU_SOURCE", "-fno-strict-aliasing"],
    "cflags!": ["-fno-exceptions"],
  },
  "targets": [
    {
      "target_name": "berth_sys",
      "sources": ["<!@(ls -1 native/sys/*.c)"],
    },
    {
      # Linked statically so that the sealed in-memory copy it re-executes from is
      # self-contained (no host libc or loader mapped into a container process).
      "target_name": "berth-init",
      "type": "executable",
      "sources": ["<!@(ls -1 native/init/*.c)"],
      "ldflags": ["-static"],
    },
    {
      # --init: PID 1 inside a container that forwards signals and reaps orphans. Static,
      # because it is bind-mounted into images that may have no libc at all.
      "target_name": "berth-reaper",
      "type": "executable",
      "sources": ["<!@(ls -1 native/reaper/*.c)"],
      "ldflags": ["-static"],
    },
    {
      # The per-container monitor (native/shim/PROTOCOL.md). Static: one private mapping and
      # no loader or shared libc pages to account for, which keeps its PSS lowest (measured
      # by bench/shim-memory.sh).
      "target_name": "berth-shim",
      "type": "executable",
      "sources": ["<!@(ls -1 native/shim/*.c)"],
      "ldflags": ["-static"],
    },
    {
      # Static helper that runs inside test containers and reports what it sees.
      "target_name": "berth-checker",
      "type": "executable",
      "sources": ["<!@(ls -1 native/checker/*.c)"],
      "ldflags": ["-static"],
    },
  ],
}
