/**
 * The command line as docker users type it, over every command of `berth`: boolean flags take
 * `=true`/`=false` (long and short, `-it=false`), the last one given wins, what follows
 * `run IMAGE` is the container's, and usage errors are docker's one line plus the usage line
 * (exit status 125 for flags, 1 for commands and arguments) — never the whole help.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommanderError, type Command, type Option } from 'commander';
import { buildProgram } from '../../src/cli/main';
import type { CliEnv } from '../../src/cli/engine/env';

/** Thrown by the preAction hook: the options were parsed, nothing runs. */
class Parsed extends Error {
  constructor(
    readonly opts: Record<string, unknown>,
    readonly args: string[],
  ) {
    super('parsed');
  }
}

interface Outcome {
  opts?: Record<string, unknown>;
  args?: string[];
  exitCode?: number;
  stderr: string;
}

/** One program for every parse (commander restores its state before each parse). */
let stderr = '';
const program = buildProgram(
  (): CliEnv => ({
    engine: () => {
      throw new Error('no engine in this test');
    },
    out: { write: () => true },
    err: { write: (s: string) => (stderr += s) },
    exit: () => undefined,
  }),
);
program.configureOutput({ writeErr: (s) => (stderr += s), writeOut: () => undefined });
program.hook('preAction', (_root, action) => {
  throw new Parsed({ ...action.opts() }, [...action.args]);
});

function parse(argv: string[]): Outcome {
  stderr = '';
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof Parsed) return { opts: e.opts, args: e.args, stderr };
    if (e instanceof CommanderError) return { exitCode: e.exitCode, stderr };
    throw e;
  }
  throw new Error(`${argv.join(' ')}: parsed without reaching an action`);
}

/** Every command that runs something: [its words after `berth`, the command]. */
function leaves(): Array<[string[], Command]> {
  const out: Array<[string[], Command]> = [];
  const walk = (c: Command, path: string[]) => {
    for (const sub of c.commands) {
      if (sub.name() === 'help') continue;
      if (sub.commands.length) walk(sub, [...path, sub.name()]);
      else out.push([[...path, sub.name()], sub]);
    }
  };
  walk(program, []);
  return out;
}

/** Placeholders for the command's required arguments. */
function operands(c: Command): string[] {
  return c.registeredArguments.filter((a) => a.required).map((_a, i) => `arg${i}`);
}

const visibleBooleans = (c: Command): Option[] => c.options.filter((o) => !o.required && !o.optional && !o.hidden && o.long);

test('every boolean flag of every command takes =true and =false (long and short forms)', () => {
  let checked = 0;
  for (const [path, cmd] of leaves()) {
    for (const o of visibleBooleans(cmd)) {
      const attr = o.attributeName();
      const forms = [o.long!, ...(o.short ? [o.short] : [])];
      for (const form of forms) {
        for (const [typed, value] of [['true', true], ['false', false]] as const) {
          const argv = [...path, `${form}=${typed}`, ...operands(cmd)];
          const r = parse(argv);
          assert.ok(r.opts, `berth ${argv.join(' ')}: ${r.stderr}`);
          // --no-trunc=true turns "trunc" off: the typed flag's meaning, then the value.
          assert.equal(r.opts[attr], o.negate ? !value : value, `berth ${argv.join(' ')}`);
          checked++;
        }
      }
      // The last one wins, either way round.
      const off = parse([...path, o.long!, `${o.long!}=false`, ...operands(cmd)]);
      assert.equal(off.opts?.[attr], o.negate, `berth ${path.join(' ')} ${o.long} ${o.long}=false: ${off.stderr}`);
      const on = parse([...path, `${o.long!}=false`, o.long!, ...operands(cmd)]);
      assert.equal(on.opts?.[attr], !o.negate, `berth ${path.join(' ')} ${o.long}=false ${o.long}: ${on.stderr}`);
    }
  }
  assert.ok(checked > 200, `only ${checked} flag forms were found`);
  // strconv.ParseBool's other spellings.
  for (const [typed, value] of [['True', true], ['TRUE', true], ['1', true], ['t', true], ['T', true], ['False', false], ['FALSE', false], ['0', false], ['f', false], ['F', false]] as const) {
    assert.equal(parse(['run', `--rm=${typed}`, 'img']).opts?.rm, value, typed);
  }
});

