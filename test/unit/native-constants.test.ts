/**
 * The numbers the C programs and the TypeScript side must agree on are written twice: for
 * berth-init (frame types, plan flags, modes, mount kinds and record tags) in
 * native/init/init.h and plan.c and in src/runtime/plan.ts and init-frames.ts; for berth-shim
 * (control frames, attach messages) in native/shim/shim.h and attach.c and in
 * src/engine/shim/protocol.ts. This test reads the C declarations and compares them with the
 * TypeScript values in both directions, so that a constant added, renumbered or dropped on one
 * side only fails here rather than as a misread plan inside a container.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as plan from '../../src/runtime/plan';
import { FRAME } from '../../src/runtime/init-frames';
import * as shimProtocol from '../../src/engine/shim/protocol';

const REPO = join(__dirname, '..', '..', '..');
const INIT_H = readFileSync(join(REPO, 'native', 'init', 'init.h'), 'utf8');
const PLAN_C = readFileSync(join(REPO, 'native', 'init', 'plan.c'), 'utf8');
const SHIM_H = readFileSync(join(REPO, 'native', 'shim', 'shim.h'), 'utf8');
const SHIM_ATTACH_C = readFileSync(join(REPO, 'native', 'shim', 'attach.c'), 'utf8');

/** Drops C comments, keeping line structure irrelevant to the parse. */
function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/[^\n]*/g, ' ');
}

/** Value of a C constant expression as these files write them: 12, 0x1fu, 1u << 7. */
function evalC(expr: string): number {
  const e = expr.trim().replace(/\b(0x[0-9a-fA-F]+|\d+)[uUlL]*\b/g, '$1');
  const shift = /^\(?\s*(0x[0-9a-fA-F]+|\d+)\s*<<\s*(\d+)\s*\)?$/.exec(e);
  if (shift) return Number(shift[1]) * 2 ** Number(shift[2]);
  if (/^(0x[0-9a-fA-F]+|\d+)$/.test(e)) return Number(e);
  throw new Error(`unsupported C expression: ${expr}`);
}

/** The enumerators of every enum in `src` whose names start with `prefix` (explicit values only). */
function cEnum(src: string, prefix: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const body of stripComments(src).matchAll(/enum\s*\w*\s*\{([^}]*)\}/g)) {
    for (const item of body[1]!.split(',')) {
      const m = /^\s*([A-Z][A-Z0-9_]*)\s*=\s*(.+?)\s*$/s.exec(item);
      if (m && m[1]!.startsWith(prefix)) out.set(m[1]!.slice(prefix.length), evalC(m[2]!));
    }
  }
  assert.ok(out.size > 0, `no ${prefix}* enumerators found`);
  return out;
}

function cDefine(src: string, name: string): number {
  const m = new RegExp(`#define\\s+${name}\\s+([^\\s/]+)`).exec(src);
  assert.ok(m, `#define ${name} not found`);
  return evalC(m[1]!);
}

/** Numeric exports of `mod` (plan.ts by default) whose names start with `prefix`, as name-without-prefix -> value. */
function tsExports(prefix: string, mod: object = plan): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, value] of Object.entries(mod)) if (name.startsWith(prefix) && typeof value === 'number') out.set(name.slice(prefix.length), value);
  return out;
}

function same(what: string, c: Map<string, number>, ts: Map<string, number> | Record<string, number>): void {
  const tsMap = ts instanceof Map ? ts : new Map(Object.entries(ts));
  assert.deepEqual(Object.fromEntries([...tsMap].sort()), Object.fromEntries([...c].sort()), `${what}: TypeScript (actual) vs C (expected)`);
}

test('init constants: sync channel frame types match enum frame_type', () => {
  same('frame types', cEnum(INIT_H, 'FRAME_'), FRAME);
});

test('init constants: plan magic, version, modes, flags and mount kinds match init.h', () => {
  assert.equal(plan.PLAN_MAGIC, cDefine(INIT_H, 'PLAN_MAGIC'));
  assert.equal(plan.PLAN_VERSION, cDefine(INIT_H, 'PLAN_VERSION'));
  same('plan modes', cEnum(INIT_H, 'MODE_'), tsExports('MODE_'));
  same('plan flags', cEnum(INIT_H, 'PF_'), tsExports('PF_'));
  same('mount kinds', cEnum(INIT_H, 'MK_'), tsExports('MOUNT_'));
});

test('init constants: record tags match the decoder in plan.c', () => {
  same('plan records', cEnum(PLAN_C, 'T_'), plan.T);
  same('mount records', cEnum(PLAN_C, 'M_'), plan.M);
  same('device records', cEnum(PLAN_C, 'D_'), plan.D);
  same('hook records', cEnum(PLAN_C, 'H_'), plan.H);
  same('namespace join records', cEnum(PLAN_C, 'N_'), plan.N);
});

test('shim constants: control frames and attach messages match shim.h and attach.c', () => {
  same('control frames', cEnum(SHIM_H, 'CTL_'), tsExports('CTL_', shimProtocol));
  same('attach messages', cEnum(SHIM_ATTACH_C, 'MSG_'), tsExports('MSG_', shimProtocol));
  same('attach wants', cEnum(SHIM_ATTACH_C, 'WANT_'), tsExports('WANT_', shimProtocol));
  same('attach acknowledgements', cEnum(SHIM_ATTACH_C, 'ACK_'), tsExports('ACK_', shimProtocol));
  // TypeScript only reads output streams; stdin (0) is the shim's own business.
  const streams = cEnum(SHIM_H, 'STREAM_');
  for (const [name, value] of tsExports('STREAM_', shimProtocol)) assert.equal(value, streams.get(name), `STREAM_${name}`);
});

test('init constants: the header parser reads the forms the header uses', () => {
  assert.equal(evalC('1u << 8'), 256);
  assert.equal(evalC('0x50545242u'), 0x50545242);
  assert.deepEqual([...cEnum('enum x { A_ONE = 1, /* c */ A_TWO = 1u << 1, B_NO = 3 };', 'A_')], [['ONE', 1], ['TWO', 2]]);
});
