/** The library API (`import { Engine } from 'berth'`) drives containers without the CLI. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine, readLogs } from '../../src/index';
import { BerthCli, importBusybox, engineSkip } from '../helpers/cli';

const skip = engineSkip();
const clis: BerthCli[] = [];
after(() => clis.forEach((c) => c.cleanup()));

test('Engine: create, start, wait, logs, remove', { skip }, async () => {
  const cli = new BerthCli('library');
  clis.push(cli);
  const image = importBusybox(cli);
  const engine = new Engine({ root: cli.root, runRoot: cli.runRoot });
  try {
    const rec = await engine.containers.create({
      image,
      config: { Cmd: ['sh', '-c', 'echo hello from $(hostname); exit 7'], Hostname: 'lib' },
      hostConfig: { Memory: 32 * 1024 * 1024 },
      pull: 'never',
    });
    await engine.containers.start(rec.Id);
    const done = await engine.containers.waitExit(rec.Id);
    assert.equal(done?.State.ExitCode, 7);
    const lines: string[] = [];
    for await (const e of readLogs(rec.LogPath)) lines.push(e.line);
    assert.deepEqual(lines, ['hello from lib\n']);
    assert.equal(cli.ok(['ps', '-a', '--format', '{{.Names}} {{.Status}}']).trim().split(' ').slice(1, 3).join(' '), 'Exited (7)', 'the CLI sees what the library did');
    await engine.containers.remove(rec.Id);
    assert.equal((await engine.containers.list()).length, 0);
  } finally {
    engine.close();
  }
});
