/**
 * One health check: berth-shim runs `berth healthcheck run ID` on the container's schedule
 * (no daemon, no systemd timers). The check is an exec of the HEALTHCHECK test with its
 * output captured (4 KiB kept) and a timeout; the result lands in State.Health with docker's
 * rules: the last five results, `healthy` after a success, `unhealthy` after Retries failures
 * in a row, and failures during the start period not counted.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { BerthError } from '../../core/errors';
import type { RecordContext } from './context';
import { execProcess } from './exec';
import { getContainer } from './lookup';
import { pipeStdio } from '../../runtime/stdio-pipes';
import { containerEventAttributes } from './event-attrs';
import { containerName, type ContainerRecord, type HealthState } from './record';
import { runPaths } from './runtime';

const MAX_OUTPUT = 4096;
const KEEP = 5;

export interface HealthResult {
  status: HealthState['Status'];
  exitCode: number;
  output: string;
}

function testCommand(test: string[], shell: string[] | undefined): string[] {
  if (test[0] === 'CMD') return test.slice(1);
  if (test[0] === 'CMD-SHELL') return [...(shell?.length ? shell : ['/bin/sh', '-c']), test.slice(1).join(' ')];
  return test;
}

export async function runHealthCheck(ctx: RecordContext, query: string): Promise<HealthResult> {
  const rec = await getContainer(ctx, query);
  const hc = rec.Config.Healthcheck;
  if (!hc?.Test?.length || hc.Test[0] === 'NONE') throw new BerthError('EINVALID_ARGUMENT', `container ${containerName(rec)} has no health check`, { hint: 'create it with --health-cmd or from an image with HEALTHCHECK' });
  if (!rec.State.Running || rec.State.Paused) throw new BerthError('ESTATE', `container ${containerName(rec)} is not running`);
  const timeoutMs = hc.Timeout && hc.Timeout > 0 ? hc.Timeout / 1e6 : 30_000;
  // In the container's run directory, not /tmp: a check killed mid-way (its container removed
  // under it, or a timeout in the shim) leaves nothing once the container is gone.
  const dir = await mkdtemp(join(runPaths(ctx.runRoot, rec.Id).dir, 'health-'));
  const start = new Date();
  let exitCode: number;
  let output = '';
  try {
    const pidFile = join(dir, 'pid');
    // The check's stdout and stderr, through pipes (a file of ours would be reachable from
    // inside through /proc/self/fd): the first MAX_OUTPUT bytes are kept, the rest drained.
    const kept: Buffer[] = [];
    let keptBytes = 0;
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        if (keptBytes < MAX_OUTPUT) {
          kept.push(chunk.subarray(0, MAX_OUTPUT - keptBytes));
          keptBytes += Math.min(chunk.length, MAX_OUTPUT - keptBytes);
        }
        done();
      },
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      readFile(pidFile, 'utf8')
        .then((pid) => process.kill(Number(pid), 'SIGKILL'))
        .catch(() => undefined); // not started yet, or gone
    }, timeoutMs);
    const stdio = pipeStdio({ stdout: sink, stderr: sink });
    try {
      const proc = { ...(await execProcess(ctx, rec, { cmd: testCommand(hc.Test, rec.Config.Shell) })), terminal: false };
      exitCode = await ctx.runtimes.for(rec).execCaptured(rec.Id, proc, { pipes: stdio, pidFile });
    } catch (e) {
      exitCode = 1;
      output = e instanceof Error ? e.message : String(e);
    } finally {
      clearTimeout(timer);
      await stdio.finish();
    }
    if (!output) output = Buffer.concat(kept).toString('utf8');
    if (timedOut) {
      exitCode = -1;
      output = `Health check exceeded timeout (${timeoutMs / 1000}s)`;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const end = new Date();
  const retries = hc.Retries && hc.Retries > 0 ? hc.Retries : 3;
  const startPeriodMs = hc.StartPeriod ? hc.StartPeriod / 1e6 : 0;
  let result: HealthResult | undefined;
  let changed: ContainerRecord | undefined;
  await ctx.containerStore.update(rec.Id, (r) => {
    const h: HealthState = r.State.Health ?? { Status: 'starting', FailingStreak: 0, Log: [] };
    h.Log = [...h.Log, { Start: start.toISOString(), End: end.toISOString(), ExitCode: exitCode, Output: output }].slice(-KEEP);
    const before = h.Status;
    if (exitCode === 0) {
      h.Status = 'healthy';
      h.FailingStreak = 0;
    } else if (Date.now() - Date.parse(r.State.StartedAt) >= startPeriodMs || h.Status === 'healthy') {
      h.FailingStreak += 1;
      if (h.FailingStreak >= retries) h.Status = 'unhealthy';
    }
    r.State.Health = h;
    // Reported once the record is written (the update's callback cannot wait for the log).
    if (h.Status !== before) changed = r;
    result = { status: h.Status, exitCode, output };
  });
  if (changed) await ctx.events.emit('container', `health_status: ${result!.status}`, changed.Id, containerEventAttributes(changed));
  return result!;
}
