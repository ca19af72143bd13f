// Generates src/seccomp/syscall-tables.generated.ts: syscall name -> number for every
// architecture the seccomp compiler supports, read from the kernel's UAPI headers with the C
// preprocessor (so #ifdef'd and aliased numbers come out exactly as a libc for that arch sees
// them), plus the syscalls added after those headers (see SUPPLEMENT below).
//
//   node scripts/gen-syscall-tables.mjs            # writes the module
//   node scripts/gen-syscall-tables.mjs --check    # exits 1 if the module is out of date
//
// x86_64, x86 (i386) and x32 come from the host's linux-libc-dev; aarch64 from the host's
// asm-generic/unistd.h with the __ARCH_WANT_* switches arm64's own asm/unistd.h sets. The
// other architectures need Debian's cross headers:
//   apt-get install linux-libc-dev-armhf-cross linux-libc-dev-riscv64-cross \
//                   linux-libc-dev-ppc64el-cross linux-libc-dev-s390x-cross
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'src', 'seccomp', 'syscall-tables.generated.ts');
const X32_SYSCALL_BIT = 0x40000000;

const HOST_X86 = ['/usr/include/x86_64-linux-gnu', '/usr/include'];
const SOURCES = [
  { table: 'x86_64', include: HOST_X86, header: 'asm/unistd.h', defines: ['__x86_64__', '__LP64__'], pkg: 'linux-libc-dev' },
  { table: 'x86', include: HOST_X86, header: 'asm/unistd.h', defines: ['__i386__'], pkg: 'linux-libc-dev' },
  // x32 numbers carry __X32_SYSCALL_BIT; the table keeps them without it (arches.ts adds it back).
  { table: 'x32', include: HOST_X86, header: 'asm/unistd.h', defines: ['__x86_64__', '__ILP32__'], pkg: 'linux-libc-dev', subtract: X32_SYSCALL_BIT },
  {
    // arm64's asm/unistd.h is exactly these switches followed by asm-generic/unistd.h.
    table: 'aarch64',
    include: HOST_X86,
    header: 'asm-generic/unistd.h',
    defines: ['__x86_64__', '__LP64__', '__ARCH_WANT_RENAMEAT', '__ARCH_WANT_NEW_STAT', '__ARCH_WANT_SET_GET_RLIMIT',
      '__ARCH_WANT_TIME32_SYSCALLS', '__ARCH_WANT_SYS_CLONE3', '__ARCH_WANT_MEMFD_SECRET'],
    pkg: 'linux-libc-dev',
  },
  { table: 'arm', include: ['/usr/arm-linux-gnueabihf/include'], header: 'asm/unistd.h', defines: ['__arm__', '__ARM_EABI__'], pkg: 'linux-libc-dev-armhf-cross' },
  {
    table: 'riscv64',
    include: ['/usr/riscv64-linux-gnu/include'],
    header: 'asm/unistd.h',
    defines: ['__riscv', '__riscv_xlen=64', '__LP64__', '__SIZEOF_POINTER__=8'],
    pkg: 'linux-libc-dev-riscv64-cross',
  },
  // ppc64 and ppc64le share one table (the ABI differs in byte order only).
  { table: 'ppc64', include: ['/usr/powerpc64le-linux-gnu/include'], header: 'asm/unistd.h', defines: ['__powerpc64__', '__LP64__'], pkg: 'linux-libc-dev-ppc64el-cross' },
  { table: 's390x', include: ['/usr/s390x-linux-gnu/include'], header: 'asm/unistd.h', defines: ['__s390x__', '__LP64__'], pkg: 'linux-libc-dev-s390x-cross' },
];

// Syscalls newer than Debian 12's 6.1 headers. Since Linux 5.1 every architecture here numbers
// new syscalls identically (the kernel's scripts/syscall.tbl "common" entries from 424 on), so
// one list serves them all; the arch-specific ones say where they apply. Each number was
// checked against the kernel's syscall tables; a header that knows a name wins, and a header
// that disagrees with this list stops the generator.
const SUPPLEMENT_COMMON = {
  cachestat: 451, fchmodat2: 452, map_shadow_stack: 453, futex_wake: 454, futex_wait: 455, futex_requeue: 456,
  statmount: 457, listmount: 458, lsm_get_self_attr: 459, lsm_set_self_attr: 460, lsm_list_modules: 461, mseal: 462,
  setxattrat: 463, getxattrat: 464, listxattrat: 465, removexattrat: 466, open_tree_attr: 467, file_getattr: 468,
  file_setattr: 469, listns: 470,
};
const SUPPLEMENT_ARCH = {
  x86_64: { uretprobe: 335, uprobe: 336 },
  x32: { uretprobe: 335, uprobe: 336 },
  riscv64: { riscv_hwprobe: 258 },
};

