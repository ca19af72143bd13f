/**
 * `start`'s decision between "released" and "exited before it could be started", against
 * a model of the exec fifo and the init process, for every moment at which the process can
 * write its byte and exit (or die without writing): the answer must never depend on when
 * that happens relative to our looks. A `run --rm IMAGE true` under load was reported as
 * never started while its command had run (1 in ~150 here with CPU burners).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { awaitRelease, type ReleaseProbe } from '../../src/runtime/start';

/** The fifo holds the byte once written; the process is alive until it exits. Every call to
 * the probe is a step; `at` is the step before which the process acts. */
function model(at: number, writes: boolean): { probe: ReleaseProbe; steps: () => number } {
  let step = 0;
  let byte = false;
  let alive = true;
  const tick = (): void => {
    if (step++ === at) {
      if (writes) byte = true;
      alive = false;
    }
  };
  return {
    probe: {
      readByte: () => {
        tick();
        const got = byte;
        byte = false;
        return got;
      },
      alive: () => {
        tick();
        return alive;
      },
      sleep: async () => {
        tick();
      },
    },
    steps: () => step,
  };
}

test('start: a process that wrote its byte and exited is started, whenever it did so', async () => {
  for (let at = 0; at < 30; at++) {
    const m = model(at, true);
    assert.equal(await awaitRelease(m.probe), 'started', `the process wrote and exited before step ${at}`);
  }
});

test('start: a process that died without writing is reported, whenever it died', async () => {
  for (let at = 0; at < 30; at++) {
    const m = model(at, false);
    assert.equal(await awaitRelease(m.probe), 'exited', `the process died before step ${at}`);
    assert.ok(m.steps() <= at + 4, 'and that is seen in the next round');
  }
});
