/**
 * Interop with Docker itself: a private dockerd loads Berth's `save` (the same image id and
 * layers, as `docker image inspect` shows them), and Berth loads `docker save` of an image
 * imported into that dockerd (docker's legacy layout: <v1 id>/layer.tar, json, VERSION).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { archiveSkipReason, busyboxRootfsTar, stateRoot, withImageMount } from '../helpers/archive-env';
import { makeTar } from '../helpers/images';
import { DockerDaemon, dockerSkipReason } from '../helpers/docker-daemon';
import { BerthCli, engineSkip } from '../helpers/cli';

const skip = archiveSkipReason() || dockerSkipReason();
let d: DockerDaemon | undefined;
let work: string;

interface DockerImage {
  Id: string;
  RepoTags: string[];
  RootFS: { Layers: string[] };
  Config: { Cmd: string[] | null; Env: string[] | null };
}

before(async () => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'berth-archive-docker-'));
  d = new DockerDaemon();
  try {
    await d.start();
  } catch (e) {
    await d.stop().catch(() => undefined);
    d = undefined;
    throw e;
  }
});
after(async () => {
  if (d) await d.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

test("docker load reads Berth's save: same image ids, RepoTags and diff_ids", { skip }, async () => {
  const s = stateRoot('docker-loads-berth');
  try {
    const base = (await s.svc.import({ path: busyboxRootfsTar(work, 'for-docker.tar') }, { name: 'berth/dk:base', sink: s.sink })).record;
    const extra = await makeTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/motd', content: 'made by berth\n' }]);
    const top = (await s.svc.createImage({ base, layers: [{ tar: Readable.from([extra]) }], name: 'berth/dk:top', sink: s.sink })).record;
    const file = join(work, 'berth-save.tar');
    await s.svc.save(['berth/dk'], { path: file });
    const out = d!.dockerOk(['load', '--input', file]);
    assert.match(out, /Loaded image: berth\/dk:base/);
    assert.match(out, /Loaded image: berth\/dk:top/);
    for (const rec of [base, top]) {
      const [info] = JSON.parse(d!.dockerOk(['image', 'inspect', rec.id])) as DockerImage[];
      assert.equal(info!.Id, rec.id, 'docker computes the same image id');
      assert.deepEqual(info!.RootFS.Layers, rec.layers.map((l) => l.diffId));
    }
    const [byName] = JSON.parse(d!.dockerOk(['image', 'inspect', 'berth/dk:top'])) as DockerImage[];
    assert.equal(byName!.Id, top.id);
    assert.deepEqual(byName!.RepoTags, ['berth/dk:top']);
  } finally {
    s.cleanup();
  }
});

test("Berth loads docker save of an image imported into dockerd: same id and layers, runnable", { skip }, async () => {
  const s = stateRoot('berth-loads-docker');
  try {
    const tar = busyboxRootfsTar(work, 'docker-import.tar');
    d!.dockerOk(['import', '--change', 'CMD ["/bin/sh"]', '--message', 'into docker', tar, 'dk/imported:1']);
    d!.dockerOk(['tag', 'dk/imported:1', 'dk/imported:also']);
    const [info] = JSON.parse(d!.dockerOk(['image', 'inspect', 'dk/imported:1'])) as DockerImage[];
    const file = join(work, 'docker-save.tar');
    d!.dockerOk(['save', '--output', file, 'dk/imported']);
    const loaded = await s.svc.load({ path: file }, { sink: s.sink });
    assert.equal(loaded.length, 1);
    assert.equal(loaded[0]!.id, info!.Id);
    assert.deepEqual(loaded[0]!.names.sort(), ['docker.io/dk/imported:1', 'docker.io/dk/imported:also']);
    const inspect = await s.svc.inspect('dk/imported:also');
    assert.deepEqual(inspect.record.layers.map((l) => l.diffId), info!.RootFS.Layers);
    assert.deepEqual(inspect.config.config?.Cmd, ['/bin/sh']);
    await withImageMount(s, inspect.record.layers[0]!.chainId, 'from-docker', (mp) => {
      assert.ok(readFileSync(join(mp, 'bin/busybox')).equals(readFileSync('/bin/busybox')));
    });
    // docker save of a single image by id: RepoTags null, loaded by id alone.
    const byId = join(work, 'docker-save-id.tar');
    d!.dockerOk(['save', '--output', byId, info!.Id]);
    const other = stateRoot('berth-loads-docker-id');
    try {
      const [l] = await other.svc.load({ path: byId });
      assert.equal(l!.id, info!.Id);
      assert.deepEqual((await other.svc.list())[0]!.repoTags, []);
    } finally {
      other.cleanup();
    }
  } finally {
    s.cleanup();
  }
});

test('an image made by docker import (config {}, "Env": null) loads into Berth and runs', { skip: skip || engineSkip() }, (t) => {
  const tar = busyboxRootfsTar(work, 'docker-import-plain.tar');
  d!.dockerOk(['import', tar, 'dk/plain:1']);
  const [info] = JSON.parse(d!.dockerOk(['image', 'inspect', 'dk/plain:1'])) as DockerImage[];
  assert.equal(info!.Config.Env, null, 'docker writes a nil Env');
  const file = join(work, 'docker-save-plain.tar');
  d!.dockerOk(['save', '--output', file, 'dk/plain:1']);
  const b = new BerthCli(t.name);
  t.after(() => b.cleanup());
  assert.equal(b.ok(['load', '-i', file]).trim(), 'Loaded image: dk/plain:1');
  assert.equal(b.ok(['run', '--rm', 'dk/plain:1', '/bin/sh', '-c', 'echo ran']), 'ran\n');
});
