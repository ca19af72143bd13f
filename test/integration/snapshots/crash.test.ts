/**
 * A process killed in the middle of an unpack leaves no layer that looks complete: the
 * half-written tree is only in staging, and the next open of the snapshotter removes it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CopySnapshotter, OverlaySnapshotter } from '../../../src/snapshots';
import { sys } from '../../../src/sys';
import { tempDir } from '../../helpers/rootfs';
import { tarOf } from '../../helpers/layers';
import { digestOf } from './suite';

const outRoot = join(__dirname, '..', '..', '..');

for (const name of ['overlay', 'copy'] as const) {
  test(`${name}: a killed unpack is not a layer, and its staging dir is cleaned on next open`, async () => {
    const t = tempDir(`crash-${name}`);
    try {
      const tar = await tarOf(Array.from({ length: 50 }, (_, i) => ({ name: `f${i}`, content: 'x'.repeat(1000) })));
      const half = join(t.path, 'half.tar');
      writeFileSync(half, tar.subarray(0, tar.length / 2));
      const diffId = digestOf(tar);
      const dir = join(t.path, 'layers', name);
      // The child applies the first half, says so, then waits for bytes that never come.
      const script = `
        const { ${name === 'overlay' ? 'OverlaySnapshotter' : 'CopySnapshotter'}: S } = require(${JSON.stringify(join(outRoot, 'src', 'snapshots'))});
        const { sys } = require(${JSON.stringify(join(outRoot, 'src', 'sys'))});
        const { PassThrough } = require('node:stream');
        const fs = require('node:fs');
        (async () => {
          const s = new S(${JSON.stringify(dir)}, sys()).open();
          const st = await s.beginLayer({ chainId: ${JSON.stringify(diffId)}, parentChainId: undefined, diffId: ${JSON.stringify(diffId)} });
          const input = new PassThrough();
          input.write(fs.readFileSync(${JSON.stringify(half)}));
          st.apply(input);
          const staging = ${JSON.stringify(join(dir, 'staging'))};
          const poll = setInterval(() => {
            for (const d of fs.readdirSync(staging)) {
              if (!d.endsWith('.lock') && fs.existsSync(staging + '/' + d + '/fs/f10')) { clearInterval(poll); console.log('staged'); }
            }
          }, 5);
        })();`;
      const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
      assert.equal(chunk.toString().trim(), 'staged');
      child.kill('SIGKILL');
      await once(child, 'exit');

      assert.equal(readdirSync(join(dir, 'staging')).length, 2, 'the dead unpack left its staging dir and lock');
      const S = name === 'overlay' ? OverlaySnapshotter : CopySnapshotter;
      const s = new S(dir, sys());
      assert.equal(s.hasLayer(diffId), false, 'a killed unpack is not a layer');
      s.open();
      assert.deepEqual(readdirSync(join(dir, 'staging')), [], 'cleaned on the next open');
      assert.deepEqual(readdirSync(join(dir, 'sha256')), []);
    } finally {
      t.cleanup();
    }
  });
}

test('copy: a layer cannot be unpacked before its parent', async () => {
  const t = tempDir('copy-order');
  try {
    const s = new CopySnapshotter(join(t.path, 'layers', 'copy'), sys()).open();
    const diffId = `sha256:${'1'.repeat(64)}`;
    await assert.rejects(s.beginLayer({ chainId: `sha256:${'2'.repeat(64)}`, parentChainId: diffId, diffId }), /parent .* is not unpacked/);
  } finally {
    t.cleanup();
  }
});

test('a staging lock left without its directory is removed on open; a held one is kept', async () => {
  const t = tempDir('orphan-lock');
  try {
    const dir = join(t.path, 'layers', 'overlay');
    const s = new OverlaySnapshotter(dir, sys()).open();
    writeFileSync(join(dir, 'staging', 'deadbeef.lock'), '');
    const live = (s as unknown as { store: { stage(): { dir: string; lockFd: number } } }).store.stage();
    new OverlaySnapshotter(dir, sys()).open();
    assert.deepEqual(readdirSync(join(dir, 'staging')).sort(), [`${live.dir.split('/').pop()}`, `${live.dir.split('/').pop()}.lock`].sort());
  } finally {
    t.cleanup();
  }
});