// Macros that look like syscall numbers but are not syscalls.
const NOT_SYSCALLS = new Set(['syscalls', 'arch_specific_syscall', 'SYSCALL_BASE', 'OABI_SYSCALL_BASE', 'SYSCALL_MASK', 'BASE', 'Linux']);

function preprocess(src) {
  const header = src.include.map((d) => join(d, src.header)).find((p) => existsSync(p));
  if (!header) throw new Error(`${src.table}: ${src.header} not found under ${src.include.join(', ')}; apt-get install ${src.pkg}`);
  const args = ['-E', '-dM', '-undef', '-nostdinc', ...src.include.map((d) => `-I${d}`), ...src.defines.map((d) => `-D${d}`), '-'];
  const out = execFileSync('gcc', args, { input: `#include <${src.header}>\n`, encoding: 'utf8' });
  const macros = new Map();
  for (const line of out.split('\n')) {
    const m = /^#define (\w+) (.*)$/.exec(line);
    if (m) macros.set(m[1], m[2].trim());
  }
  return { macros, header };
}

/** Value of a macro: identifiers substituted recursively, then a whitelisted integer expression. */
function evaluate(name, macros, seen = new Set()) {
  if (seen.has(name)) throw new Error(`macro cycle at ${name}`);
  const body = macros.get(name);
  if (body === undefined) return undefined;
  const next = new Set(seen).add(name);
  let unresolved = false;
  const expr = body.replace(/\b[A-Za-z_]\w*\b/g, (id) => {
    const v = evaluate(id, macros, next);
    if (v === undefined) unresolved = true;
    return String(v);
  });
  if (unresolved) return undefined;
  const cleaned = expr.replace(/\b(0x[0-9a-fA-F]+|\d+)[uUlL]*\b/g, '$1');
  if (!/^[\s\d()+\-*|&<>xa-fA-F]*$/.test(cleaned) || !/\d/.test(cleaned)) return undefined;
  // eslint-disable-next-line no-new-func
  return Number(Function(`"use strict"; return (${cleaned});`)());
}

function tableFor(src) {
  const { macros, header } = preprocess(src);
  const table = {};
  for (const macro of macros.keys()) {
    const m = /^__(?:ARM_)?NR_(\w+)$/.exec(macro);
    if (!m || NOT_SYSCALLS.has(m[1]) || m[1].startsWith('3264')) continue;
    const value = evaluate(macro, macros);
    if (value === undefined || !Number.isInteger(value)) continue;
    table[m[1]] = value - (src.subtract ?? 0);
  }
  const supplement = { ...SUPPLEMENT_COMMON, ...(SUPPLEMENT_ARCH[src.table] ?? {}) };
  for (const [name, nr] of Object.entries(supplement)) {
    if (table[name] !== undefined && table[name] !== nr) {
      throw new Error(`${src.table}: ${name} is ${table[name]} in ${header} but ${nr} in the supplement`);
    }
    table[name] = nr;
  }
  if (Object.keys(table).length < 250) throw new Error(`${src.table}: only ${Object.keys(table).length} syscalls found in ${header}`);
  return { table, header };
}

function headerVersion(pkg) {
  try {
    return execFileSync('dpkg-query', ['-W', '-f', '${Version}', pkg], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

function render(results) {
  const lines = [
    '// Generated by scripts/gen-syscall-tables.mjs from the Linux UAPI headers (see the script for',
    '// sources and the post-6.1 supplement). Do not edit by hand: run the script.',
    '',
    '/** Syscall name -> number per table (x32 numbers without __X32_SYSCALL_BIT). */',
    'export const SYSCALL_TABLES = {',
  ];
  for (const { src, table, header } of results) {
    lines.push(`  // ${header} (${src.pkg} ${headerVersion(src.pkg)})`);
    lines.push(`  ${src.table}: {`);
    const entries = Object.entries(table).sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
    let line = '   ';
    for (const [name, nr] of entries) {
      const item = ` ${name}: ${nr},`;
      if (line.length + item.length > 110) {
        lines.push(line);
        line = '   ';
      }
      line += item;
    }
    if (line.trim()) lines.push(line);
    lines.push('  },');
  }
  lines.push('} as const satisfies Record<string, Readonly<Record<string, number>>>;', '');
  lines.push('export type SyscallTableName = keyof typeof SYSCALL_TABLES;', '');
  return lines.join('\n');
}

const results = SOURCES.map((src) => ({ src, ...tableFor(src) }));
const text = render(results);
if (process.argv.includes('--check')) {
  const current = existsSync(OUT) ? readFileSync(OUT, 'utf8') : '';
  if (current !== text) {
    console.error(`${OUT} is out of date: run node scripts/gen-syscall-tables.mjs`);
    process.exit(1);
  }
} else {
  writeFileSync(OUT, text);
  for (const r of results) console.log(`${r.src.table}: ${Object.keys(r.table).length} syscalls from ${r.header}`);
}
