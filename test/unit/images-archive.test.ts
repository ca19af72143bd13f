/**
 * Archive formats without a state root: transport names, archive paths, the tar index
 * (ustar, PAX and GNU long names, links resolved inside the archive, hostile entries), the
 * docker-archive and OCI layout writers read back by Berth's readers (and checked against
 * the OCI image-spec schemas when ../shared/reference is present), hostile manifest.json.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tar from 'tar-stream';
import { BerthError } from '../../src/core/errors';
import { digestOf } from '../../src/content/digest';
import { parseImageLocation, formatImageLocation } from '../../src/images/archive/transport';
import { archivePath, resolveLinkTarget } from '../../src/images/archive/paths';
import { TarIndex } from '../../src/images/archive/tar-index';
import { TarFiles } from '../../src/images/archive/files';
import { readDockerArchive } from '../../src/images/archive/docker-archive-read';
import { writeDockerArchive } from '../../src/images/archive/docker-archive-write';
import { readOciLayout, CONTAINERD_NAME_ANNOTATION, REF_NAME_ANNOTATION } from '../../src/images/archive/oci-layout-read';
import { writeOciArchive } from '../../src/images/archive/oci-layout-write';
import { openArchive } from '../../src/images/archive/open';
import { openVerified } from '../../src/images/archive/source';
import { makeTar } from '../helpers/images';
import { craftDockerArchive, memoryImage, readTarFile, simpleDockerArchive } from '../helpers/archives';
import { imageSchemaDir, schemaErrors } from '../helpers/json-schema';

const code = (c: string, re?: RegExp) => (e: unknown) => e instanceof BerthError && e.code === c && (!re || re.test(e.message));

function tmp(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-archive-unit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function put(dir: string, name: string, data: Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
}

async function drain(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

test('image locations parse as skopeo names them', () => {
  assert.deepEqual(parseImageLocation('docker://localhost:5000/a/b:1'), { transport: 'docker', reference: 'localhost:5000/a/b:1' });
  assert.deepEqual(parseImageLocation('oci:/tmp/l'), { transport: 'oci', path: '/tmp/l' });
  assert.deepEqual(parseImageLocation('oci:/tmp/l:v1'), { transport: 'oci', path: '/tmp/l', ref: 'v1' });
  assert.deepEqual(parseImageLocation('oci-archive:x.tar:localhost:5000/a:b'), { transport: 'oci-archive', path: 'x.tar', ref: 'localhost:5000/a:b' });
  assert.deepEqual(parseImageLocation('docker-archive:/x.tar:@1'), { transport: 'docker-archive', path: '/x.tar', ref: '@1' });
  assert.deepEqual(parseImageLocation('berth:busybox'), { transport: 'berth', name: 'busybox' });
  assert.equal(formatImageLocation(parseImageLocation('oci-archive:x.tar:v1')), 'oci-archive:x.tar:v1');
  for (const bad of ['busybox', 'docker:busybox', 'docker://', 'oci:', 'oci:/x:', 'berth:', 'dir:/x']) {
    assert.throws(() => parseImageLocation(bad), code('EINVALID_ARGUMENT', /invalid image location/), bad);
  }
});

test('archive paths: absolute and .. are refused, symlink targets stay inside', () => {
  assert.equal(archivePath('./a//b/./c', 'x'), 'a/b/c');
  assert.throws(() => archivePath('../etc/passwd', 'x'), code('EUNSAFE_ARCHIVE', /"\.\.\/etc\/passwd".*"\.\." component/));
  assert.throws(() => archivePath('a/../../b', 'x'), code('EUNSAFE_ARCHIVE'));
  assert.throws(() => archivePath('/etc/passwd', 'x'), code('EUNSAFE_ARCHIVE', /absolute/));
  assert.throws(() => archivePath('', 'x'), code('EUNSAFE_ARCHIVE', /empty/));
  assert.equal(resolveLinkTarget('abc/layer.tar', '../def.tar', 'x'), 'def.tar');
  assert.equal(resolveLinkTarget('a/b/l', './c', 'x'), 'a/b/c');
  assert.throws(() => resolveLinkTarget('abc/layer.tar', '../../etc/shadow', 'x'), code('EUNSAFE_ARCHIVE', /outside the archive/));
  assert.throws(() => resolveLinkTarget('layer.tar', '/etc/shadow', 'x'), code('EUNSAFE_ARCHIVE', /outside the archive/));
});

test('tar index: ustar/PAX long names, symlinks and hard links resolved inside the archive', async (t) => {
  const dir = tmp(t);
  const long = `${'d'.repeat(120)}/${'f'.repeat(110)}`;
  const pack = tar.pack();
  pack.entry({ name: './' , type: 'directory' });
  pack.entry({ name: 'a.tar' }, 'content of a');
  pack.entry({ name: long }, 'long');
  pack.entry({ name: 'x/layer.tar', type: 'symlink', linkname: '../a.tar' });
  pack.entry({ name: 'hard', type: 'link', linkname: 'a.tar' });
  pack.entry({ name: 'dirlink', type: 'symlink', linkname: 'x' });
  pack.entry({ name: 'loop1', type: 'symlink', linkname: 'loop2' });
  pack.entry({ name: 'loop2', type: 'symlink', linkname: 'loop1' });
  pack.entry({ name: 'escape', type: 'symlink', linkname: '../../etc/passwd' });
  pack.entry({ name: 'absolute', type: 'symlink', linkname: '/etc/passwd' });
  pack.finalize();
  const index = await TarIndex.open(put(dir, 't.tar', await drain(pack)), 'test archive');
  t.after(() => index.close());
  assert.equal((await index.read('a.tar', 100)).toString(), 'content of a');
  assert.equal((await index.read(long, 100)).toString(), 'long');
  assert.equal((await drain(index.openRead('x/layer.tar'))).toString(), 'content of a');
  assert.equal((await index.read('hard', 100)).toString(), 'content of a');
  assert.equal((await index.read('dirlink/layer.tar', 100)).toString(), 'content of a');
  assert.equal(index.find('missing'), undefined);
  assert.throws(() => index.get('loop1'), code('EUNSAFE_ARCHIVE', /too many links/));
  assert.throws(() => index.get('escape'), code('EUNSAFE_ARCHIVE', /outside the archive/));
  assert.throws(() => index.get('absolute'), code('EUNSAFE_ARCHIVE', /outside the archive/));
  await assert.rejects(index.read('a.tar', 3), code('ELIMIT', /over the 3-byte limit/));
});

test('tar index reads GNU tar archives (long names as L entries)', { skip: spawnSync('tar', ['--version']).status === 0 ? false : 'GNU tar not installed' }, async (t) => {
  const dir = tmp(t);
  const src = join(dir, 'src');
  const deep = join(src, 'p'.repeat(90), 'q'.repeat(90));
  mkdirSync(deep, { recursive: true });
  writeFileSync(join(deep, 'file.txt'), 'gnu');
  const r = spawnSync('tar', ['--format=gnu', '-C', src, '-cf', join(dir, 'g.tar'), '.']);
  assert.equal(r.status, 0, r.stderr.toString());
  const index = await TarIndex.open(join(dir, 'g.tar'), 'gnu archive');
  t.after(() => index.close());
  assert.equal((await index.read(`${'p'.repeat(90)}/${'q'.repeat(90)}/file.txt`, 10)).toString(), 'gnu');
});

test('tar index refuses entries with .. or absolute names, garbage and truncated archives', async (t) => {
  const dir = tmp(t);
  const withName = async (name: string): Promise<string> => {
    const pack = tar.pack();
    pack.entry({ name }, 'x');
    pack.finalize();
    return put(dir, `n${Math.random()}.tar`, await drain(pack));
  };
  await assert.rejects(TarIndex.open(await withName('../evil'), 'a'), code('EUNSAFE_ARCHIVE', /"\.\.\/evil"/));
  await assert.rejects(TarIndex.open(await withName('/etc/evil'), 'a'), code('EUNSAFE_ARCHIVE', /absolute/));
  await assert.rejects(TarIndex.open(put(dir, 'garbage.tar', Buffer.alloc(2048, 7)), 'garbage'), code('EBAD_ARCHIVE', /header checksum/));
  const good = await makeTar([{ name: 'big', content: Buffer.alloc(5000, 1) }]);
  await assert.rejects(TarIndex.open(put(dir, 'cut.tar', good.subarray(0, 1536)), 'cut'), code('EBAD_ARCHIVE', /truncated/));
  await assert.rejects(TarIndex.open(put(dir, 'empty.tar', Buffer.alloc(1024)), 'empty'), code('EBAD_ARCHIVE', /empty tar/));
});

test('docker-archive writer: manifest.json, repositories, configs and uncompressed layers; read back', async (t) => {
  const dir = tmp(t);
  const a = await memoryImage([[{ name: 'bin/', type: 'directory' }, { name: 'bin/x', content: 'x' }], [{ name: 'etc/y', content: 'y' }]], { gzip: true });
  const b = await memoryImage([[{ name: 'bin/', type: 'directory' }, { name: 'bin/x', content: 'x' }], [{ name: 'etc/z', content: 'z' }]], { created: '2024-06-01T00:00:00Z' });
  const source = { what: 'memory', images: [a.image, b.image], openBlob: async (d: { digest: string }) => (a.blobs.has(d.digest) ? a : b).source.openBlob({ digest: d.digest, size: 0, mediaType: '' }), close: async () => undefined };
  const file = join(dir, 'save.tar');
  await writeDockerArchive({ path: file }, source, [
    { image: a.image, names: ['docker.io/library/busybox:latest', 'localhost:5000/x/y:2'] },
    { image: b.image, names: [] },
  ], { tmpRoot: join(dir, 'tmp') });
  const entries = await readTarFile(file);
  const manifest = JSON.parse(entries.get('manifest.json')!.content.toString()) as { Config: string; RepoTags: string[] | null; Layers: string[] }[];
  assert.equal(manifest.length, 2);
  assert.deepEqual(manifest[0]!.RepoTags, ['busybox:latest', 'localhost:5000/x/y:2']);
  assert.equal(manifest[1]!.RepoTags, null, 'saved by id: no RepoTags');
  assert.equal(manifest[0]!.Config, `${a.image.config.descriptor.digest.slice(7)}.json`);
  assert.equal(manifest[0]!.Layers[0], manifest[1]!.Layers[0], 'the shared bottom layer is written once');
  assert.deepEqual(entries.get(manifest[0]!.Layers[1]!)!.content, a.tars[1], 'layers are stored uncompressed');
  assert.deepEqual(JSON.parse(entries.get('repositories')!.content.toString()), {
    busybox: { latest: manifest[0]!.Layers[1]!.split('/')[0] },
    'localhost:5000/x/y': { '2': manifest[0]!.Layers[1]!.split('/')[0] },
  });
  const v1 = JSON.parse(entries.get(manifest[0]!.Layers[1]!.replace('layer.tar', 'json'))!.content.toString()) as { id: string; parent: string };
  assert.equal(v1.parent, manifest[0]!.Layers[0]!.split('/')[0]);
  // Berth reads it back: same image ids, diff_ids, names; blob digests of the uncompressed layers.
  const read = await readDockerArchive(await TarFiles.open(file, 'saved archive'));
  t.after(() => read.close());
  assert.deepEqual(read.images.map((i) => i.config.descriptor.digest), [a.image.config.descriptor.digest, b.image.config.descriptor.digest]);
  assert.deepEqual(read.images[0]!.names, ['docker.io/library/busybox:latest', 'localhost:5000/x/y:2']);
  assert.deepEqual(read.images[0]!.layers.map((l) => l.descriptor.digest), a.tars.map((x) => digestOf(x)));
  assert.deepEqual(await drain(await openVerified(read, read.images[0]!.layers[1]!.descriptor)), a.tars[1]);
  const one = await readDockerArchive(await TarFiles.open(file, 'saved archive'), { ref: 'localhost:5000/x/y:2' });
  assert.equal(one.images.length, 1);
  await one.close();
  await assert.rejects(readDockerArchive(await TarFiles.open(file, 'saved archive'), { ref: '@5' }), code('ENOT_FOUND', /no image @5/));
});

test('OCI archive writer: layout, index annotations, blobs as they are; schemas; read back', async (t) => {
  const dir = tmp(t);
  const a = await memoryImage([[{ name: 'f', content: 'f' }]], { gzip: true });
  const file = join(dir, 'oci.tar');
  await writeOciArchive({ path: file }, a.source, [{ image: a.image, annotations: { [CONTAINERD_NAME_ANNOTATION]: 'docker.io/library/busybox:1', [REF_NAME_ANNOTATION]: '1' } }]);
  const entries = await readTarFile(file);
  const index = JSON.parse(entries.get('index.json')!.content.toString()) as { manifests: { digest: string; annotations: Record<string, string> }[] };
  assert.equal(index.manifests[0]!.digest, a.image.manifest.descriptor.digest);
  for (const [digest, bytes] of a.blobs) assert.deepEqual(entries.get(`blobs/sha256/${digest.slice(7)}`)?.content, bytes, `blob ${digest} kept byte for byte`);
  if (imageSchemaDir()) {
    assert.deepEqual(schemaErrors(index, 'image-index-schema.json'), []);
    assert.deepEqual(schemaErrors(JSON.parse(entries.get('oci-layout')!.content.toString()), 'image-layout-schema.json'), []);
    assert.deepEqual(schemaErrors(JSON.parse(a.image.manifest.bytes.toString()), 'image-manifest-schema.json'), []);
  } else t.diagnostic('OCI image-spec schemas not found (../shared/reference absent): schema checks skipped');
  const read = await readOciLayout(await TarFiles.open(file, 'oci archive'), { ref: '1' });
  t.after(() => read.close());
  assert.deepEqual(read.images[0]!.names, ['docker.io/library/busybox:1']);
  assert.equal(read.images[0]!.manifest.descriptor.digest, a.image.manifest.descriptor.digest);
  await assert.rejects(readOciLayout(await TarFiles.open(file, 'oci archive'), { ref: 'nope' }), code('ENOT_FOUND', /no image named "nope".*/));
});

