import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tmpdir } from 'node:os';
import { loadBundle } from '../../src/spec/validate';
import { defaultSpec } from '../../src/spec/default-spec';
import { firstSyntaxErrorOffset, parseJson, JsonSyntaxError } from '../../src/spec/json-syntax';
import { BerthError } from '../../src/core/errors';

function withBundle(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'berth-spec-bundle-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function writeConfig(dir: string, config: unknown): void {
  writeFileSync(join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config, null, 2));
}

function expectError(fn: () => unknown, code: string, ...fragments: string[]): BerthError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof BerthError, String(e));
    assert.equal(e.code, code, e.message);
    for (const f of fragments) assert.ok(e.message.includes(f), `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(f)}`);
    assert.ok(e.hint, 'has a hint');
    return e;
  }
  assert.fail('expected an error');
}

test('loadBundle resolves the bundle and a relative root.path against it', () => {
  withBundle((dir) => {
    mkdirSync(join(dir, 'rootfs'));
    writeConfig(dir, defaultSpec());
    const rel = relative(process.cwd(), dir);
    const b = loadBundle(rel);
    assert.equal(b.bundle, dir);
    assert.equal(b.rootfs, join(dir, 'rootfs'));
    assert.deepEqual(b.config.process?.args, ['sh']);
  });
});

test('loadBundle accepts an absolute root.path', () => {
  withBundle((dir) => {
    const abs = join(dir, 'elsewhere');
    mkdirSync(abs);
    writeConfig(dir, { ...defaultSpec(), root: { path: abs } });
    assert.equal(loadBundle(dir).rootfs, abs);
  });
});

test('loadBundle: missing bundle directory', () => {
  withBundle((dir) => {
    expectError(() => loadBundle(join(dir, 'nope')), 'ENOT_FOUND', join(dir, 'nope'), 'does not exist');
  });
});

test('loadBundle: bundle is a file', () => {
  withBundle((dir) => {
    writeFileSync(join(dir, 'f'), '');
    expectError(() => loadBundle(join(dir, 'f')), 'EINVALID_ARGUMENT', 'is not a directory');
  });
});

test('loadBundle: missing config.json', () => {
  withBundle((dir) => {
    const e = expectError(() => loadBundle(dir), 'ENOT_FOUND', join(dir, 'config.json'), 'does not exist');
    assert.match(e.hint!, /berth-runtime spec/);
  });
});

test('loadBundle: config.json is a directory', () => {
  withBundle((dir) => {
    mkdirSync(join(dir, 'config.json'));
    expectError(() => loadBundle(dir), 'EINVALID_CONFIG', 'cannot read', 'EISDIR');
  });
});

test('loadBundle: unreadable config.json', { skip: process.getuid?.() === 0 ? 'root reads any file' : false }, () => {
  withBundle((dir) => {
    writeConfig(dir, defaultSpec());
    chmodSync(join(dir, 'config.json'), 0);
    expectError(() => loadBundle(dir), 'EINVALID_CONFIG', 'cannot read', 'EACCES');
  });
});

test('loadBundle: malformed JSON names line and column', () => {
  withBundle((dir) => {
    writeConfig(dir, '{\n  "ociVersion": "1.2.0",\n  "root": {"path": "rootfs",}\n}\n');
    expectError(() => loadBundle(dir), 'EINVALID_CONFIG', join(dir, 'config.json'), 'not valid JSON', 'line 3, column 29');
  });
});

test('loadBundle: invalid config lists the problems with the file name', () => {
  withBundle((dir) => {
    mkdirSync(join(dir, 'rootfs'));
    const c = defaultSpec() as unknown as { process: { cwd: string } };
    c.process.cwd = 'relative';
    writeConfig(dir, c);
    expectError(() => loadBundle(dir), 'EINVALID_CONFIG', `${join(dir, 'config.json')} is invalid`, 'process.cwd: must be an absolute path');
  });
});

test('loadBundle: root.path missing', () => {
  withBundle((dir) => {
    const c: Record<string, unknown> = { ...defaultSpec() };
    delete c.root;
    writeConfig(dir, c);
    expectError(() => loadBundle(dir), 'EINVALID_CONFIG', 'root.path: required');
  });
});

test('loadBundle: rootfs missing or not a directory', () => {
  withBundle((dir) => {
    writeConfig(dir, defaultSpec());
    expectError(() => loadBundle(dir), 'ENOT_FOUND', join(dir, 'rootfs'), 'does not exist');
    writeFileSync(join(dir, 'rootfs'), '');
    expectError(() => loadBundle(dir), 'EINVALID_CONFIG', join(dir, 'rootfs'), 'is not a directory');
  });
});

test('JSON syntax errors: the scanner finds the offending offset', () => {
  const cases: Array<[string, number]> = [
    ['{]', 1],
    ['{"a": tru}', 9],
    ['[1,2', 4],
    ['', 0],
    ['{"a":1} x', 8],
    ['{"a": "b\\q"}', 9],
    ['{"a": 01}', 7],
    ['[1,]', 3],
    ['{"a"\n:\n  -}', 10],
  ];
  for (const [text, offset] of cases) {
    assert.throws(() => JSON.parse(text));
    assert.equal(firstSyntaxErrorOffset(text), offset, text);
  }
  assert.throws(
    () => parseJson('{\n  "a": [1,\n  2,,]\n}'),
    (e: unknown) => e instanceof JsonSyntaxError && e.line === 3 && e.column === 5 && /line 3, column 5/.test(e.message),
  );
  assert.deepEqual(parseJson('{"a": [1, "\\u00e9", true, null, -1.5e3]}'), { a: [1, 'é', true, null, -1500] });
});
