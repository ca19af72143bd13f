/**
 * The seccomp compiler, checked by running the BPF it emits through an independent
 * interpreter (test/helpers/bpf-interpreter.ts) over seccomp_data built by hand.
 * Numbers are x86_64's unless said otherwise (the native arch is pinned, so the tests do not
 * depend on the machine they run on).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileSeccomp, type SeccompProgram } from '../../src/seccomp';
import type { CompileOptions } from '../../src/seccomp';
import { BerthError } from '../../src/core/errors';
import type { LinuxSeccomp, SeccompOperator } from '../../src/spec/types';
import { SYSCALL_TABLES } from '../../src/seccomp/syscall-tables.generated';
import { checkFilter, describeRet, runFilter, runFilterDetailed } from '../helpers/bpf-interpreter';

const X86_64_TABLE: Array<[string, number]> = Object.entries(SYSCALL_TABLES.x86_64);

const AUDIT_X86_64 = 0xc000003e;
const AUDIT_I386 = 0x40000003;
const AUDIT_AARCH64 = 0xc00000b7;
const AUDIT_ARM = 0x40000028;
const AUDIT_MIPS = 0x00000008;
const X32 = 0x40000000;

// x86_64 numbers used below
const NR = { read: 0, write: 1, getpid: 39, getppid: 110, gettid: 186, getuid: 102, getgid: 104, geteuid: 107, getegid: 108, getpgrp: 111, setsid: 112, mkdir: 83, mount: 165, socket: 41, personality: 135, clone3: 435 };

function compile(profile: LinuxSeccomp, opts: CompileOptions = {}): SeccompProgram {
  const p = compileSeccomp(profile, { nativeArch: 'SCMP_ARCH_X86_64', ...opts });
  checkFilter(p.filter);
  return p;
}

function run(p: SeccompProgram, nr: number, args: Array<number | bigint> = [], arch = AUDIT_X86_64): string {
  return describeRet(runFilter(p.filter, { nr, arch, args }));
}

function berthError(code: string, path: string): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof BerthError, `a BerthError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.ok(e.message.startsWith(`${path}:`), `message names ${path}: ${e.message}`);
    return true;
  };
}

test('seccomp: every action maps to its SECCOMP_RET value', () => {
  const p = compile({
    defaultAction: 'SCMP_ACT_ALLOW',
    listenerPath: '/run/agent.sock',
    syscalls: [
      { names: ['getpid'], action: 'SCMP_ACT_KILL' },
      { names: ['gettid'], action: 'SCMP_ACT_KILL_THREAD' },
      { names: ['getppid'], action: 'SCMP_ACT_KILL_PROCESS' },
      { names: ['getuid'], action: 'SCMP_ACT_TRAP' },
      { names: ['getgid'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
      { names: ['geteuid'], action: 'SCMP_ACT_ERRNO' },
      { names: ['getegid'], action: 'SCMP_ACT_TRACE', errnoRet: 7 },
      { names: ['getpgrp'], action: 'SCMP_ACT_LOG' },
      { names: ['setsid'], action: 'SCMP_ACT_NOTIFY' },
      { names: ['write'], action: 'SCMP_ACT_ALLOW' },
    ],
  });
  const expected: Array<[number, string]> = [
    [NR.getpid, 'KILL_THREAD'],
    [NR.gettid, 'KILL_THREAD'],
    [NR.getppid, 'KILL_PROCESS'],
    [NR.getuid, 'TRAP(0)'],
    [NR.getgid, 'ERRNO(13)'],
    [NR.geteuid, 'ERRNO(1)'],
    [NR.getegid, 'TRACE(7)'],
    [NR.getpgrp, 'LOG'],
    [NR.setsid, 'NOTIFY'],
    [NR.write, 'ALLOW'],
    [NR.read, 'ALLOW'],
  ];
  for (const [nr, want] of expected) assert.equal(run(p, nr), want, `nr ${nr}`);
});

test('seccomp: default actions and defaultErrnoRet (EPERM when absent)', () => {
  const cases: Array<[Partial<LinuxSeccomp>, string]> = [
    [{ defaultAction: 'SCMP_ACT_ERRNO' }, 'ERRNO(1)'],
    [{ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 5 }, 'ERRNO(5)'],
    [{ defaultAction: 'SCMP_ACT_KILL' }, 'KILL_THREAD'],
    [{ defaultAction: 'SCMP_ACT_KILL_PROCESS' }, 'KILL_PROCESS'],
    [{ defaultAction: 'SCMP_ACT_TRAP' }, 'TRAP(0)'],
    [{ defaultAction: 'SCMP_ACT_TRACE', defaultErrnoRet: 3 }, 'TRACE(3)'],
    [{ defaultAction: 'SCMP_ACT_LOG' }, 'LOG'],
    [{ defaultAction: 'SCMP_ACT_ALLOW' }, 'ALLOW'],
  ];
  for (const [profile, want] of cases) {
    const p = compile({ ...profile, syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] } as LinuxSeccomp);
    assert.equal(run(p, NR.mkdir), want, JSON.stringify(profile));
    assert.equal(run(p, NR.read), 'ALLOW');
  }
});

const EDGE_VALUES: bigint[] = [0n, 1n, 5n, 0x7fffffffn, 0xfffffffen, 0xffffffffn, 0x100000000n, 0x100000005n, 0x1_ffff_ffffn, 0xffff_ffff_0000_0000n, 0xffff_ffff_ffff_fffen, 0xffff_ffff_ffff_ffffn];
const U64 = (1n << 64n) - 1n;

function holds(op: SeccompOperator, v: bigint, value: bigint, valueTwo: bigint): boolean {
  switch (op) {
    case 'SCMP_CMP_EQ':
      return v === value;
    case 'SCMP_CMP_NE':
      return v !== value;
    case 'SCMP_CMP_LT':
      return v < value;
    case 'SCMP_CMP_LE':
      return v <= value;
    case 'SCMP_CMP_GT':
      return v > value;
    case 'SCMP_CMP_GE':
      return v >= value;
    case 'SCMP_CMP_MASKED_EQ':
      return (v & value) === valueTwo;
  }
}

const SIMPLE_OPS: SeccompOperator[] = ['SCMP_CMP_EQ', 'SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_GT', 'SCMP_CMP_GE'];
const MASKS: Array<[bigint, bigint]> = [
  [0xffn, 0x05n],
  [0xffn, 0x100n], // datum outside the mask: never matches
  [0x7e020000n, 0n],
  [0xffff_ffff_0000_0000n, 0x1_0000_0000n],
  [0xffff_ffff_ffff_ffffn, 0x1_0000_0005n],
  [0n, 0n], // empty mask, zero datum: always
  [0x8000_0000_0000_0001n, 0x8000_0000_0000_0000n],
];

test('seccomp: every operator is a full 64-bit comparison on x86_64 (hi word decides first)', () => {
  for (const op of SIMPLE_OPS) {
    for (const datum of EDGE_VALUES) {
      // The argument index varies too, so every args[i] offset is exercised.
      const index = Number(datum % 6n);
      const p = compile({
        defaultAction: 'SCMP_ACT_ERRNO',
        syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ALLOW', args: [{ index, op, value: datum as unknown as number }] }],
      });
      for (const v of EDGE_VALUES) {
        const args = [0n, 0n, 0n, 0n, 0n, 0n];
        args[index] = v;
        const want = holds(op, v, datum, 0n) ? 'ALLOW' : 'ERRNO(1)';
        assert.equal(run(p, NR.getpid, args), want, `${op} ${v.toString(16)} vs ${datum.toString(16)} (arg ${index})`);
      }
    }
  }
  for (const [mask, datum] of MASKS) {
    const p = compile({
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ALLOW', args: [{ index: 2, op: 'SCMP_CMP_MASKED_EQ', value: mask as unknown as number, valueTwo: datum as unknown as number }] }],
    });
    for (const v of [...EDGE_VALUES, 0x7e020000n, 0x10000000n, 0x8000_0000_0000_0000n, 0x8000_0000_0000_0001n]) {
      const want = holds('SCMP_CMP_MASKED_EQ', v, mask, datum) ? 'ALLOW' : 'ERRNO(1)';
      assert.equal(run(p, NR.getpid, [0, 0, v]), want, `MASKED_EQ mask ${mask.toString(16)} datum ${datum.toString(16)} arg ${v.toString(16)}`);
    }
  }
});

test('seccomp: on 32-bit ABIs only the low word is compared, exactly against the 64-bit value', () => {
  const I386_GETPID = 20;
  for (const op of [...SIMPLE_OPS, 'SCMP_CMP_MASKED_EQ' as const]) {
    for (const datum of EDGE_VALUES) {
      const mask = 0xffff_00ffn;
      const p = compile({
        defaultAction: 'SCMP_ACT_ERRNO',
        architectures: ['SCMP_ARCH_X86'],
        syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ALLOW', args: [{ index: 1, op, value: (op === 'SCMP_CMP_MASKED_EQ' ? mask : datum) as unknown as number, valueTwo: datum as unknown as number }] }],
      });
      for (const v of EDGE_VALUES) {
        // The kernel hands a 32-bit syscall the low word; whatever is above it is ignored.
        const low = v & 0xffffffffn;
        const want = holds(op, low, op === 'SCMP_CMP_MASKED_EQ' ? mask : datum, datum) ? 'ALLOW' : 'ERRNO(1)';
        assert.equal(run(p, I386_GETPID, [0, v], AUDIT_I386), want, `i386 ${op} arg ${v.toString(16)} datum ${datum.toString(16)}`);
      }
    }
  }
});

test('seccomp: several args in one rule must all hold; rules for one syscall are tried in order', () => {
  const p = compile({
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 1,
    syscalls: [
      { names: ['getpid'], action: 'SCMP_ACT_ERRNO', errnoRet: 10, args: [{ index: 0, op: 'SCMP_CMP_EQ', value: 1 }, { index: 1, op: 'SCMP_CMP_EQ', value: 2 }] },
      { names: ['getpid'], action: 'SCMP_ACT_ERRNO', errnoRet: 20, args: [{ index: 0, op: 'SCMP_CMP_EQ', value: 1 }] },
      { names: ['getpid', 'read'], action: 'SCMP_ACT_ALLOW' },
      { names: ['getpid'], action: 'SCMP_ACT_KILL' }, // shadowed by the unconditional rule before it
      { names: ['write'], action: 'SCMP_ACT_LOG', args: [{ index: 0, op: 'SCMP_CMP_GT', value: 2 }] },
    ],
  });
  assert.equal(run(p, NR.getpid, [1, 2]), 'ERRNO(10)', 'first rule: both args match');
  assert.equal(run(p, NR.getpid, [1, 3]), 'ERRNO(20)', 'first rule fails on arg 1, second matches');
  assert.equal(run(p, NR.getpid, [7, 2]), 'ALLOW', 'falls to the unconditional rule');
  assert.equal(run(p, NR.read), 'ALLOW');
  assert.equal(run(p, NR.write, [3]), 'LOG');
  assert.equal(run(p, NR.write, [2]), 'ERRNO(1)', 'no rule matched: the default');
});

test('seccomp: a process of an architecture the filter does not list is killed', () => {
  const p = compile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] });
  assert.equal(run(p, 3, [], AUDIT_I386), 'KILL_PROCESS', 'i386 (int 0x80) not listed');
  assert.equal(run(p, 0, [], AUDIT_AARCH64), 'KILL_PROCESS');
  assert.equal(run(p, NR.mkdir), 'ERRNO(1)');

  const multi = compile({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_MIPS'], syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 2 }] });
  assert.equal(run(multi, 39, [], AUDIT_I386), 'ERRNO(2)', 'i386 mkdir is 39');
  assert.equal(run(multi, 83, [], AUDIT_I386), 'ALLOW', '83 on i386 is not mkdir');
  assert.equal(run(multi, NR.mkdir), 'ERRNO(2)', 'the native arch is always covered');
  assert.equal(run(multi, 0, [], AUDIT_MIPS), 'KILL_PROCESS', 'MIPS has no table here: left out, so killed');

  const arm = compile({ defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_ARM'], syscalls: [{ names: ['cacheflush', 'read'], action: 'SCMP_ACT_ALLOW' }] }, { nativeArch: 'SCMP_ARCH_AARCH64' });
  assert.equal(run(arm, 63, [], AUDIT_AARCH64), 'ALLOW', 'aarch64 read is 63');
  assert.equal(run(arm, 3, [], AUDIT_ARM), 'ALLOW', 'arm read is 3');
  assert.equal(run(arm, 0x0f0002, [], AUDIT_ARM), 'ALLOW', 'arm private cacheflush');
  assert.equal(run(arm, 0x0f0001, [], AUDIT_ARM), 'ERRNO(1)', 'a known private call below the newest listed: default');
  assert.equal(run(arm, 0x0f0003, [], AUDIT_ARM), 'ERRNO(38)', 'past the newest syscall the profile names: ENOSYS (runc)');
  assert.equal(run(arm, 0x100000, [], AUDIT_ARM), 'ERRNO(38)', 'beyond the private range');
  assert.equal(run(arm, 471, [], AUDIT_ARM), 'ERRNO(38)', 'between the ordinary and the private numbers');
  assert.equal(run(arm, 0, [], AUDIT_X86_64), 'KILL_PROCESS');
});

test('seccomp: x32 syscall numbers cannot be used to bypass x86_64 rules', () => {
  const deny = { defaultAction: 'SCMP_ACT_ALLOW' as const, syscalls: [{ names: ['mkdir', 'mount'], action: 'SCMP_ACT_ERRNO' as const }] };
  const noX32 = compile({ ...deny, architectures: ['SCMP_ARCH_X86_64'] });
  assert.equal(run(noX32, NR.mkdir), 'ERRNO(1)');
  assert.equal(run(noX32, X32 + NR.mkdir), 'KILL_PROCESS', 'x32 mkdir with x32 not listed');
  assert.equal(run(noX32, X32 + NR.read), 'KILL_PROCESS', 'any x32 call');
  assert.equal(run(noX32, 0xffffffff), 'ALLOW', '-1 (a skipped syscall) is not an x32 number');

  const withX32 = compile({ ...deny, architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X32'] });
  assert.equal(run(withX32, X32 + NR.mkdir), 'ERRNO(1)', 'the x32 rule applies to x32 mkdir');
  assert.equal(run(withX32, X32 + NR.mount), 'ERRNO(1)');
  assert.equal(run(withX32, X32 + NR.read), 'ALLOW');

  // x32's own numbering: rt_sigaction is 512 there (13 is the x86_64-only entry point).
  const allowList = compile({ defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X32'], syscalls: [{ names: ['rt_sigaction'], action: 'SCMP_ACT_ALLOW' }] });
  assert.equal(run(allowList, X32 + 512), 'ALLOW');
  assert.equal(run(allowList, X32 + 13), 'ERRNO(1)');
  assert.equal(run(allowList, 13), 'ALLOW', 'x86_64 rt_sigaction');
  assert.equal(run(allowList, X32 + 548), 'ERRNO(38)', 'past the x32 legacy range: unknown');
});

test('seccomp: numbers beyond the tables get ENOSYS unless the default lets everything through', () => {
  const allowList = compile({ defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'], syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] });
  assert.equal(run(allowList, 1000), 'ERRNO(38)');
  assert.equal(run(allowList, 471), 'ERRNO(38)', 'the first number past listns (470)');
  assert.equal(run(allowList, 470), 'ERRNO(1)', 'known but not allowed: the default errno');
  assert.equal(run(allowList, 400), 'ERRNO(1)', 'a hole below the highest known number stays the default');
  assert.equal(run(allowList, 0x7fffffff), 'ERRNO(38)');
  assert.equal(run(allowList, 0x80000000), 'ERRNO(38)');
  assert.equal(run(allowList, 1000, [], AUDIT_I386), 'ERRNO(38)');
  assert.equal(run(allowList, X32 + 1000), 'ERRNO(38)');
  assert.equal(run(allowList, X32 + 520), 'ERRNO(1)', 'x32 execve (legacy range) is known');

  for (const [defaultAction, want] of [
    ['SCMP_ACT_ALLOW', 'ALLOW'],
    ['SCMP_ACT_LOG', 'LOG'],
    ['SCMP_ACT_TRACE', 'TRACE(1)'],
    ['SCMP_ACT_KILL_PROCESS', 'ERRNO(38)'],
    ['SCMP_ACT_TRAP', 'ERRNO(38)'],
  ] as const) {
    const p = compile({ defaultAction, syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO' }] });
    assert.equal(run(p, 1000), want, `default ${defaultAction}`);
  }
});

// runc's patchbpf: the profile's newest syscall marks what it knew; anything newer gets ENOSYS
// so that a libc falls back (clone3 -> clone) instead of failing on the default EPERM.
test('seccomp: syscalls newer than the newest one the profile names get ENOSYS (runc)', () => {
  const old = compile({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read', 'write', 'getpid', 'personality'], action: 'SCMP_ACT_ALLOW' }] });
  assert.equal(run(old, NR.clone3), 'ERRNO(38)', 'clone3 is newer than personality (135)');
  assert.equal(run(old, 136), 'ERRNO(38)', 'the first number past the newest listed');
  assert.equal(run(old, NR.mkdir), 'ERRNO(1)', 'an older syscall the profile leaves out: the default');
  assert.equal(run(old, NR.personality), 'ALLOW');
  const denyNewer = compile({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }, { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }] });
  assert.equal(run(denyNewer, 434), 'ERRNO(1)', 'below a listed clone3: the default');
  assert.equal(run(denyNewer, 436), 'ERRNO(38)');
  const killDefault = compile({ defaultAction: 'SCMP_ACT_KILL_PROCESS', syscalls: [{ names: ['write'], action: 'SCMP_ACT_ALLOW' }] });
  assert.equal(run(killDefault, NR.clone3), 'ERRNO(38)', 'not killed for probing a newer syscall');
  const allow = compile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['write'], action: 'SCMP_ACT_ERRNO' }] });
  assert.equal(run(allow, NR.clone3), 'ALLOW', 'a permissive default needs no stub');
});

test('seccomp: unknown syscall names are skipped; names unknown everywhere are reported', () => {
  const warnings: string[] = [];
  const p = compile(
    {
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        { names: ['read'], action: 'SCMP_ACT_ALLOW' },
        { names: ['chown32', 'no_such_call', 'write'], action: 'SCMP_ACT_ALLOW' },
      ],
    },
    { warn: (m) => warnings.push(m) },
  );
  assert.equal(run(p, NR.write), 'ALLOW');
  assert.deepEqual(warnings, ['linux.seccomp.syscalls[1].names[1]: unknown syscall "no_such_call" (in no architecture\'s table): skipped']);
});

test('seccomp: flags map to SECCOMP_FILTER_FLAG_*; a NOTIFY rule adds NEW_LISTENER', () => {
  const base = { defaultAction: 'SCMP_ACT_ALLOW' as const };
  const notify = { ...base, listenerPath: '/run/a.sock', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' as const }] };
  assert.equal(compile(base).flags, 0);
  assert.equal(compile({ ...base, flags: ['SECCOMP_FILTER_FLAG_TSYNC'] }).flags, 1);
  assert.equal(compile({ ...base, flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'] }).flags, 2 | 4);
  assert.equal(compile(notify).flags, 8);
  assert.equal(compile({ ...notify, flags: ['SECCOMP_FILTER_FLAG_TSYNC'] }).flags, 1 | 8 | 16, 'TSYNC with a listener needs TSYNC_ESRCH');
  assert.equal(compile({ ...notify, flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'] }).flags, 8 | 32);
  assert.throws(() => compile({ ...base, flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'] }), berthError('EINVALID_CONFIG', 'linux.seccomp.flags[0]'));
  assert.throws(() => compile({ ...base, flags: ['SECCOMP_FILTER_FLAG_LOG', 'BOGUS'] }), berthError('EINVALID_CONFIG', 'linux.seccomp.flags[1]'));
});

test('seccomp: errors name the JSON path of the offending field', () => {
  const rules = (extra: object) => ({
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }, { names: ['write'], action: 'SCMP_ACT_ALLOW' }, { names: ['close'], action: 'SCMP_ACT_ALLOW' }, { names: ['getpid'], action: 'SCMP_ACT_ALLOW', ...extra }],
  }) as unknown as LinuxSeccomp;
  const cases: Array<[LinuxSeccomp, string, string]> = [
    [rules({ args: [{ index: 0, op: 'SCMP_CMP_BOGUS', value: 1 }] }), 'EINVALID_CONFIG', 'linux.seccomp.syscalls[3].args[0].op'],
    [rules({ args: [{ index: 0, op: 'SCMP_CMP_EQ', value: 1 }, { index: 6, op: 'SCMP_CMP_EQ', value: 1 }] }), 'EINVALID_CONFIG', 'linux.seccomp.syscalls[3].args[1].index'],
    [rules({ args: [{ index: 0, op: 'SCMP_CMP_EQ', value: -1 }] }), 'EINVALID_CONFIG', 'linux.seccomp.syscalls[3].args[0].value'],
    [rules({ args: [{ index: 0, op: 'SCMP_CMP_MASKED_EQ', value: 1, valueTwo: 1.5 }] }), 'EINVALID_CONFIG', 'linux.seccomp.syscalls[3].args[0].valueTwo'],
    [rules({ errnoRet: 3 }), 'EINVALID_CONFIG', 'linux.seccomp.syscalls[3].errnoRet'],
    [rules({ action: 'SCMP_ACT_BOGUS' }), 'EINVALID_CONFIG', 'linux.seccomp.syscalls[3].action'],
    [rules({ action: 'SCMP_ACT_ERRNO', errnoRet: 5000 }), 'EINVALID_CONFIG', 'linux.seccomp.syscalls[3].errnoRet'],
    [rules({ names: [] }), 'EINVALID_CONFIG', 'linux.seccomp.syscalls[3].names'],
    [rules({ action: 'SCMP_ACT_NOTIFY' }), 'EINVALID_CONFIG', 'linux.seccomp.listenerPath'],
    [{ defaultAction: 'SCMP_ACT_ALLOW', defaultErrnoRet: 2 }, 'EINVALID_CONFIG', 'linux.seccomp.defaultErrnoRet'],
    [{ defaultAction: 'SCMP_ACT_NOTIFY', listenerPath: '/a' }, 'EINVALID_CONFIG', 'linux.seccomp.defaultAction'],
    [{ defaultAction: 'SCMP_ACT_ALLOW', listenerMetadata: 'x' }, 'EINVALID_CONFIG', 'linux.seccomp.listenerMetadata'],
    [{ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/a', syscalls: [{ names: ['read', 'write'], action: 'SCMP_ACT_NOTIFY' }] }, 'EINVALID_CONFIG', 'linux.seccomp.syscalls[0].names[1]'],
    [{ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86', 'x86'] }, 'EINVALID_CONFIG', 'linux.seccomp.architectures[1]'],
  ];
  for (const [profile, code, path] of cases) assert.throws(() => compile(profile), berthError(code, path), path);
  assert.throws(() => compile(rules({ errnoRet: 1 }), { path: 'profile.json' }), berthError('EINVALID_CONFIG', 'profile.json.syscalls[3].errnoRet'), 'the base path is configurable');
});

test('seccomp: argument values parse like JSON numbers; 18446744073709551615 means all ones', () => {
  const p = compile({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, op: 'SCMP_CMP_EQ', value: JSON.parse('18446744073709551615') as number }] }] });
  assert.equal(run(p, NR.getpid, [U64]), 'ALLOW');
  assert.equal(run(p, NR.getpid, [U64 - 1n]), 'ERRNO(1)');
});

test('seccomp: dispatch is a binary search, not a compare per syscall', () => {
  // Every even x86_64 syscall below 300 gets its own errno, so no two neighbours merge.
  const table = X86_64_TABLE.filter(([, nr]) => nr < 300 && nr % 2 === 0);
  const p = compile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: table.map(([name, nr]) => ({ names: [name], action: 'SCMP_ACT_ERRNO' as const, errnoRet: nr + 1 })) });
  let maxSteps = 0;
  for (const [, nr] of table) {
    const r = runFilterDetailed(p.filter, { nr, arch: AUDIT_X86_64 });
    assert.equal(describeRet(r.ret), `ERRNO(${nr + 1})`);
    maxSteps = Math.max(maxSteps, r.steps);
  }
  // ~300 intervals: a balanced tree is 9 levels deep; plus the arch check, loads and the ret.
  assert.ok(maxSteps <= 16, `at most 16 instructions per syscall, saw ${maxSteps}`);
});

test('seccomp: jumps farther than 255 instructions go through JA trampolines', () => {
  // 300 syscalls, each with its own argument rule: the search tree's top jumps cross
  // thousands of instructions.
  const table = X86_64_TABLE.filter(([, nr]) => nr < 300);
  const syscalls = table.map(([name, nr]) => ({ names: [name], action: 'SCMP_ACT_ERRNO' as const, errnoRet: (nr % 4000) + 1, args: [{ index: nr % 6, op: 'SCMP_CMP_EQ' as const, value: 0x1_0000_0000 + nr }] }));
  const p = compile({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'], syscalls });
  const insns = p.filter.length / 8;
  assert.ok(insns > 1500, `a big program (${insns} instructions)`);
  let trampolines = 0;
  for (let o = 0; o < p.filter.length; o += 8) if (p.filter.readUInt16LE(o) === 0x05 && p.filter.readUInt32LE(o + 4) > 255) trampolines++;
  assert.ok(trampolines > 0, 'long jumps were needed and made with ja');
  for (const [, nr] of table) {
    const args = [0n, 0n, 0n, 0n, 0n, 0n];
    args[nr % 6] = BigInt(0x1_0000_0000 + nr);
    assert.equal(run(p, nr, args), `ERRNO(${nr + 1})`, `nr ${nr} with its value`);
    args[nr % 6] = BigInt(nr);
    assert.equal(run(p, nr, args), 'ALLOW', `nr ${nr}, low word only`);
  }
  assert.equal(run(p, 1000), 'ALLOW');
  assert.equal(run(p, 3, [], AUDIT_I386), 'ALLOW', 'the i386 block after the long x86_64 one is reachable');
});

test('seccomp: a program over the kernel limit of 4096 instructions is refused', () => {
  const syscalls = X86_64_TABLE.flatMap(([name, nr]) =>
    [1, 2, 3].map((k) => ({ names: [name], action: 'SCMP_ACT_ERRNO' as const, errnoRet: k, args: [{ index: 0, op: 'SCMP_CMP_EQ' as const, value: nr * 10 + k }] })),
  );
  assert.throws(() => compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls }, { nativeArch: 'SCMP_ARCH_X86_64' }), (e: unknown) => e instanceof BerthError && e.code === 'ESECCOMP' && /at most 4096/.test(e.message));
});

test('seccomp: big-endian hosts get a big-endian program with the words of each argument swapped', () => {
  const S390X = 0x80000016;
  const p = compileSeccomp(
    { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ALLOW', args: [{ index: 1, op: 'SCMP_CMP_EQ', value: 0x1_0000_0002 }] }] },
    { nativeArch: 'SCMP_ARCH_S390X' },
  );
  checkFilter(p.filter, true);
  const getpid = 20; // s390x
  assert.equal(describeRet(runFilter(p.filter, { nr: getpid, arch: S390X, args: [0, 0x1_0000_0002] }, true)), 'ALLOW');
  assert.equal(describeRet(runFilter(p.filter, { nr: getpid, arch: S390X, args: [0, 0x2_0000_0001] }, true)), 'ERRNO(1)');
  assert.equal(describeRet(runFilter(p.filter, { nr: getpid, arch: S390X, args: [0, 2] }, true)), 'ERRNO(1)');
});
