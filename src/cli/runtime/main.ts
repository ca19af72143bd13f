/** `berth-runtime`: the OCI runtime command line (runc-compatible). */
process.stderr.write('berth-runtime: not built yet\n');
process.exitCode = 1;
