/**
 * `berth-dns --dir DIR`: the per-network resolver process (bundled as dist/berth-dns.js).
 *
 * Started by the first container of a network and stopped by its last (see lifecycle.ts).
 * It holds an flock on DIR/pid for its whole life, so "is the resolver alive" is a lock test
 * that pid reuse cannot fool and that the kernel answers even after a kill -9. It prints
 * "ready" on stdout once every address is bound (or its error on stderr and exits 1), and
 * exits by itself when its state file is removed, so a resolver can never outlive its network.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tryLock } from '../../core/lock';
import { readProcStat } from '../../runtime/process-info';
import { PID_FILE, READY_LINE } from './paths';
import { DnsServer } from './server';

async function main(argv: string[]): Promise<void> {
  const i = argv.indexOf('--dir');
  const dir = i >= 0 ? argv[i + 1] : undefined;
  if (!dir) throw new Error('usage: berth-dns --dir DIR (the network resolver directory holding resolver.json)');
  const pidLock = tryLock(join(dir, PID_FILE));
  if (!pidLock) throw new Error(`another resolver already serves ${dir} (its pid file is locked)`);
  const log = (message: string) => process.stderr.write(`${new Date().toISOString()} ${message}\n`);
  let server: DnsServer | undefined;
  let stopping = false;
  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    void (server?.close() ?? Promise.resolve()).finally(() => {
      pidLock.release();
      process.exit(code);
    });
  };
  server = await DnsServer.start({ dir, log, onRemoved: () => stop(0) });
  process.title = `berth-dns ${dir}`;
  // The file the lock is on (same inode, not a rename): the pid and its start time.
  writeFileSync(join(dir, PID_FILE), `${process.pid} ${readProcStat(process.pid)?.startTime ?? 0}\n`);
  process.on('SIGTERM', () => stop(0));
  process.on('SIGINT', () => stop(0));
  process.on('SIGHUP', () => void server?.reload());
  process.stdout.write(`${READY_LINE}\n`);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`berth-dns: ${(e as Error).message}\n`);
  process.exit(1);
});