test('docker-archive schema check: the made-up manifest conforms to the OCI schema', { skip: imageSchemaDir() ? false : 'OCI image-spec schemas not found (../shared/reference absent)' }, async (t) => {
  const dir = tmp(t);
  const { archive } = await simpleDockerArchive([[{ name: 'a', content: 'a' }]]);
  const read = await readDockerArchive(await TarFiles.open(put(dir, 'a.tar', archive), 'a'));
  t.after(() => read.close());
  assert.deepEqual(schemaErrors(JSON.parse(read.images[0]!.manifest.bytes.toString()), 'image-manifest-schema.json'), []);
});

test('hostile manifest.json: traversal, absolute paths, escaping symlinks, oversize, bad shape', async (t) => {
  const dir = tmp(t);
  const { archive: good } = await simpleDockerArchive([[{ name: 'a', content: 'a' }]]);
  const open = async (name: string, data: Buffer) => openArchive(await TarFiles.open(put(dir, name, data), name));
  await (await open('good.tar', good)).close();
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digestOf('x')] } }));
  const cases: [string, unknown, { name: string; content?: string | Buffer; type?: 'symlink'; linkname?: string }[], string, RegExp][] = [
    ['traversal', [{ Config: 'c.json', Layers: ['../../etc/passwd'] }], [{ name: 'c.json', content: config }], 'EUNSAFE_ARCHIVE', /"\.\.\/\.\.\/etc\/passwd"/],
    ['absolute', [{ Config: '/etc/passwd', Layers: [] }], [], 'EUNSAFE_ARCHIVE', /"\/etc\/passwd".*absolute/],
    ['symlinked layer', [{ Config: 'c.json', Layers: ['l/layer.tar'] }], [{ name: 'c.json', content: config }, { name: 'l/layer.tar', type: 'symlink', linkname: '/etc/shadow' }], 'EUNSAFE_ARCHIVE', /outside the archive/],
    ['symlinked config', [{ Config: 'c.json', Layers: [] }], [{ name: 'c.json', type: 'symlink', linkname: '../../../../etc/passwd' }], 'EUNSAFE_ARCHIVE', /outside the archive/],
    ['bad shape', [{ Config: 5 }], [], 'EBAD_ARCHIVE', /manifest.json is malformed/],
    ['not json', '{', [], 'EBAD_ARCHIVE', /not valid JSON/],
    ['layer count', [{ Config: 'c.json', Layers: [] }], [{ name: 'c.json', content: config }], 'EBAD_ARCHIVE', /lists 0 layers but the config lists 1/],
    ['bad tag', [{ Config: 'c.json', RepoTags: ['UPPER:case'], Layers: ['x'] }], [{ name: 'c.json', content: config }, { name: 'x', content: 'x' }], 'EBAD_ARCHIVE', /"UPPER:case"/],
  ];
  for (const [label, manifest, files, c, re] of cases) {
    await assert.rejects(open(`${label}.tar`, await craftDockerArchive(manifest, files)), code(c, re), label);
  }
  const huge = Buffer.alloc(9 * 1024 * 1024, 0x20);
  huge.write('[]');
  await assert.rejects(open('huge.tar', await craftDockerArchive(huge.toString(), [])), code('ELIMIT', /manifest.json is \d+ bytes, over/));
  await assert.rejects(open('neither.tar', await makeTar([{ name: 'x', content: 'x' }])), code('EBAD_ARCHIVE', /neither a docker-archive/));
  await assert.rejects(open('legacy.tar', await makeTar([{ name: 'repositories', content: '{}' }])), code('EUNSUPPORTED', /legacy/));
});

