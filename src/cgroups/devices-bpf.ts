/**
 * cgroup v2 has no devices.allow file: device access is decided by an eBPF program of type
 * BPF_PROG_TYPE_CGROUP_DEVICE attached to the cgroup. This module turns OCI device rules into
 * that program's instructions (a pure function, so it is unit-tested by decoding/executing the
 * bytes); loading and attaching is done by native/sys/bpf.c.
 *
 * The program sees struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; } where
 * access_type = (access << 16) | type. Rules keep v1 semantics: everything is denied first and
 * the LAST matching rule wins, so the program tests the rules in reverse order and returns on
 * the first match. An allow rule matches when every requested access bit is in the rule; a deny
 * rule matches when any requested bit is in the rule.
 */
import type { NormalizedDeviceRule } from './devices';

export const BPF_DEVCG_DEV_BLOCK = 1;
export const BPF_DEVCG_DEV_CHAR = 2;
export const BPF_DEVCG_ACC_MKNOD = 1;
export const BPF_DEVCG_ACC_READ = 2;
export const BPF_DEVCG_ACC_WRITE = 4;

/** The opcodes the generator uses (class | op | source), as in linux/bpf.h. */
export const OP = {
  LDXW: 0x61, // BPF_LDX | BPF_MEM | BPF_W
  AND64_IMM: 0x57, // BPF_ALU64 | BPF_AND | BPF_K
  RSH64_IMM: 0x77, // BPF_ALU64 | BPF_RSH | BPF_K
  MOV64_IMM: 0xb7, // BPF_ALU64 | BPF_MOV | BPF_K
  MOV64_REG: 0xbf, // BPF_ALU64 | BPF_MOV | BPF_X
  JEQ_IMM: 0x15, // BPF_JMP | BPF_JEQ | BPF_K
  JNE_IMM: 0x55, // BPF_JMP | BPF_JNE | BPF_K
  JSET_IMM: 0x45, // BPF_JMP | BPF_JSET | BPF_K
  EXIT: 0x95, // BPF_JMP | BPF_EXIT
} as const;

export interface BpfInsn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

const insn = (code: number, dst: number, src: number, off: number, imm: number): BpfInsn => ({ code, dst, src, off, imm });

// Registers after the prologue: r2 = device type, r3 = requested access, r4 = major, r5 = minor.
const R_TYPE = 2;
const R_ACCESS = 3;
const R_MAJOR = 4;
const R_MINOR = 5;

export function accessMask(access: string): number {
  let m = 0;
  if (access.includes('r')) m |= BPF_DEVCG_ACC_READ;
  if (access.includes('w')) m |= BPF_DEVCG_ACC_WRITE;
  if (access.includes('m')) m |= BPF_DEVCG_ACC_MKNOD;
  return m;
}

const ALL_ACCESS = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;

/** One rule as a block that either returns its verdict or jumps past its own end. */
function ruleBlock(rule: NormalizedDeviceRule): { insns: BpfInsn[]; unconditional: boolean } {
  const tests: Array<(skip: number) => BpfInsn[]> = [];
  if (rule.type !== 'a') {
    const t = rule.type === 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;
    tests.push((skip) => [insn(OP.JNE_IMM, R_TYPE, 0, skip, t)]);
  }
  const mask = accessMask(rule.access);
  if (rule.allow && mask !== ALL_ACCESS) {
    // Requested bits outside the rule -> not this rule.
    tests.push((skip) => [insn(OP.JSET_IMM, R_ACCESS, 0, skip, ALL_ACCESS & ~mask)]);
  } else if (!rule.allow && mask !== ALL_ACCESS) {
    // No requested bit inside the rule -> not this rule. r1 (the context) is free after the prologue.
    tests.push((skip) => [insn(OP.MOV64_REG, 1, R_ACCESS, 0, 0), insn(OP.AND64_IMM, 1, 0, 0, mask), insn(OP.JEQ_IMM, 1, 0, skip, 0)]);
  }
  if (rule.major !== undefined) tests.push((skip) => [insn(OP.JNE_IMM, R_MAJOR, 0, skip, rule.major!)]);
  if (rule.minor !== undefined) tests.push((skip) => [insn(OP.JNE_IMM, R_MINOR, 0, skip, rule.minor!)]);
  const verdict = [insn(OP.MOV64_IMM, 0, 0, 0, rule.allow ? 1 : 0), insn(OP.EXIT, 0, 0, 0, 0)];
  // Each test jumps (from its last instruction) to the end of this block when it fails.
  const total = tests.reduce((n, t) => n + t(0).length, 0) + verdict.length;
  const out: BpfInsn[] = [];
  for (const t of tests) {
    const last = out.length + t(0).length - 1;
    out.push(...t(total - last - 1));
  }
  return { insns: [...out, ...verdict], unconditional: tests.length === 0 };
}

/** The whole program: prologue, rules last-to-first, then deny. */
export function deviceFilterProgram(rules: NormalizedDeviceRule[]): BpfInsn[] {
  const prologue = [
    insn(OP.LDXW, R_TYPE, 1, 0, 0),
    insn(OP.AND64_IMM, R_TYPE, 0, 0, 0xffff),
    insn(OP.LDXW, R_ACCESS, 1, 0, 0),
    insn(OP.RSH64_IMM, R_ACCESS, 0, 0, 16),
    insn(OP.LDXW, R_MAJOR, 1, 4, 0),
    insn(OP.LDXW, R_MINOR, 1, 8, 0),
  ];
  const body: BpfInsn[] = [];
  for (const r of [...rules].reverse()) {
    const block = ruleBlock(r);
    body.push(...block.insns);
    // A rule that matches everything makes the rest unreachable, which the verifier rejects.
    if (block.unconditional) return [...prologue, ...body];
  }
  return [...prologue, ...body, insn(OP.MOV64_IMM, 0, 0, 0, 0), insn(OP.EXIT, 0, 0, 0, 0)];
}

/** struct bpf_insn bytes (little-endian, as on every architecture Berth builds for). */
export function encodeProgram(prog: BpfInsn[]): Buffer {
  const buf = Buffer.alloc(prog.length * 8);
  prog.forEach((p, i) => {
    buf.writeUInt8(p.code, i * 8);
    buf.writeUInt8((p.src << 4) | (p.dst & 0x0f), i * 8 + 1);
    buf.writeInt16LE(p.off, i * 8 + 2);
    buf.writeInt32LE(p.imm, i * 8 + 4);
  });
  return buf;
}

export function decodeProgram(buf: Buffer): BpfInsn[] {
  const out: BpfInsn[] = [];
  for (let i = 0; i + 8 <= buf.length; i += 8) {
    const regs = buf.readUInt8(i + 1);
    out.push({ code: buf.readUInt8(i), dst: regs & 0x0f, src: regs >> 4, off: buf.readInt16LE(i + 2), imm: buf.readInt32LE(i + 4) });
  }
  return out;
}
