/** The classic-BPF assembler (long jumps) and the generated syscall tables. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Assembler, decode, encode, NEXT } from '../../src/seccomp/bpf';
import { ARCHES, highestOrdinarySyscall, syscallNumber } from '../../src/seccomp/arches';
import { SYSCALL_TABLES } from '../../src/seccomp/syscall-tables.generated';
import { checkFilter, runFilter } from '../helpers/bpf-interpreter';

const REPO = join(__dirname, '..', '..', '..');

function filler(asm: Assembler, n: number): void {
  for (let i = 0; i < n; i++) asm.ret(0xdead0000 + i);
}

test('bpf: conditional targets beyond 255 instructions get trampolines on either branch', () => {
  const asm = new Assembler();
  const t = asm.label();
  const f = asm.label();
  const near = asm.label();
  asm.ld(0).jump('jeq', 1, t, NEXT).jump('jeq', 2, near, NEXT).jump('jgt', 100, f, NEXT).jump('jeq', 50, near, t);
  filler(asm, 10);
  asm.bind(near).ret(3);
  filler(asm, 300);
  asm.bind(t).ret(1);
  filler(asm, 300);
  asm.bind(f).ret(2);
  const buf = encode(asm.assemble());
  checkFilter(buf);
  const run = (nr: number) => runFilter(buf, { nr, arch: 0 });
  assert.equal(run(1), 1, 'jt far');
  assert.equal(run(2), 3, 'jt near');
  assert.equal(run(101), 2, 'jt far, jf next');
  assert.equal(run(50), 3, 'jt near with jf far');
  assert.equal(run(7), 1, 'jf far');
});

test('bpf: a trampoline that pushes another jump out of range gets that one fixed too', () => {
  // Jumps that are exactly 255 away until an earlier trampoline moves their target by one.
  const asm = new Assembler();
  const targets = Array.from({ length: 4 }, () => asm.label());
  asm.ld(0);
  targets.forEach((l, i) => asm.jump('jeq', i, l, NEXT));
  filler(asm, 252);
  asm.bind(targets[0]!).ret(100);
  filler(asm, 254);
  targets.slice(1).forEach((l, i) => asm.bind(l).ret(101 + i));
  const prog = asm.assemble();
  const buf = encode(prog);
  checkFilter(buf);
  for (let i = 0; i < 4; i++) assert.equal(runFilter(buf, { nr: i, arch: 0 }), 100 + i, `jump ${i}`);
  assert.deepEqual(decode(buf), prog, 'decode inverts encode');
});

test('bpf: backward jumps and unbound labels are assembler errors', () => {
  const asm = new Assembler();
  const l = asm.label();
  asm.bind(l).ld(0).jump('jeq', 1, l, NEXT).ret(0);
  assert.throws(() => asm.assemble(), /backward jump/);
  const asm2 = new Assembler();
  asm2.ja(asm2.label());
  assert.throws(() => asm2.assemble(), /never bound/);
});

test('syscall tables: well-known numbers per architecture', () => {
  const expect: Array<[string, string, number]> = [
    ['SCMP_ARCH_X86_64', 'read', 0],
    ['SCMP_ARCH_X86_64', 'mkdir', 83],
    ['SCMP_ARCH_X86_64', 'clone3', 435],
    ['SCMP_ARCH_X86_64', 'uretprobe', 335],
    ['SCMP_ARCH_X86', 'socketcall', 102],
    ['SCMP_ARCH_X86', 'mkdir', 39],
    ['SCMP_ARCH_X32', 'read', 0x40000000],
    ['SCMP_ARCH_X32', 'rt_sigaction', 0x40000000 + 512],
    ['SCMP_ARCH_AARCH64', 'openat', 56],
    ['SCMP_ARCH_AARCH64', 'clone3', 435],
    ['SCMP_ARCH_ARM', 'cacheflush', 0x0f0002],
    ['SCMP_ARCH_ARM', 'sync_file_range2', 341],
    ['SCMP_ARCH_RISCV64', 'riscv_flush_icache', 259],
    ['SCMP_ARCH_PPC64LE', 'read', 3],
    ['SCMP_ARCH_S390X', 'getpid', 20],
  ];
  for (const [arch, name, nr] of expect) assert.equal(syscallNumber(ARCHES[arch]!, name), nr, `${arch} ${name}`);
  assert.equal(syscallNumber(ARCHES.SCMP_ARCH_X86_64!, 'socketcall'), undefined, 'x86_64 has no socketcall');
  assert.equal(syscallNumber(ARCHES.SCMP_ARCH_AARCH64!, 'open'), undefined, 'aarch64 has only openat');
  // The post-6.1 supplement follows the common numbering everywhere.
  for (const arch of Object.values(ARCHES)) {
    assert.equal(syscallNumber(arch, 'listns'), (470 + arch.nrOffset) >>> 0, `${arch.name} listns`);
    assert.equal(highestOrdinarySyscall(arch), (470 + arch.nrOffset) >>> 0, `${arch.name} highest ordinary number`);
  }
  for (const [name, table] of Object.entries(SYSCALL_TABLES)) assert.ok(Object.keys(table).length > 300, `${name} table is populated`);
});

const CROSS_HEADERS = ['arm-linux-gnueabihf', 'riscv64-linux-gnu', 'powerpc64le-linux-gnu', 's390x-linux-gnu'].map((t) => `/usr/${t}/include/asm/unistd.h`);
const missingHeaders = CROSS_HEADERS.filter((h) => !existsSync(h));

test('syscall tables: the generated module matches the kernel headers on this machine', {
  skip: missingHeaders.length ? `cross headers missing (${missingHeaders.join(', ')}); see scripts/gen-syscall-tables.mjs` : undefined,
}, () => {
  const r = spawnSync(process.execPath, [join(REPO, 'scripts', 'gen-syscall-tables.mjs'), '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});
