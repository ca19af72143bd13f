/**
 * Conformance: the commands around the lifecycle: ps, list, pause/resume, update, events,
 * features and spec, against the runtime named by BERTH_TEST_RUNTIME.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { session, skipReason, cgroupHostPaths, type RuntimeSession } from '../helpers/runtime';
import { readyThenSleep, type Bundle } from '../helpers/bundle';
import type { RuntimeConfig } from '../../src/spec/types';

const skip = skipReason({ checker: true });

async function runningContainer(s: RuntimeSession, label: string, mutate?: (cfg: RuntimeConfig) => void): Promise<{ id: string; bundle: Bundle; pid: number }> {
  const { id, bundle } = s.bundle(label, (cfg) => {
    cfg.process!.args = readyThenSleep();
    mutate?.(cfg);
  });
  await s.createAndStart(id, bundle);
  await bundle.waitForOut('ready');
  return { id, bundle, pid: s.stateOk(id).pid! };
}

function readCgroupFile(bundle: Bundle, controller: string, file: string): string {
  return readFileSync(join(cgroupHostPaths(bundle.cgroupsPath)[controller]!, file), 'utf8').trim();
}

test('ps --format json lists the container\'s host pids', { skip }, async (t) => {
  const s = session(t);
  const { id, pid } = await runningContainer(s, 'ps');
  const r = s.rt(['ps', '--format', 'json', id]);
  assert.equal(r.code, 0, r.stderr);
  const pids = JSON.parse(r.stdout) as unknown;
  assert.ok(Array.isArray(pids) && pids.every((p) => Number.isInteger(p)), `an array of pids: ${r.stdout}`);
  assert.ok((pids as number[]).includes(pid), `includes init ${pid}`);
});

test('ps (table) prints a header and the init process', { skip }, async (t) => {
  const s = session(t);
  const { id, pid } = await runningContainer(s, 'ps-table');
  const r = s.rt(['ps', id]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout.split('\n')[0]!, /PID/);
  assert.match(r.stdout, new RegExp(`\\b${pid}\\b`));
});

test('list --format json describes every container; list prints a table', { skip }, async (t) => {
  const s = session(t);
  assert.deepEqual(s.listIds(), [], 'a fresh root lists nothing');
  const a = await runningContainer(s, 'list-a');
  const b = s.bundle('list-b');
  assert.equal(s.createContainer(b.id, b.bundle.dir).code, 0);
  const r = s.rt(['list', '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const list = JSON.parse(r.stdout) as Array<{ id: string; pid: number; status: string; bundle: string }>;
  const byId = new Map(list.map((c) => [c.id, c]));
  assert.equal(byId.get(a.id)?.status, 'running');
  assert.equal(byId.get(a.id)?.pid, a.pid);
  assert.equal(byId.get(a.id)?.bundle, a.bundle.dir);
  assert.equal(byId.get(b.id)?.status, 'created');
  const table = s.rt(['list']);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout.split('\n')[0]!, /ID/);
  assert.ok(table.stdout.includes(a.id) && table.stdout.includes(b.id));
  const quiet = s.rt(['list', '--quiet']);
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.deepEqual(quiet.stdout.trim().split('\n').sort(), [a.id, b.id].sort());
});

test('pause freezes the container ("paused"), resume thaws it ("running")', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('pause', (cfg) => {
    cfg.process!.args = ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i > /out/tick; sleep 0.02; done'];
  });
  await s.createAndStart(id, bundle);
  await bundle.waitForOut('tick');
  const p = s.rt(['pause', id]);
  assert.equal(p.code, 0, p.stderr);
  assert.equal(s.stateOk(id).status, 'paused');
  if (existsSync(cgroupHostPaths(bundle.cgroupsPath).freezer!)) {
    assert.equal(readCgroupFile(bundle, 'freezer', 'freezer.state'), 'FROZEN');
  }
  assert.ok(s.listIds().includes(id));
  const paused = s.rt(['pause', id]);
  assert.notEqual(paused.code, 0, 'pausing a paused container fails');
  const r = s.rt(['resume', id]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(s.stateOk(id).status, 'running');
  const before = bundle.readOut('tick');
  await waitForChange(() => bundle.readOut('tick'), before);
  const again = s.rt(['resume', id]);
  assert.notEqual(again.code, 0, 'resuming a running container fails');
});

test('pause of a created (not started) container fails or is reported paused, never breaks it', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('pause-created');
  assert.equal(s.createContainer(id, bundle.dir).code, 0);
  const p = s.rt(['pause', id]);
  if (p.code === 0) s.rtOk(['resume', id]);
  assert.equal(s.stateOk(id).status, 'created');
});

test('update --memory / --pids-limit change the cgroup limits', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = await runningContainer(s, 'update', (cfg) => {
    cfg.linux!.resources = { ...cfg.linux!.resources, memory: { limit: 128 * 1024 * 1024 }, pids: { limit: 100 } };
  });
  assert.equal(readCgroupFile(bundle, 'memory', 'memory.limit_in_bytes'), String(128 * 1024 * 1024));
  assert.equal(readCgroupFile(bundle, 'pids', 'pids.max'), '100');
  const r = s.rt(['update', '--memory', '64m', '--pids-limit', '50', id]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readCgroupFile(bundle, 'memory', 'memory.limit_in_bytes'), String(64 * 1024 * 1024));
  assert.equal(readCgroupFile(bundle, 'pids', 'pids.max'), '50');
});

test('update --resources reads a LinuxResources JSON document', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = await runningContainer(s, 'update-json');
  const file = join(bundle.dir, 'resources.json');
  writeFileSync(file, JSON.stringify({ memory: { limit: 96 * 1024 * 1024 }, pids: { limit: 77 } }));
  const r = s.rt(['update', '--resources', file, id]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readCgroupFile(bundle, 'memory', 'memory.limit_in_bytes'), String(96 * 1024 * 1024));
  assert.equal(readCgroupFile(bundle, 'pids', 'pids.max'), '77');
});

test('update of an unknown container fails', { skip }, (t) => {
  const s = session(t);
  const r = s.rt(['update', '--memory', '64m', s.newId('nope')]);
  assert.notEqual(r.code, 0);
  assert.notEqual(r.stderr.trim(), '');
});

test('events --stats prints one JSON stats document with cpu, memory and pids', { skip }, async (t) => {
  const s = session(t);
  const { id } = await runningContainer(s, 'events', (cfg) => {
    cfg.linux!.resources = { ...cfg.linux!.resources, pids: { limit: 100 } };
  });
  const r = s.rt(['events', '--stats', id], { timeoutMs: 30_000 });
  assert.ok(!r.timedOut, 'events --stats returns after one sample');
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, `one line: ${r.stdout}`);
  const ev = JSON.parse(lines[0]!) as { type: string; id: string; data: { cpu?: { usage?: { total?: number } }; memory?: { usage?: { usage?: number } }; pids?: { current?: number; limit?: number } } };
  assert.equal(ev.type, 'stats');
  assert.equal(ev.id, id);
  assert.ok(typeof ev.data.cpu?.usage?.total === 'number', `cpu usage: ${lines[0]}`);
  assert.ok(typeof ev.data.memory?.usage?.usage === 'number' && ev.data.memory.usage.usage > 0, `memory usage: ${lines[0]}`);
  assert.ok((ev.data.pids?.current ?? 0) >= 1, `pids.current: ${lines[0]}`);
  assert.equal(ev.data.pids?.limit, 100);
});

test('features prints JSON with the supported OCI versions, namespaces and hooks', { skip }, (t) => {
  const s = session(t);
  const r = s.rt(['features']);
  assert.equal(r.code, 0, r.stderr);
  const f = JSON.parse(r.stdout) as { ociVersionMin: string; ociVersionMax: string; hooks?: string[]; mountOptions?: string[]; linux?: { namespaces?: string[]; capabilities?: string[]; cgroup?: unknown; seccomp?: { enabled?: boolean } } };
  assert.match(f.ociVersionMin, /^1\.\d+\.\d+/);
  assert.match(f.ociVersionMax, /^1\.\d+\.\d+/);
  for (const ns of ['cgroup', 'ipc', 'mount', 'network', 'pid', 'user', 'uts']) {
    assert.ok(f.linux?.namespaces?.includes(ns), `namespaces include ${ns}: ${f.linux?.namespaces}`);
  }
  for (const h of ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']) {
    assert.ok(f.hooks?.includes(h), `hooks include ${h}`);
  }
  assert.ok(f.linux?.capabilities?.includes('CAP_SYS_ADMIN'), 'capabilities list known caps');
  assert.ok(f.mountOptions?.includes('ro'), 'mount options include ro');
});

test('spec writes a config.json for a non-rootless container', { skip }, (t) => {
  const s = session(t);
  const dir = mkdtempSync(join(tmpdir(), 'berth-spec-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const r = s.rt(['spec'], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as RuntimeConfig;
  assert.match(cfg.ociVersion, /^1\./);
  assert.equal(cfg.root?.path, 'rootfs');
  assert.ok(cfg.process?.args?.length, 'has process args');
  const types = cfg.linux?.namespaces?.map((n) => n.type) ?? [];
  for (const ns of ['pid', 'mount', 'ipc', 'uts', 'network']) assert.ok(types.includes(ns as never), `namespace ${ns}`);
  assert.ok(!types.includes('user'), 'no user namespace unless --rootless');
  assert.ok(cfg.mounts?.some((m) => m.destination === '/proc'), 'mounts /proc');
  assert.ok((cfg.linux?.maskedPaths ?? []).length > 0, 'masks paths');
  const again = s.rt(['spec'], { cwd: dir });
  assert.notEqual(again.code, 0, 'spec refuses to overwrite an existing config.json');
});

test('spec --rootless adds a user namespace with mappings for the caller; --bundle picks the directory', { skip }, (t) => {
  const s = session(t);
  const dir = mkdtempSync(join(tmpdir(), 'berth-spec-rootless-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const r = s.rt(['spec', '--rootless', '--bundle', dir]);
  assert.equal(r.code, 0, r.stderr);
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as RuntimeConfig;
  assert.ok(cfg.linux?.namespaces?.some((n) => n.type === 'user'), 'user namespace');
  assert.equal(cfg.linux?.uidMappings?.[0]?.hostID, process.getuid!());
  assert.equal(cfg.linux?.gidMappings?.[0]?.hostID, process.getgid!());
  assert.equal(cfg.linux?.uidMappings?.[0]?.containerID, 0);
});

async function waitForChange(read: () => string | undefined, before: string | undefined): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (read() !== before) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the container made no progress after resume (still ${before})`);
}
