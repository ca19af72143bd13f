/**
 * The image commands of the `berth` CLI, black-box, against a real registry: pull (layers
 * unpacked into the snapshotter), images with docker's columns and --format, tag, inspect,
 * history, rmi, image prune, system df, and the errors users see.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ImageService } from '../../src/images/service';
import { REGISTRY_BIN, startRegistry, type RunningRegistry } from '../helpers/registry';
import { buildImage, busyboxLayers, storeImage, type BuiltImage } from '../helpers/images';
import { BerthCli } from '../helpers/cli';

const skip = !existsSync(REGISTRY_BIN) ? `${REGISTRY_BIN} is not installed` : process.getuid?.() !== 0 ? 'needs root' : false;
let registry: RunningRegistry;
let img: BuiltImage;
let name: string;
const clis: BerthCli[] = [];

function cli(t: { name: string }): BerthCli {
  const c = new BerthCli(t.name);
  clis.push(c);
  return c;
}

before(async () => {
  if (skip) return;
  registry = await startRegistry();
  img = await buildImage(busyboxLayers());
  name = `${registry.domain}/cli/busybox:v1`;
  const root = mkdtempSync(join(tmpdir(), 'berth-cli-src-'));
  const src = new ImageService({ root, authFile: join(root, 'auth.json') });
  try {
    await storeImage(src, name, img);
    await src.push(name);
  } finally {
    src.close();
    rmSync(root, { recursive: true, force: true });
  }
});

after(async () => {
  await registry?.stop();
  for (const c of clis) c.cleanup();
});

test('berth pull: docker-style status lines, layers unpacked, second pull up to date', { skip }, (t) => {
  const b = cli(t);
  const out = b.ok(['pull', name]);
  assert.match(out, new RegExp(`Digest: ${img.manifestDigest}`));
  assert.match(out, /Status: Downloaded newer image for /);
  assert.equal(out.split('\n').filter((l) => l.startsWith('Digest: ')).length, 1, 'the summary once');
  assert.equal(out.split('\n').filter((l) => l.startsWith('Status: ')).length, 1, 'the summary once');
  assert.ok(out.trimEnd().endsWith(name), 'the last line is the full name');
  const layerDirs = readdirSync(join(b.root, 'layers'));
  assert.ok(layerDirs.length > 0, 'the snapshotter has layers');
  assert.match(b.ok(['pull', name]), /Status: Image is up to date/);
  assert.equal(b.ok(['pull', '-q', name]).trim(), name);
});

test('berth images: columns, -q, --digests, --format and json, filters', { skip }, (t) => {
  const b = cli(t);
  b.ok(['pull', '-q', name]);
  const lines = b.ok(['images']).trimEnd().split('\n');
  assert.match(lines[0]!, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
  const id12 = img.configDigest.slice(7, 19);
  assert.match(lines[1]!, new RegExp(`^${registry.domain}/cli/busybox\\s+v1\\s+${id12}\\s+\\S.*ago\\s+[0-9.]+[kMG]?B$`));
  assert.equal(b.ok(['images', '-q']).trim(), id12);
  assert.equal(b.ok(['images', '-q', '--no-trunc']).trim(), img.configDigest);
  assert.match(b.ok(['images', '--digests']), new RegExp(`DIGEST[\\s\\S]*${img.manifestDigest}`));
  assert.equal(b.ok(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']).trim(), `${registry.domain}/cli/busybox:v1 ${id12}`);
  const json = JSON.parse(b.ok(['image', 'ls', '--format', 'json']).trim()) as { ID: string };
  assert.equal(json.ID, id12);
  assert.equal(b.ok(['images', '--filter', 'dangling=true', '-q']).trim(), '');
  assert.equal(b.ok(['images', `${registry.domain}/cli/*`, '-q']).trim(), id12);
  const bad = b.run(['images', '--filter', 'colour=red']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^Error: invalid filter "colour"\nhint: /);
});

test('berth tag, image inspect -f, history, rmi by name then by id', { skip }, (t) => {
  const b = cli(t);
  b.ok(['pull', '-q', name]);
  b.ok(['tag', name, 'mine:latest']);
  assert.equal(b.ok(['image', 'inspect', '-f', '{{.Id}}', 'mine']).trim(), img.configDigest);
  const doc = JSON.parse(b.ok(['image', 'inspect', 'mine:latest'])) as Array<{ RepoTags: string[]; RootFS: { Layers: string[] }; Os: string }>;
  assert.deepEqual(doc[0]!.RepoTags.sort(), [`${registry.domain}/cli/busybox:v1`, 'mine:latest'].sort());
  assert.deepEqual(doc[0]!.RootFS.Layers, img.layers.map((l) => l.diffId));
  assert.equal(doc[0]!.Os, 'linux');
  assert.match(b.ok(['history', 'mine']), /^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT\n/);
  const refused = b.run(['rmi', img.configDigest.slice(7, 19)]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /referenced by 2 names/);
  assert.equal(b.ok(['rmi', 'mine']).trim(), 'Untagged: mine:latest');
  const gone = b.ok(['rmi', img.configDigest.slice(7, 19)]);
  assert.match(gone, /Untagged: .*cli\/busybox:v1/);
  assert.match(gone, new RegExp(`Deleted: ${img.configDigest}`));
  assert.equal(b.ok(['images', '-q']).trim(), '');
});

test('berth system df and image prune --dry-run / -f', { skip }, (t) => {
  const b = cli(t);
  b.ok(['pull', '-q', name]);
  const df = b.ok(['system', 'df']).split('\n');
  assert.match(df[0]!, /^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$/);
  assert.match(df[1]!, /^Images\s+1\s+0\s+/);
  assert.match(b.ok(['image', 'prune', '--dry-run']), /Total reclaimable space: 0B/);
  assert.match(b.ok(['image', 'prune', '-a', '-f']), /deleted: sha256:/);
  assert.equal(b.ok(['images', '-q']).trim(), '');
});

test('berth pull/rmi/inspect errors name what was wrong', { skip }, (t) => {
  const b = cli(t);
  const missing = b.run(['pull', `${registry.domain}/cli/nope:v9`]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^Error: .*cli\/nope:v9: not found in registry /m);
  const noImage = b.run(['rmi', 'ghost']);
  assert.equal(noImage.code, 1);
  assert.match(noImage.stderr, /ghost/);
  const badRef = b.run(['pull', 'UPPER/Case']);
  assert.equal(badRef.code, 1);
  assert.match(badRef.stderr, /^Error: /);
  const usage = b.run(['pull']);
  assert.equal(usage.code, 1);
  assert.match(usage.stderr, /^berth: 'berth pull' requires 1 argument$/m);
});

test('re-pull after rmi while another image keeps the layers unpacked: save and push work', { skip }, (t) => {
  const b = cli(t);
  b.ok(['pull', '-q', name]);
  // Another image with the same layers under other blobs: save writes them uncompressed.
  const archive = join(b.root, 'copy.tar');
  b.ok(['tag', name, 'copy:1']);
  b.ok(['save', '-o', archive, 'copy:1']);
  b.ok(['rmi', 'copy:1']);
  b.ok(['load', '-i', archive]);
  b.ok(['rmi', name]);
  const blob = (d: string): string => join(b.root, 'content', 'blobs', 'sha256', d.slice(7));
  const compressed = img.layers.filter((l) => l.digest !== l.diffId);
  assert.ok(compressed.length > 0);
  for (const l of compressed) assert.ok(!existsSync(blob(l.digest)), 'the pulled blobs went with the image');
  b.ok(['pull', name]);
  for (const l of compressed) assert.ok(existsSync(blob(l.digest)), `blob ${l.digest} fetched again`);
  b.ok(['save', '-o', join(b.root, 'again.tar'), name]);
  const other = `${registry.domain}/cli/repushed:v1`;
  b.ok(['tag', name, other]);
  const pushed = b.ok(['push', other]);
  assert.equal(pushed.split('\n').filter((l) => l.includes(`digest: ${img.manifestDigest}`)).length, 1, 'the summary once');
  assert.equal(pushed.split('\n').filter((l) => l.startsWith('The push refers to')).length, 1);
});

test('push and pull list one row per layer, never the config blob (as docker)', { skip }, (t) => {
  const b = cli(t);
  const rowIds = (out: string): Set<string> => new Set(out.split('\n').flatMap((l) => /^([0-9a-f]{12}): /.exec(l)?.[1] ?? []));
  const layerIds = new Set(img.layers.map((l) => l.digest.slice(7, 19)));
  const configId = img.configDigest.slice(7, 19);
  const pulled = b.ok(['pull', name]);
  assert.deepEqual(rowIds(pulled), layerIds, pulled);
  // Without the pulled name there is nothing to mount from: every blob is uploaded.
  const other = `${registry.domain}/cli/rows:v1`;
  b.ok(['tag', name, other]);
  b.ok(['rmi', name]);
  const pushed = b.ok(['push', other]);
  assert.deepEqual(rowIds(pushed), layerIds, pushed);
  assert.equal(pushed.split('\n').filter((l) => l.endsWith(': Pushed')).length, img.layers.length, pushed);
  assert.ok(!pushed.includes(configId), pushed);
  const again = b.ok(['push', other]);
  assert.deepEqual(rowIds(again), layerIds, again);
  assert.equal(again.split('\n').filter((l) => l.endsWith(': Layer already exists')).length, img.layers.length, again);
  assert.ok(!again.includes(configId), again);
});

test('images REPO lists only that repository (and REPO:TAG that tag); --pull always does not say the image is missing', { skip }, (t) => {
  const b = cli(t);
  b.ok(['pull', '-q', name]);
  b.ok(['tag', name, 'one:a']);
  b.ok(['tag', name, 'one:b']);
  b.ok(['tag', name, 'two:a']);
  const rows = (args: string[]): string[] => b.ok(['images', '--format', '{{.Repository}}:{{.Tag}}', ...args]).trim().split('\n').sort();
  assert.deepEqual(rows(['one']), ['one:a', 'one:b']);
  assert.deepEqual(rows(['one:b']), ['one:b']);
  assert.deepEqual(rows(['two']), ['two:a']);
  assert.deepEqual(rows(['--filter', 'reference=*:a']), ['one:a', 'two:a']);
  // docker run --pull always prints the pull, never "Unable to find image ... locally"
  const always = b.run(['run', '--rm', '--pull', 'always', name, 'sh', '-c', ':']);
  assert.equal(always.code, 0, always.stderr);
  assert.doesNotMatch(always.stderr, /Unable to find image/);
  b.ok(['rmi', 'one:a', 'one:b', 'two:a', name]);
  const missing = b.run(['run', '--rm', name, 'sh', '-c', ':']);
  assert.equal(missing.code, 0, missing.stderr);
  assert.match(missing.stderr, /Unable to find image '.*cli\/busybox:v1' locally/);
});

test('rmi of one name of several untags even while a container uses the image; its last name is refused', { skip }, (t) => {
  const b = cli(t);
  b.ok(['pull', '-q', name]);
  b.ok(['tag', name, 'other:a']);
  b.ok(['create', '--name', 'user', 'other:a', 'sh']);
  assert.equal(b.ok(['rmi', 'other:a']).trim(), 'Untagged: other:a');
  const last = b.run(['rmi', name]);
  assert.equal(last.code, 1);
  assert.match(last.stderr, /used by a container/);
  b.ok(['rm', 'user']);
  b.ok(['rmi', name]);
});
