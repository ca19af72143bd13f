/** `berth`: the engine CLI (images, containers, ...) arrives with the engine issues. */
process.stderr.write('berth: the engine CLI is not built yet; use berth-runtime\n');
process.exitCode = 1;
