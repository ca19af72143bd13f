/**
 * The examples users read, run as written: the console sessions of docs/examples.md (which
 * the README quotes: its copy must be identical), in an empty directory with a private state
 * root, and scripts/quickstart.sh. A session is a list of `$ command` lines, each followed by
 * the output it must print; `<any>` matches any text within a line, a line `...` any lines.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { BERTH, BerthCli, REPO, engineSkip } from '../helpers/cli';

const skip = engineSkip();
const clis: BerthCli[] = [];
after(() => clis.forEach((c) => c.cleanup()));

const BEGIN = '<!-- examples:begin -->';
const END = '<!-- examples:end -->';

function examplesSection(text: string, file: string): string {
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  assert.ok(a >= 0 && b > a, `${file} has the examples between ${BEGIN} and ${END}`);
  return text.slice(a + BEGIN.length, b).trim();
}

interface Step {
  command: string;
  expected: string[];
}

/** The ```console blocks of a section, as commands and their expected output lines. */
export function parseSessions(section: string): Step[][] {
  const sessions: Step[][] = [];
  const blocks = section.split('```console\n').slice(1).map((b) => b.slice(0, b.indexOf('```')));
  for (const block of blocks) {
    const steps: Step[] = [];
    let continuing = false;
    for (const line of block.replace(/\n$/, '').split('\n')) {
      if (continuing) {
        steps[steps.length - 1]!.command += `\n${line}`;
        continuing = line.endsWith('\\');
      } else if (line.startsWith('$ ')) {
        steps.push({ command: line.slice(2), expected: [] });
        continuing = line.endsWith('\\');
      } else {
        assert.ok(steps.length, `output before any command: ${line}`);
        steps[steps.length - 1]!.expected.push(line);
      }
    }
    sessions.push(steps);
  }
  return sessions;
}

/** Whether `actual` lines match the expected ones (`<any>` within a line, `...` for lines). */
export function matchLines(expected: string[], actual: string[]): boolean {
  if (!expected.length) return actual.length === 0;
  const [first, ...rest] = expected;
  if (first === '...') {
    for (let i = 0; i <= actual.length; i++) if (matchLines(rest, actual.slice(i))) return true;
    return false;
  }
  if (!actual.length) return false;
  const re = new RegExp(`^${first!.split('<any>').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(actual[0]!.trimEnd()) && matchLines(rest, actual.slice(1));
}

test('the transcript matcher: literal lines, <any>, ...', () => {
  assert.ok(matchLines(['a <any> c', '...', 'z'], ['a b c', 'x', 'y', 'z']));
  assert.ok(matchLines(['...'], []));
  assert.ok(!matchLines(['a'], ['a', 'b']));
  assert.ok(!matchLines(['a.c'], ['abc']), 'regex characters are literal');
  const [s] = parseSessions('```console\n$ echo a \\\n  b\na b\n$ true\n```\n');
  assert.deepEqual(s, [{ command: 'echo a \\\n  b', expected: ['a b'] }, { command: 'true', expected: [] }]);
});

test('docs/examples.md: the README quotes it unchanged', () => {
  const examples = examplesSection(readFileSync(join(REPO, 'docs', 'examples.md'), 'utf8'), 'docs/examples.md');
  const readme = examplesSection(readFileSync(join(REPO, 'README.md'), 'utf8'), 'README.md');
  assert.equal(readme, examples, 'README.md and docs/examples.md differ between the markers: copy docs/examples.md into the README');
});

test('docs/examples.md: every session runs as written', { skip }, (t) => {
  const b = new BerthCli(t.name);
  clis.push(b);
  const work = mkdtempSync(join(tmpdir(), 'berth-examples-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  // `berth` on PATH, bound to the private roots.
  const bin = join(work, '.bin');
  spawnSync('mkdir', ['-p', bin]);
  writeFileSync(join(bin, 'berth'), `#!/bin/sh\nexec ${BERTH} --root ${b.root} --runroot ${b.runRoot} "$@"\n`);
  chmodSync(join(bin, 'berth'), 0o755);
  const sessions = parseSessions(examplesSection(readFileSync(join(REPO, 'docs', 'examples.md'), 'utf8'), 'docs/examples.md'));
  assert.ok(sessions.length >= 4);
  for (const steps of sessions) {
    for (const step of steps) {
      const r = spawnSync('bash', ['-o', 'pipefail', '-c', `${step.command} 2>&1`], {
        cwd: work,
        encoding: 'utf8',
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
        timeout: 120_000,
      });
      const out = r.stdout.replace(/\n$/, '');
      const lines = out === '' ? [] : out.split('\n');
      assert.equal(r.status, 0, `$ ${step.command}\nexited ${r.status}:\n${out}`);
      assert.ok(matchLines(step.expected, lines), `$ ${step.command}\nexpected:\n${step.expected.join('\n')}\nprinted:\n${out}`);
    }
  }
  b.containerIds();
  assert.deepEqual(b.residue({ volumes: true }), []);
});

test('scripts/quickstart.sh: a first image and a container showing its processes, hostname and memory limit', { skip }, (t) => {
  const b = new BerthCli(t.name);
  clis.push(b);
  const run = () =>
    spawnSync('bash', [join(REPO, 'scripts', 'quickstart.sh')], {
      encoding: 'utf8',
      env: { ...process.env, BERTH_ROOT: b.root, BERTH_RUNROOT: b.runRoot },
      timeout: 600_000,
    });
  const r = run();
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /making a first image: busybox\nsha256:[0-9a-f]{64}\n/);
  assert.match(r.stdout, /PID +USER +COMMAND\n +1 root +sh\n +\d+ root +ps\nhostname: demo\nmemory limit: 67108864\n/);
  assert.equal(b.ok(['images', '--format', '{{.Repository}}:{{.Tag}}']).trim(), 'busybox:latest');
  const again = run();
  assert.equal(again.status, 0, again.stderr);
  assert.doesNotMatch(again.stdout, /making a first image/, 'a second run reuses the image');
  assert.match(again.stdout, /hostname: demo/);
  assert.equal(b.ok(['ps', '-aq']).trim(), '', '--rm left nothing');
});
