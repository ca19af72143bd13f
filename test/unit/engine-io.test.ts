import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from '../../src/core/errors';
import type { ContainerRecord } from '../../src/engine/containers/record';
import { attachContainer, containerLogs } from '../../src/engine/io';
import { inFlagWords } from '../../src/cli/engine/flag-words';

const stopped = { Id: 'abc', Config: {}, State: { Running: false }, Berth: {} } as unknown as ContainerRecord;

test('logs of a container without a log are refused before any entry, naming the field; the CLI names its flag', () => {
  let refusal: unknown;
  try {
    containerLogs('/nonexistent', stopped, 'web');
  } catch (e) {
    refusal = e;
  }
  assert.ok(refusal instanceof BerthError);
  assert.equal(refusal.message, 'container web was created with HostConfig.LogConfig.Type none: there are no logs to read');
  const cli = inFlagWords(refusal, { 'HostConfig.LogConfig.Type': '--log-driver' }) as BerthError;
  assert.equal(cli.message, 'container web was created with --log-driver none: there are no logs to read');
  assert.equal(cli.code, 'EUNSUPPORTED');
  const other = new Error('x');
  assert.equal(inFlagWords(other, {}), other, 'anything else passes through');
});

test('attach refuses a stopped container without holding its exit', async () => {
  let held = 0;
  const ctx = { runRoot: '/nonexistent', holdExit: () => (held++, undefined), releaseExit: async () => undefined, waitExit: async () => undefined };
  await assert.rejects(attachContainer(ctx, stopped, { stdout: process.stdout, stderr: process.stderr }), /you cannot attach to a stopped container/);
  assert.equal(held, 0);
});
