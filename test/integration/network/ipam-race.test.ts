// Several processes allocate on one network at once: every container gets an address and no
// address is handed out twice (the network's flock serialises the read-modify-write).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { NetworkStore } from '../../../src/network/store';

const storeModule = resolve(__dirname, '../../../src/network/store.js');

function worker(root: string, prefix: string, count: number): Promise<void> {
  const script = `
    const { NetworkStore } = require(${JSON.stringify(storeModule)});
    const store = new NetworkStore(process.argv[1], { occupied: async () => [] });
    (async () => {
      for (let i = 0; i < ${count}; i++) {
        await store.connect('race', { containerId: process.argv[2] + '-' + i, containerName: process.argv[2] + '-' + i });
      }
    })().catch((e) => { console.error(e); process.exit(1); });`;
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['-e', script, root, prefix], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => (code === 0 ? done() : fail(new Error(`worker ${prefix} exited ${code}: ${err}`))));
  });
}

test('concurrent allocations from separate processes never duplicate an address', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'berth-ipam-race-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const store = new NetworkStore(root, { occupied: async () => [] });
  await store.create({ name: 'race', ipam: [{ subnet: '10.70.0.0/24' }] });
  const workers = 6;
  const each = 15;
  await Promise.all(Array.from({ length: workers }, (_, w) => worker(root, `w${w}`, each)));
  const eps = await store.endpoints('race');
  assert.equal(eps.length, workers * each);
  const addrs = eps.map((e) => e.ipv4);
  assert.equal(new Set(addrs).size, addrs.length, 'an address was handed out twice');
  // Lowest-free allocation under a lock fills .2 .. .91 exactly.
  const last = Math.max(...addrs.map((a) => Number(a!.split('.')[3])));
  assert.equal(last, workers * each + 1);
});
