/**
 * container prune, system prune, system df, info counts and events through `berth`: what is
 * removed and what never is (running containers, images and volumes in use, named volumes),
 * real sizes, docker's event lines with their filters and formats, and `events` following
 * live until interrupted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BERTH, importBusybox, sleep, engineSkip, cliPerTest } from '../helpers/cli';
import { REGISTRY_BIN, startRegistry } from '../helpers/registry';

const skip = engineSkip();
const cli = cliPerTest();
const soon = () => new Date(Date.now() + 1000).toISOString();

test('container prune: stopped containers only, filters, confirmation, dry run', { skip }, (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  const running = b.ok(['run', '-d', '--name', 'up', img, 'sleep', '1000']).trim();
  const done = b.ok(['run', '-d', '--name', 'done', '--label', 'tier=batch', img, 'sh', '-c', 'head -c 100000 /dev/zero > /blob']).trim();
  const created = b.ok(['create', '--name', 'fresh', img]).trim();
  b.ok(['wait', 'done']);
  const asked = b.run(['container', 'prune']);
  assert.equal(asked.code, 0);
  assert.match(asked.stdout, /^WARNING! This will remove all stopped containers\.\nAre you sure you want to continue\? \[y\/N\] \n$/);
  assert.equal(b.ok(['ps', '-aq']).trim().split('\n').length, 3, 'no terminal to answer: nothing removed');
  const dry = b.ok(['container', 'prune', '--dry-run']);
  assert.match(dry, new RegExp(`^Would delete Containers:\\n(${done}\\n${created}|${created}\\n${done})\\n\\nTotal reclaimable space: \\d+(\\.\\d+)?kB\\n$`));
  assert.equal(b.ok(['ps', '-aq']).trim().split('\n').length, 3);
  assert.equal(b.ok(['container', 'prune', '-f', '--filter', 'until=1h']), 'Total reclaimed space: 0B\n', 'none was created an hour ago');
  const byLabel = b.ok(['container', 'prune', '-f', '--filter', 'label=tier=batch']);
  assert.match(byLabel, new RegExp(`^Deleted Containers:\\n${done}\\n\\nTotal reclaimed space: 1\\d\\d(\\.\\d+)?kB\\n$`), 'the 100 kB written count');
  assert.match(b.ok(['container', 'prune', '-f', '--filter', 'label!=tier']), new RegExp(`^Deleted Containers:\\n${created}\\n\\nTotal reclaimed space: [\\d.]+k?B\\n$`));
  assert.equal(b.ok(['ps', '-aq', '--no-trunc']).trim(), running, 'the running container stays');
  const bad = b.run(['container', 'prune', '-f', '--filter', 'status=exited']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /invalid filter "status=exited"/);
  b.ok(['rm', '-f', 'up']);
  b.containerIds();
  assert.deepEqual(b.leaks(), []);
});

test('system prune: stopped containers, dangling then unused images and layers, anonymous unused volumes; never what is in use', { skip }, (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  importBusybox(b, 'spare:1');
  b.ok(['tag', img, 'inuse:1']);
  b.ok(['run', '-d', '--name', 'keeper', '-v', '/kept-anon', '-v', 'named:/named', 'inuse:1', 'sleep', '1000']);
  b.ok(['run', '--name', 'gone', '-v', '/gone-anon', img, 'sh', '-c', 'echo x > /f']);
  const dangling = b.ok(['commit', 'gone']).trim();
  const volumesBefore = b.ok(['volume', 'ls', '-q']).trim().split('\n');
  assert.equal(volumesBefore.length, 3);
  const dry = b.ok(['system', 'prune', '-a', '--volumes', '--dry-run']);
  assert.match(dry, /^Would delete Containers:\n[0-9a-f]{64}\n\nWould delete Volumes:\n[0-9a-f]{64}\n\nWould delete Images:\ndeleted: sha256:/);
  assert.equal(b.ok(['volume', 'ls', '-q']).trim().split('\n').length, 3, 'a dry run removes nothing');
  const r = b.ok(['system', 'prune', '-f', '--volumes']);
  assert.match(r, /^Deleted Containers:\n[0-9a-f]{64}\n\nDeleted Volumes:\n[0-9a-f]{64}\n\nDeleted Images:\ndeleted: sha256:[0-9a-f]{64}\n\n/);
  assert.ok(r.includes(`deleted: ${dangling}`), 'the dangling image went');
  assert.match(r, /Total reclaimed space: \d/);
  const left = b.ok(['volume', 'ls', '-q']).trim().split('\n');
  assert.equal(left.length, 2);
  assert.ok(left.includes('named'), 'named volumes are never pruned by --volumes');
  assert.ok(b.ok(['images', '--format', '{{.Repository}}:{{.Tag}}']).includes('spare:1'), 'without -a a tagged image stays');
  const all = b.ok(['system', 'prune', '-a', '-f']);
  assert.match(all, /Deleted Images:\nuntagged: spare:1\n/);
  assert.doesNotMatch(all, /untagged: inuse:1/, 'an image a container uses stays');
  const images = b.ok(['images', '--format', '{{.Repository}}:{{.Tag}}']).trim().split('\n').sort();
  assert.deepEqual(images, ['busybox:test', 'inuse:1'], 'the image of the running container keeps both its names');
  assert.equal(b.ok(['exec', 'keeper', 'true']), '', 'the running container still works');
  b.ok(['rm', '-f', '-v', 'keeper']);
  const last = b.ok(['system', 'prune', '-a', '-f', '--volumes']);
  assert.match(last, /untagged: inuse:1/);
  assert.match(last, /Deleted Layers:\nsha256:/, 'unpacked layers nothing needs are removed');
  assert.deepEqual(b.ok(['volume', 'ls', '-q']).trim(), 'named');
  assert.equal(b.ok(['images', '-q']), '');
  b.containerIds();
  assert.deepEqual(b.leaks(), []);
});

test('system df and info: real counts and sizes for containers and volumes', { skip }, (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  b.ok(['run', '-d', '--name', 'big', '-v', 'data:/data', img, 'sh', '-c', 'head -c 200000 /dev/zero > /data/blob && head -c 300000 /dev/zero > /layer && sleep 1000']);
  b.ok(['run', '--name', 'small', img, 'true']);
  b.ok(['volume', 'create', 'unused']);
  b.ok(['create', '--name', 'paused', img, 'sleep', '1000']);
  b.ok(['start', 'paused']);
  b.ok(['pause', 'paused']);
  for (let i = 0; i < 200 && b.run(['exec', 'big', 'sh', '-c', 'test "$(stat -c %s /layer)" = 300000']).code !== 0; i++) b.ok(['exec', 'big', 'sleep', '0.05']);
  const df = b.ok(['system', 'df']).split('\n');
  assert.match(df[0]!, /^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$/);
  assert.match(df[1]!, /^Images\s+1\s+1\s+/);
  assert.match(df[2]!, /^Containers\s+3\s+2\s+3\d\d(\.\d+)?kB\s+\d+(\.\d+)?kB \(\d+%\)$/, 'the 300 kB written count, only the stopped one is reclaimable');
  assert.match(df[3]!, /^Local Volumes\s+2\s+1\s+200kB\s+0B \(0%\)$/);
  assert.match(df[4]!, /^Build Cache\s+0\s+0\s+0B\s+0B$/);
  const v = b.ok(['system', 'df', '-v']);
  assert.match(v, /^Images space usage:\n\nREPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\s+SHARED SIZE\s+UNIQUE SIZE\s+CONTAINERS\nbusybox\s+test\s+[0-9a-f]{12}\s+.*\s+3\n/);
  assert.match(v, /\nContainers space usage:\n\nCONTAINER ID\s+IMAGE\s+COMMAND\s+LOCAL VOLUMES\s+SIZE\s+CREATED\s+STATUS\s+NAMES\n/);
  assert.match(v, /\s1\s+3\d\d(\.\d+)?kB\s+.*Up .*\s+big\n/);
  assert.match(v, /\nLocal Volumes space usage:\n\nVOLUME NAME\s+LINKS\s+SIZE\ndata\s+1\s+200kB\nunused\s+0\s+0B\n/);
  assert.match(v, /\nBuild cache usage: 0B\n/);
  assert.equal(b.ok(['system', 'df', '--format', '{{.Type}}={{.TotalCount}}']), 'Images=1\nContainers=3\nLocal Volumes=2\nBuild Cache=0\n');
  const info = b.ok(['info']);
  assert.match(info, /^Server:\n Containers: 3\n  Running: 1\n  Paused: 1\n  Stopped: 1\n Images: 1\n/);
  assert.equal(b.ok(['info', '-f', '{{.Containers}} {{.ContainersRunning}} {{.ContainersPaused}} {{.ContainersStopped}}']).trim(), '3 1 1 1');
  b.ok(['rm', '-f', 'big', 'small', 'paused']);
  b.containerIds();
  assert.deepEqual(b.leaks(), []);
});

test('events: every lifecycle operation is recorded; docker\'s lines, filters, formats, --since/--until', { skip }, (t) => {
  const b = cli(t);
  const t0 = new Date(Date.now() - 1).toISOString();
  const img = importBusybox(b);
  const id = b.ok(['run', '-d', '--name', 'ev', '--label', 'team=ops', img, 'sleep', '1000']).trim();
  b.ok(['exec', 'ev', 'true']);
  b.ok(['pause', 'ev']);
  b.ok(['unpause', 'ev']);
  b.ok(['rename', 'ev', 'ev2']);
  b.ok(['update', '--cpu-shares', '512', 'ev2']);
  b.ok(['top', 'ev2']);
  b.ok(['kill', '-s', 'USR1', 'ev2']);
  b.ok(['restart', '-t', '0', 'ev2']);
  b.ok(['stop', '-t', '0', 'ev2']);
  b.ok(['rm', 'ev2']);
  b.ok(['tag', img, 'other:1']);
  b.ok(['rmi', 'other:1']);
  b.ok(['volume', 'create', 'v1']);
  b.ok(['volume', 'rm', 'v1']);
  const lines = b.ok(['events', '--since', t0, '--until', soon()]).trim().split('\n');
  const line = (re: RegExp) => lines.find((l) => re.test(l));
  assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d) image import sha256:[0-9a-f]{64} \(name=busybox:test\)$/);
  assert.ok(line(new RegExp(`^\\S+ container create ${id} \\(image=busybox:test, name=ev, team=ops\\)$`)), 'labels, image and name as sorted attributes');
  const containerActions = lines.filter((l) => l.includes(` container `)).map((l) => l.split(' ')[2]);
  for (const a of ['create', 'start', 'exec_start:', 'pause', 'unpause', 'rename', 'update', 'top', 'kill', 'die', 'stop', 'restart', 'destroy']) {
    assert.ok(containerActions.includes(a), `a ${a} event (${containerActions.join(',')})`);
  }
  assert.ok(line(/ container rename .* \(image=busybox:test, name=ev2, oldName=ev, team=ops\)$/));
  assert.ok(line(/ container kill .*signal=10/));
  assert.ok(line(/ container die .*exitCode=137/));
  assert.ok(line(/ image tag sha256:[0-9a-f]{64} \(name=other:1\)$/));
  assert.ok(line(/ image untag sha256:[0-9a-f]{64} \(name=other:1\)$/));
  assert.ok(line(/ volume create v1 \(driver=local\)$/));
  assert.ok(line(/ volume destroy v1 \(driver=local\)$/));

  const q = (...args: string[]) => b.ok(['events', '--since', t0, '--until', soon(), ...args]).trim().split('\n').filter(Boolean);
  assert.deepEqual(q('--filter', 'event=die', '--format', '{{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}}'), ['ev2 137', 'ev2 137'], 'restart and stop each ended it');
  assert.deepEqual(q('--filter', 'type=volume', '--format', '{{.Action}}'), ['create', 'destroy']);
  assert.deepEqual(q('--filter', 'image=other:1', '--format', '{{.Action}}'), ['tag', 'untag']);
  assert.deepEqual(q('--filter', 'container=ev', '--filter', 'event=exec_start', '--format', '{{.Action}}'), ['exec_start: true'], 'by name prefix (it was still "ev" then)');
  assert.equal(q('--filter', 'label=team=ops').length, q('--filter', `container=${id.slice(0, 10)}`).length, 'every event of the container carries its labels');
  assert.deepEqual(q('--filter', 'label=team=dev'), []);
  const json = JSON.parse(q('--filter', 'event=start', '--format', 'json')[0]!) as Record<string, unknown>;
  assert.deepEqual(Object.keys(json), ['status', 'id', 'from', 'Type', 'Action', 'Actor', 'scope', 'time', 'timeNano']);
  assert.equal(json.from, 'busybox:test');
  assert.deepEqual(b.ok(['events', '--since', t0, '--until', t0]).trim(), '', 'nothing in an empty window');
  const badFilter = b.run(['events', '--filter', 'colour=red', '--until', soon()]);
  assert.equal(badFilter.code, 1);
  assert.match(badFilter.stderr, /invalid filter 'colour'/);
  const badTime = b.run(['events', '--since', 'yesterday-ish']);
  assert.equal(badTime.code, 1);
  assert.match(badTime.stderr, /invalid time "yesterday-ish"/);
});

test('events follows live events until interrupted, and stops by itself at --until', { skip }, async (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  // --since now: whenever the follower gets going, it starts from this instant (no race).
  const child = spawn(BERTH, ['--root', b.root, '--runroot', b.runRoot, 'events', '--since', new Date().toISOString(), '--filter', 'type=container', '--format', '{{.Action}} {{.Actor.Attributes.name}}'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  b.ok(['create', '--name', 'watched', img, 'true']);
  b.ok(['start', '-a', 'watched']);
  for (let i = 0; i < 400 && !out.includes('die watched'); i++) await sleep(50);
  child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  assert.equal(code, 0);
  assert.deepEqual(out.trim().split('\n'), ['create watched', 'start watched', 'die watched']);
  const bounded = spawn(BERTH, ['--root', b.root, '--runroot', b.runRoot, 'events', '--since', '10m', '--until', new Date(Date.now() + 1500).toISOString(), '--filter', 'event=create'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let got = '';
  bounded.stdout.on('data', (d: Buffer) => (got += d.toString()));
  const boundedCode = await new Promise<number | null>((r) => bounded.once('exit', r));
  assert.equal(boundedCode, 0, 'a future --until ends the stream by itself');
  assert.match(got, / container create [0-9a-f]{64} \(image=busybox:test, name=watched\)\n$/);
});

test('events: image push, pull, save, load, untag and delete through a real registry', { skip: skip || (!existsSync(REGISTRY_BIN) ? `${REGISTRY_BIN} is not installed` : false) }, async (t) => {
  const registry = await startRegistry();
  t.after(() => registry.stop());
  const src = cli(t);
  const dst = cli({ name: `${t.name}-dst` });
  const ref = `${registry.domain}/events/bb:1`;
  importBusybox(src, ref);
  src.ok(['push', '-q', ref]);
  assert.match(src.ok(['events', '--since', '1h', '--until', soon(), '--filter', 'event=push']), new RegExp(` image push ${ref.replace(/[.]/g, '\\.')} \\(name=${ref.replace(/[.]/g, '\\.')}\\)\\n$`));
  const t0 = new Date(Date.now() - 1).toISOString();
  dst.ok(['pull', '-q', ref]);
  const archive = join(dst.root, 'saved.tar');
  dst.ok(['save', '-o', archive, ref]);
  dst.ok(['rmi', ref]);
  dst.ok(['load', '-q', '-i', archive]);
  const lines = dst.ok(['events', '--since', t0, '--until', soon(), '--filter', 'type=image', '--format', '{{.Action}} {{.Actor.Attributes.name}}']).trim().split('\n');
  assert.deepEqual(lines.map((l) => l.split(' ')[0]), ['pull', 'save', 'untag', 'delete', 'load']);
  assert.equal(lines[0], `pull ${ref}`);
  assert.equal(lines[4], `load ${ref}`);
});

test('events: health status changes are recorded with the container\'s attributes', { skip }, async (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  const t0 = new Date(Date.now() - 1).toISOString();
  b.ok(['run', '-d', '--name', 'doc', '--label', 'svc=api', '--health-cmd', 'true', '--health-interval', '100ms', img, 'sleep', '1000']);
  const health = () => b.ok(['events', '--since', t0, '--until', new Date().toISOString(), '--filter', 'event=health_status', '--format', '{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.svc}}']);
  for (let i = 0; i < 400 && !health(); i++) await sleep(50);
  assert.equal(health(), 'health_status: healthy doc api\n');
  b.ok(['rm', '-f', 'doc']);
});
