/** `berth volume ...` black-box: create/ls/inspect/rm/prune, filters, formats and errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cliPerTest } from '../helpers/cli';

const cli = cliPerTest();

test('volume create/ls/inspect/rm with docker output', (t) => {
  const b = cli(t);
  assert.equal(b.ok(['volume', 'create', '-l', 'app=web', 'data']).trim(), 'data');
  assert.equal(b.ok(['volume', 'create', 'data']).trim(), 'data', 'create is idempotent');
  const anon = b.ok(['volume', 'create']).trim();
  assert.match(anon, /^[0-9a-f]{64}$/);
  const ls = b.ok(['volume', 'ls']).trimEnd().split('\n');
  assert.match(ls[0]!, /^DRIVER\s+VOLUME NAME$/);
  assert.equal(ls.length, 3);
  assert.equal(b.ok(['volume', 'ls', '-q', '--filter', 'label=app=web']).trim(), 'data');
  assert.equal(b.ok(['volume', 'ls', '-q', '--filter', 'dangling=true']).split('\n').filter(Boolean).length, 2);
  const [doc] = JSON.parse(b.ok(['volume', 'inspect', 'data'])) as Array<{ Name: string; Driver: string; Mountpoint: string; Labels: Record<string, string> }>;
  assert.deepEqual([doc!.Name, doc!.Driver, doc!.Labels], ['data', 'local', { app: 'web' }]);
  assert.ok(existsSync(doc!.Mountpoint));
  assert.equal(b.ok(['volume', 'inspect', '-f', '{{.Mountpoint}}', 'data']).trim(), doc!.Mountpoint);
  const r = b.run(['volume', 'rm', 'data', 'ghost']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, 'data\n', 'the existing volume is removed even though another name failed');
  assert.match(r.stderr, /^Error: No such volume: ghost$/m);
  assert.equal(b.run(['volume', 'rm', '-f', 'ghost']).code, 0);
});

test('volume prune: anonymous by default, all with -a, --dry-run keeps them', (t) => {
  const b = cli(t);
  b.ok(['volume', 'create', 'named']);
  const anon = b.ok(['volume', 'create']).trim();
  assert.match(b.ok(['volume', 'prune', '--dry-run']), new RegExp(`Would delete Volumes:\\n${anon}\\n`));
  assert.equal(b.ok(['volume', 'ls', '-q']).split('\n').filter(Boolean).length, 2);
  assert.match(b.ok(['volume', 'prune', '-f']), new RegExp(`Deleted Volumes:\\n${anon}\\n`));
  assert.equal(b.ok(['volume', 'ls', '-q']).trim(), 'named');
  assert.match(b.ok(['volume', 'prune', '-f', '-a']), /named/);
  assert.equal(b.ok(['volume', 'ls', '-q']).trim(), '');
  const noTty = b.run(['volume', 'prune']);
  assert.equal(noTty.code, 0);
  assert.match(noTty.stdout, /Are you sure you want to continue\? \[y\/N\]/);
});

test('volume errors: bad names, unknown driver, bad filters', (t) => {
  const b = cli(t);
  const bad = b.run(['volume', 'create', 'x/y']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /invalid volume name "x\/y"/);
  assert.match(b.run(['volume', 'create', '-d', 'nfs', 'v1']).stderr, /volume driver "nfs" is not available/);
  assert.match(b.run(['volume', 'ls', '--filter', 'colour=red']).stderr, /invalid filter "colour"/);
});