test('a layer whose content does not match the config diff_id fails its verified stream', async (t) => {
  const dir = tmp(t);
  const { archive } = await simpleDockerArchive([[{ name: 'a', content: 'a' }]]);
  // Same archive, layer replaced by other content of another length.
  const entries = await readTarFile(archive);
  const files = [...entries].filter(([n]) => n !== 'manifest.json' && n !== '0/layer.tar').map(([name, e]) => ({ name, content: e.content }));
  const other = await makeTar([{ name: 'b', content: 'something else' }]);
  const forged = await craftDockerArchive(JSON.parse(entries.get('manifest.json')!.content.toString()), [...files, { name: '0/layer.tar', content: other }]);
  const src = await openArchive(await TarFiles.open(put(dir, 'forged.tar', forged), 'forged'));
  t.after(() => src.close());
  await assert.rejects(drain(await openVerified(src, src.images[0]!.layers[0]!.descriptor)), code('EDIGEST', /does not match its digest/));
});

test('a docker save of Docker 25+ (OCI layout plus manifest.json): OCI manifests kept, RepoTags added as names', async (t) => {
  const dir = tmp(t);
  const a = await memoryImage([[{ name: 'f', content: 'f' }]]);
  const layoutTar = join(dir, 'layout.tar');
  await writeOciArchive({ path: layoutTar }, a.source, [{ image: a.image, annotations: { [CONTAINERD_NAME_ANNOTATION]: 'docker.io/library/app:1', [REF_NAME_ANNOTATION]: '1' } }]);
  const entries = await readTarFile(layoutTar);
  const manifestJson = [{ Config: `blobs/sha256/${a.image.config.descriptor.digest.slice(7)}`, RepoTags: ['app:1', 'app:also'], Layers: a.image.layers.map((l) => `blobs/sha256/${l.descriptor.digest.slice(7)}`) }];
  const combined = await makeTar([
    ...[...entries].filter(([, e]) => e.type === 'file').map(([name, e]) => ({ name, content: e.content })),
    { name: 'manifest.json', content: JSON.stringify(manifestJson) },
  ]);
  const src = await openArchive(await TarFiles.open(put(dir, 'docker25.tar', combined), 'docker 25 save'));
  t.after(() => src.close());
  assert.equal(src.images.length, 1);
  assert.equal(src.images[0]!.synthesized, false, 'the OCI manifest is used, not a made-up one');
  assert.equal(src.images[0]!.manifest.descriptor.digest, a.image.manifest.descriptor.digest);
  assert.deepEqual(src.images[0]!.names.sort(), ['docker.io/library/app:1', 'docker.io/library/app:also']);
  // @N selects through manifest.json, as docker-archive:FILE:@N does.
  const byIndex = await openArchive(await TarFiles.open(join(dir, 'docker25.tar'), 'docker 25 save'), { ref: '@0' });
  assert.equal(byIndex.images[0]!.synthesized, true);
  await byIndex.close();
});
