/**
 * diff, commit and export through `berth` on real containers: A/C/D lines, a committed image
 * that runs with the container's changes and the --change'd config, the pause around a
 * commit, a commit without changes adding no layer, export of running and stopped
 * containers, and the failure paths.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthCli, BERTH, importBusybox, engineSkip } from '../helpers/cli';
import { makeBusyboxRootfs } from '../helpers/rootfs';

const skip = engineSkip();
const clis: BerthCli[] = [];
const dirs: string[] = [];
after(() => {
  clis.forEach((c) => c.cleanup());
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});
function cli(t: { name: string }): BerthCli {
  const c = new BerthCli(t.name);
  clis.push(c);
  return c;
}
const tarList = (buf: Buffer) => spawnSync('tar', ['-tf', '-'], { input: buf, encoding: 'utf8', maxBuffer: 1 << 26 }).stdout.split('\n').filter(Boolean);

test('diff: nothing for an untouched container, then A, C and D lines in path order', { skip }, (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  b.ok(['run', '--name', 'quiet', img, 'true']);
  assert.equal(b.ok(['diff', 'quiet']), '', 'the files start mounts over are not changes');
  b.ok(['run', '--name', 'busy', img, 'sh', '-c', 'echo new > /etc/new && echo x >> /etc/passwd && rm /etc/group && mkdir -p /opt/app && touch /opt/app/f']);
  assert.equal(b.ok(['diff', 'busy']), 'C /etc\nD /etc/group\nA /etc/new\nC /etc/passwd\nA /opt\nA /opt/app\nA /opt/app/f\n');
  assert.equal(b.ok(['container', 'diff', 'busy']), b.ok(['diff', 'busy']));
  const ghost = b.run(['diff', 'ghost']);
  assert.equal(ghost.code, 1);
  assert.match(ghost.stderr, /No such container: ghost/);
  const rootfs = mkdtempSync(join(tmpdir(), 'berth-diff-rootfs-'));
  dirs.push(rootfs);
  makeBusyboxRootfs(rootfs);
  b.ok(['create', '--name', 'plain', '--rootfs', rootfs, 'true']);
  const unsupported = b.run(['diff', 'plain']);
  assert.equal(unsupported.code, 1);
  assert.match(unsupported.stderr, /runs from --rootfs/);
});

test('commit: a new image with the changes, -m/-a/-c, paused while committing, and docker\'s output', { skip }, (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  const id = b.ok(['run', '-d', '--name', 'src', '-e', 'FROM_RUN=1', '-w', '/srv', img, 'sh', '-c', 'mkdir -p /srv && echo baked > /srv/data && sleep 1000']).trim();
  for (let i = 0; i < 100 && b.run(['exec', 'src', 'test', '-e', '/srv/data']).code !== 0; i++) spawnSync('sleep', ['0.05']);
  const since = new Date().toISOString();
  const imageId = b.ok(['commit', '-m', 'baked data', '-a', 'Ada <ada@example.com>', '-c', 'ENV COLOUR=blue', '-c', 'CMD ["cat", "data"]', 'src', 'baked:1']).trim();
  assert.match(imageId, /^sha256:[0-9a-f]{64}$/);
  assert.equal(b.ok(['inspect', '-f', '{{.State.Status}}', 'src']).trim(), 'running', 'unpaused again');
  const actions = b.ok(['events', '--since', since, '--until', new Date(Date.now() + 1000).toISOString(), '--filter', `container=${id}`, '--format', '{{.Action}}']).trim().split('\n');
  assert.deepEqual(actions, ['pause', 'unpause', 'commit'], 'paused while its changes were read');
  assert.equal(b.ok(['run', '--rm', 'baked:1']), 'baked\n', 'the image has the file, the working dir and the --change\'d CMD');
  const env = b.ok(['run', '--rm', 'baked:1', 'sh', '-c', 'echo $COLOUR $FROM_RUN']);
  assert.equal(env, 'blue 1\n', 'the container\'s config (its env) plus the changes');
  assert.equal(b.ok(['image', 'inspect', '-f', '{{.Author}}|{{.Comment}}|{{.Id}}', 'baked:1']).trim(), `Ada <ada@example.com>|baked data|${imageId}`);
  const baseLayers = Number(b.ok(['image', 'inspect', '-f', '{{len .RootFS.Layers}}', img]));
  assert.equal(Number(b.ok(['image', 'inspect', '-f', '{{len .RootFS.Layers}}', 'baked:1'])), baseLayers + 1);

  const since2 = new Date().toISOString();
  b.ok(['commit', '--pause=false', 'src', 'baked:2']);
  const actions2 = b.ok(['events', '--since', since2, '--until', new Date(Date.now() + 1000).toISOString(), '--filter', `container=${id}`, '--format', '{{.Action}}']).trim().split('\n');
  assert.deepEqual(actions2, ['commit'], '--pause=false does not pause');

  b.ok(['create', '--name', 'untouched', img]);
  const unnamed = b.ok(['commit', 'untouched']).trim();
  assert.equal(Number(b.ok(['image', 'inspect', '-f', '{{len .RootFS.Layers}}', unnamed])), baseLayers, 'no changes: no new layer');
  assert.match(b.ok(['images', '--filter', 'dangling=true', '-q']), new RegExp(unnamed.slice(7, 19)), 'a commit without a name is known by id');

  const badChange = b.run(['commit', '-c', 'RUN echo no', 'src']);
  assert.equal(badChange.code, 1);
  assert.match(badChange.stderr, /RUN is not allowed in --change/);
  const badPause = b.run(['commit', '--pause=maybe', 'src']);
  assert.equal(badPause.code, 125);
  assert.match(badPause.stderr, /^invalid argument "maybe" for "-p, --pause" flag/);
  assert.equal(b.run(['commit', 'ghost']).code, 1);
  const badName = b.run(['commit', 'src', 'UPPER:case']);
  assert.equal(badName.code, 1);
  b.ok(['rm', '-f', 'src', 'untouched']);
  b.containerIds();
  assert.deepEqual(b.leaks(), []);
});

test('export: the root file system of running and stopped containers, -o, a terminal refused', { skip }, (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  b.ok(['run', '-d', '--name', 'live', '-v', '/vol', img, 'sh', '-c', 'echo hi > /vol/in-volume && echo layer > /in-layer && sleep 1000']);
  for (let i = 0; i < 100 && b.run(['exec', 'live', 'test', '-e', '/in-layer']).code !== 0; i++) spawnSync('sleep', ['0.05']);
  const r = spawnSync(BERTH, ['--root', b.root, '--runroot', b.runRoot, 'export', 'live'], { maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, r.stderr.toString());
  const names = tarList(r.stdout);
  assert.ok(names.includes('in-layer') && names.includes('bin/busybox'));
  assert.ok(!names.some((n) => n.startsWith('proc/') && n !== 'proc/'), 'not the container\'s /proc');
  assert.ok(!names.includes('vol/in-volume'), 'volumes are not part of the export');
  b.ok(['stop', '-t', '0', 'live']);
  const out = join(mkdtempSync(join(tmpdir(), 'berth-export-')), 'live.tar');
  dirs.push(join(out, '..'));
  assert.equal(b.ok(['export', '-o', out, 'live']), '');
  assert.ok(tarList(readFileSync(out)).includes('in-layer'));
  assert.deepEqual(b.leaks(), [], 'the stopped container\'s temporary mount is gone');
  const tty = spawnSync('script', ['-qec', `${BERTH} --root ${b.root} --runroot ${b.runRoot} export live`, '/dev/null'], { encoding: 'utf8' });
  assert.notEqual(tty.status, 0);
  assert.match(tty.stdout, /cowardly refusing to save to a terminal/);
  const missing = b.run(['export', '-o', join(out, '..', 'nope', 'x.tar'), 'live']);
  assert.equal(missing.code, 1);
  assert.ok(!existsSync(join(out, '..', 'nope')));
  assert.equal(b.run(['export', 'ghost']).code, 1);
});
