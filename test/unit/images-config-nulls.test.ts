/**
 * Image configs written by Go programs carry nil slices and maps as null (`docker import`
 * writes `"Env": null`, old builders `"Cmd": null` and `"config": {}`). Every field of an image
 * config, null or absent, must parse and then run through the merge with a container's
 * options (issue 9 item 5: `TypeError: base is not iterable` from `"Env": null`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseImageConfig } from '../../src/images/config';
import { mergeImageConfig, type ImageRunConfig } from '../../src/engine/spec/image-merge';
import { applyChangeStrings } from '../../src/images/config-changes';

const diffId = 'sha256:' + 'a'.repeat(64);

/** A config with every field docker writes set to a real value. */
function full(): Record<string, unknown> {
  return {
    created: '2024-05-01T10:00:00Z',
    author: 'someone',
    architecture: 'amd64',
    os: 'linux',
    variant: 'v1',
    'os.version': '1',
    'os.features': ['x'],
    container: 'abc',
    docker_version: '28.0.0',
    comment: 'imported',
    container_config: { Cmd: ['sh'] },
    config: {
      Hostname: '',
      Domainname: '',
      User: 'daemon',
      AttachStdin: false,
      ExposedPorts: { '80/tcp': {} },
      Tty: false,
      Env: ['PATH=/bin', 'A=1'],
      Cmd: ['sh'],
      Entrypoint: ['/bin/env'],
      Image: '',
      Volumes: { '/data': {} },
      WorkingDir: '/srv',
      Labels: { a: 'b' },
      StopSignal: 'SIGINT',
      ArgsEscaped: true,
      Healthcheck: { Test: ['CMD', 'true'], Interval: 1e9, Timeout: 1e9, StartPeriod: 1e9, StartInterval: 1e9, Retries: 3 },
      OnBuild: ['RUN true'],
      Shell: ['/bin/sh', '-c'],
    },
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created: '2024-05-01T10:00:00Z', created_by: 'x', author: 'y', comment: 'z', empty_layer: false }],
  };
}

const parse = (doc: unknown): ReturnType<typeof parseImageConfig> => parseImageConfig(Buffer.from(JSON.stringify(doc)), 'the test image');

/** Every field path of the document that may be null: objects' members at any depth. */
function paths(v: unknown, prefix: string[] = []): string[][] {
  if (v === null || typeof v !== 'object') return [];
  const out: string[][] = [];
  if (Array.isArray(v)) {
    v.forEach((x, i) => {
      if (x !== null && typeof x === 'object') out.push(...paths(x, [...prefix, String(i)]));
    });
    return out;
  }
  for (const [k, x] of Object.entries(v)) {
    out.push([...prefix, k], ...paths(x, [...prefix, k]));
  }
  return out;
}

/** Required: a config without them is not an image config (the spec's REQUIRED fields). */
const REQUIRED = new Set(['architecture', 'os', 'rootfs', 'rootfs.type']);

function setAt(doc: Record<string, unknown>, path: string[], value: unknown): void {
  let o = doc as Record<string, unknown>;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string, unknown>;
  if (value === undefined) delete o[path[path.length - 1]!];
  else o[path[path.length - 1]!] = value;
}

function runThrough(doc: Record<string, unknown>): void {
  const cfg = parse(doc);
  const run = (cfg.config ?? undefined) as ImageRunConfig | undefined;
  const merged = mergeImageConfig(run, { Env: ['B=2'], Labels: { c: 'd' }, Volumes: { '/v': {} }, ExposedPorts: { '53/udp': {} } });
  assert.ok(Array.isArray(merged.Env));
  assert.ok(merged.Env.includes('B=2'));
  // what commit/import --change build on top of it
  applyChangeStrings(cfg.config, ['ENV C=3', 'LABEL e=f', 'EXPOSE 8080', 'VOLUME /w', 'ONBUILD RUN true', 'WORKDIR x']);
  for (const h of cfg.history ?? []) for (const v of Object.values(h)) assert.notEqual(v, null);
}

test('every field of an image config may be null or absent, and a container can be made from it', () => {
  const all = paths(full());
  assert.ok(all.length > 40, 'the fixture covers the fields');
  for (const p of all) {
    const name = p.join('.');
    if (REQUIRED.has(name)) continue;
    for (const value of [null, undefined]) {
      const doc = full();
      setAt(doc, p, value);
      assert.doesNotThrow(() => runThrough(doc), `${name} = ${String(value)}`);
    }
  }
});

test('docker import output: config {} or null, Env null, history and diff_ids null', () => {
  const imported = { architecture: 'amd64', os: 'linux', created: '2024-05-01T10:00:00Z', comment: 'Imported from -', config: { Env: null, Cmd: null, Labels: null, Volumes: null, Entrypoint: null, OnBuild: null }, container_config: null, rootfs: { type: 'layers', diff_ids: [diffId] }, history: null };
  const cfg = parse(imported);
  assert.deepEqual(cfg.config, {});
  assert.equal(cfg.history, undefined);
  const merged = mergeImageConfig(cfg.config, { Cmd: ['sh'] });
  assert.deepEqual(merged.Env, []);
  assert.deepEqual(merged.Cmd, ['sh']);
  assert.deepEqual(parse({ ...imported, config: null }).config, undefined);
  assert.deepEqual(parse({ ...imported, config: {} }).config, {});
  assert.deepEqual(parse({ ...imported, rootfs: { type: 'layers', diff_ids: null } }).rootfs.diff_ids, []);
});

test('the merge itself takes nulls in every field of the image side', () => {
  const img: ImageRunConfig = { User: null, ExposedPorts: null, Env: null, Entrypoint: null, Cmd: null, Volumes: null, WorkingDir: null, Labels: null, StopSignal: null, Healthcheck: null, Shell: null };
  const merged = mergeImageConfig(img, { Cmd: ['true'] });
  assert.deepEqual(merged, { Cmd: ['true'], Env: [] });
  const health = mergeImageConfig({ Healthcheck: { Test: null as unknown as string[], Interval: 5 } }, { Healthcheck: { Retries: 2 } });
  assert.deepEqual(health.Healthcheck, { Interval: 5, Retries: 2 });
});

test('null elements inside arrays are still malformed and named', () => {
  assert.throws(() => parse({ ...full(), config: { Env: ['A=1', null] } }), /config\.Env\.1/);
  assert.throws(() => parse({ ...full(), architecture: null }), /architecture/);
});