test('run: -it=false, --sig-proxy=false, --rm=true, -e=A=1; the command line after IMAGE is untouched', () => {
  const r = parse(['run', '-it=false', '--sig-proxy=false', '--rm=true', '-e=A=1', '-dp', '80', 'img', 'sh', '--rm=false', '-t=false', '--bogus']);
  assert.ok(r.opts, r.stderr);
  assert.equal(r.opts.interactive, true);
  assert.equal(r.opts.tty, false);
  assert.equal(r.opts.sigProxy, false);
  assert.equal(r.opts.rm, true);
  assert.equal(r.opts.detach, true);
  assert.deepEqual(r.opts.env, ['A=1']);
  assert.deepEqual(r.opts.publish, ['80']);
  assert.deepEqual(r.args, ['img', 'sh', '--rm=false', '-t=false', '--bogus']);

  const dflt = parse(['run', 'img']);
  assert.equal(dflt.opts?.sigProxy, true);
  assert.equal(parse(['run', '--sig-proxy=true', 'img']).opts?.sigProxy, true);
  assert.equal(parse(['run', '--no-sig-proxy', 'img']).opts?.sigProxy, false);
  // Values of options are never read as flags: -e --rm=false sets a variable.
  const v = parse(['run', '-e', '--rm=false', '--name=--rm=true', 'img']);
  assert.deepEqual(v.opts?.env, ['--rm=false']);
  assert.equal(v.opts?.name, '--rm=true');
  assert.equal(v.opts?.rm, undefined);
  // exec: the same before the container, nothing after it.
  const x = parse(['exec', '-it=false', '-e=B=2', '--privileged=true', 'c1', 'sh', '-t=false']);
  assert.equal(x.opts?.interactive, true);
  assert.equal(x.opts?.tty, false);
  assert.equal(x.opts?.privileged, true);
  assert.deepEqual(x.opts?.env, ['B=2']);
  assert.deepEqual(x.args, ['c1', 'sh', '-t=false']);
  // Global options before the command, and the group's subcommands.
  assert.equal(parse(['--debug=true', 'container', 'ls', '-a=true']).opts?.all, true);
  assert.equal(parse(['image', 'ls', '--all=false']).opts?.all, false);
  assert.equal(parse(['history', '-H', 'img']).args?.[0], 'img');
  assert.equal(parse(['history', '-H=false', 'img']).opts?.human, false);
  assert.equal(parse(['commit', '--pause=false', 'c1']).opts?.pause, false);
  assert.equal(parse(['commit', 'c1']).opts?.pause, true);
});

const usage = (path: string[], verb = 'Run') => new RegExp(`\\n\\nUsage:  berth ${path.join(' ')} .*\\n\\n${verb} 'berth ${path.join(' ')} --help' for more information\\n$`);

test('an unknown flag on every command: exit status 125, one line and the usage line', () => {
  for (const [path, cmd] of leaves()) {
    for (const [flag, line] of [['--bogus-flag', 'unknown flag: --bogus-flag'], ['--bogus-flag=1', 'unknown flag: --bogus-flag']]) {
      const r = parse([...path, flag, ...operands(cmd)]);
      assert.equal(r.exitCode, 125, `berth ${path.join(' ')} ${flag}: ${r.stderr}`);
      assert.ok(r.stderr.startsWith(`${line}\n`), r.stderr);
      assert.match(r.stderr, usage(path));
      assert.ok(r.stderr.split('\n').length <= 6, `the whole help: ${r.stderr}`);
    }
  }
});

test('bad values, missing values, unknown commands, wrong argument counts: docker\'s messages and statuses', () => {
  const cases: Array<{ argv: string[]; code: number; first: string; path: string[]; verb?: string }> = [
    { argv: ['run', '--rm=yes', 'img'], code: 125, first: 'invalid argument "yes" for "--rm" flag: a boolean flag takes true or false (also 1, 0, t, f)', path: ['run'] },
    { argv: ['run', '-t=maybe', 'img'], code: 125, first: 'invalid argument "maybe" for "-t, --tty" flag: a boolean flag takes true or false (also 1, 0, t, f)', path: ['run'] },
    { argv: ['ps', '--all='], code: 125, first: 'invalid argument "" for "-a, --all" flag: a boolean flag takes true or false (also 1, 0, t, f)', path: ['ps'] },
    { argv: ['run', '-z', 'img'], code: 125, first: "unknown shorthand flag: 'z' in -z", path: ['run'] },
    { argv: ['run', '--name'], code: 125, first: 'flag needs an argument: --name', path: ['run'] },
    { argv: ['--bogus', 'ps'], code: 125, first: 'unknown flag: --bogus', path: [] },
    { argv: ['container', 'ls', '--bogus'], code: 125, first: 'unknown flag: --bogus', path: ['container', 'ls'] },
    { argv: ['rm'], code: 1, first: "berth: 'berth rm' requires at least 1 argument", path: ['rm'], verb: 'See' },
    { argv: ['rename', 'a'], code: 1, first: "berth: 'berth rename' requires 2 arguments", path: ['rename'], verb: 'See' },
    { argv: ['ps', 'x'], code: 1, first: "berth: 'berth ps' accepts no arguments", path: ['ps'], verb: 'See' },
    { argv: ['image', 'bogus'], code: 1, first: 'berth: unknown command: berth image bogus', path: ['image'] },
  ];
  for (const c of cases) {
    const r = parse(c.argv);
    assert.equal(r.exitCode, c.code, `berth ${c.argv.join(' ')}: ${r.stderr}`);
    assert.ok(r.stderr.startsWith(`${c.first}\n`), `berth ${c.argv.join(' ')}: ${r.stderr}`);
    if (c.path.length) assert.match(r.stderr, usage(c.path, c.verb));
  }
  const top = parse(['bogus']);
  assert.equal(top.exitCode, 1);
  assert.equal(top.stderr, "berth: unknown command: berth bogus\n\nRun 'berth --help' for more information\n");
});
