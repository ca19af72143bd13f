/**
 * The numbers berth-init and the TypeScript side must agree on (frame types, plan flags,
 * modes, mount kinds and record tags) are written twice: in native/init/init.h and plan.c, and
 * in src/runtime/plan.ts and init-frames.ts. This test reads the C declarations and compares
 * them with the TypeScript values in both directions, so that a constant added, renumbered or
 * dropped on one side only fails here rather than as a misread plan inside a container.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as plan from '../../src/runtime/plan';
import { FRAME } from '../../src/runtime/init-frames';

const REPO = join(__dirname, '..', '..', '..');
const INIT_H = readFileSync(join(REPO, 'native', 'init', 'init.h'), 'utf8');
const PLAN_C = readFileSync(join(REPO, 'native', 'init', 'plan.c'), 'utf8');

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

/** TypeScript exports of `plan.ts` whose names start with `prefix`, as name-without-prefix -> value. */
function tsExports(prefix: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, value] of Object.entries(plan)) if (name.startsWith(prefix) && typeof value === 'number') out.set(name.slice(prefix.length), value);
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

test('init constants: the header parser reads the forms the header uses', () => {
  assert.equal(evalC('1u << 8'), 256);
  assert.equal(evalC('0x50545242u'), 0x50545242);
  assert.deepEqual([...cEnum('enum x { A_ONE = 1, /* c */ A_TWO = 1u << 1, B_NO = 3 };', 'A_')], [['ONE', 1], ['TWO', 2]]);
});
