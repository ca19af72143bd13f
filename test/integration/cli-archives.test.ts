/** import / save / load / image copy through the CLI, and their errors. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { BerthCli, engineSkip } from '../helpers/cli';
import { makeBusyboxRootfs } from '../helpers/rootfs';
import { craftDockerArchive } from '../helpers/archives';
import { digestOf } from '../../src/content/digest';

const skip = engineSkip();
let work: string;
let rootfsTar: string;
const clis: BerthCli[] = [];
function cli(t: { name: string }): BerthCli {
  const c = new BerthCli(t.name);
  clis.push(c);
  return c;
}

before(() => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'berth-cli-archives-'));
  makeBusyboxRootfs(join(work, 'rootfs'));
  rootfsTar = join(work, 'rootfs.tar');
  execFileSync('tar', ['-C', join(work, 'rootfs'), '-cf', rootfsTar, '.']);
});
after(() => {
  clis.forEach((c) => c.cleanup());
  if (work) rmSync(work, { recursive: true, force: true });
});

test('import a rootfs tarball (file and stdin) with --change and -m', { skip }, (t) => {
  const b = cli(t);
  const id = b.ok(['import', '-c', 'CMD ["sh", "-c", "echo hi"]', '-c', 'ENV A=1', '-c', 'WORKDIR /tmp', '-m', 'from a tarball', rootfsTar, 'bb:imported']).trim();
  assert.match(id, /^sha256:[0-9a-f]{64}$/);
  const [doc] = JSON.parse(b.ok(['image', 'inspect', 'bb:imported'])) as Array<{ Id: string; Config: { Cmd: string[]; Env: string[]; WorkingDir: string }; Comment: string }>;
  assert.equal(doc!.Id, id);
  assert.deepEqual(doc!.Config.Cmd, ['sh', '-c', 'echo hi']);
  assert.ok(doc!.Config.Env.includes('A=1'));
  assert.equal(doc!.Config.WorkingDir, '/tmp');
  assert.equal(doc!.Comment, 'from a tarball');
  const fromStdin = b.ok(['import', '-', 'bb:stdin'], { input: readFileSync(rootfsTar) }).trim();
  assert.match(fromStdin, /^sha256:/);
  assert.match(b.ok(['images', '--format', '{{.Repository}}:{{.Tag}}']), /bb:stdin/);
});

test('save -o and load -i round trip; save to stdout; image copy to an OCI layout and back', { skip }, (t) => {
  const a = cli(t);
  const id = a.ok(['import', rootfsTar, 'bb:v1']).trim();
  const archive = join(work, `saved-${Date.now()}.tar`);
  a.ok(['save', '-o', archive, 'bb:v1']);
  assert.ok(existsSync(archive));
  const b = cli(t);
  assert.equal(b.ok(['load', '-i', archive]).trim(), 'Loaded image: bb:v1');
  assert.equal(b.ok(['image', 'inspect', '-f', '{{.Id}}', 'bb:v1']).trim(), id);
  const layout = join(work, `layout-${Date.now()}`);
  a.ok(['image', 'copy', 'berth:bb:v1', `oci:${layout}:v1`]);
  const c = cli(t);
  c.ok(['image', 'copy', `oci:${layout}:v1`, 'berth:bb:copied']);
  assert.equal(c.ok(['image', 'inspect', '-f', '{{.Id}}', 'bb:copied']).trim(), id);
});

test('archive errors: missing file, garbage archive, bad --change, unknown transport', { skip }, (t) => {
  const b = cli(t);
  const missing = b.run(['import', join(work, 'nope.tar')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /nope\.tar/);
  const junk = join(work, 'junk.tar');
  writeFileSync(junk, 'this is not a tar archive at all'.repeat(40));
  const bad = b.run(['load', '-i', junk]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^Error: /);
  assert.equal(b.ok(['images', '-q']).trim(), '', 'a failed load records nothing');
  const change = b.run(['import', '-c', 'RUN rm -rf /', rootfsTar]);
  assert.equal(change.code, 1);
  assert.match(change.stderr, /RUN/);
  const transport = b.run(['image', 'copy', 'ftp://x', 'berth:y']);
  assert.equal(transport.code, 1);
  assert.match(transport.stderr, /ftp/);
});

test('load of a docker-archive whose config is all nulls (as docker import writes), then run and inspect it', { skip }, async (t) => {
  const b = cli(t);
  const layer = readFileSync(rootfsTar);
  const diffId = digestOf(layer);
  // What Go's encoder writes for an image without settings: nil slices and maps as null.
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: '2024-05-01T10:00:00Z',
      author: null,
      comment: 'Imported from -',
      container_config: null,
      config: { User: null, ExposedPorts: null, Env: null, Entrypoint: null, Cmd: null, Volumes: null, WorkingDir: null, Labels: null, StopSignal: null, Healthcheck: null, OnBuild: null, Shell: null, ArgsEscaped: null },
      rootfs: { type: 'layers', diff_ids: [diffId] },
      history: null,
    }),
  );
  const configName = `${digestOf(config).slice(7)}.json`;
  const archive = await craftDockerArchive([{ Config: configName, RepoTags: ['nulls:1'], Layers: ['0/layer.tar'] }], [
    { name: configName, content: config },
    { name: '0/layer.tar', content: layer },
  ]);
  const file = join(work, 'nulls.tar');
  writeFileSync(file, archive);
  assert.equal(b.ok(['load', '-i', file]).trim(), 'Loaded image: nulls:1');
  assert.equal(b.ok(['run', '--rm', '-e', 'A=1', 'nulls:1', 'sh', '-c', 'echo "$A $PWD"']), '1 /\n');
  const [doc] = JSON.parse(b.ok(['image', 'inspect', 'nulls:1'])) as Array<{ Config: { Env: unknown; Cmd: unknown } }>;
  assert.equal(doc!.Config.Env, null);
  assert.equal(doc!.Config.Cmd, null);
  assert.match(b.ok(['history', 'nulls:1']), /IMAGE/);
  // a new image on top of it (commit's and import --change's path) and its archive
  b.ok(['create', '--name', 'on-nulls', 'nulls:1', 'true']);
  b.ok(['commit', '-c', 'ENV B=2', 'on-nulls', 'nulls:2']);
  assert.equal(b.ok(['run', '--rm', 'nulls:2', 'sh', '-c', 'echo $B']), '2\n');
  b.ok(['rm', 'on-nulls']);
  b.ok(['save', '-o', join(work, 'nulls-saved.tar'), 'nulls:1']);
});
