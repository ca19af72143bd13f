/**
 * Argument comparisons. seccomp_data.args[i] is a u64, but classic BPF loads 32-bit words, so
 * a 64-bit comparison is done on the high word first and decided on the low word only when
 * the high words are equal. Comparing the low word alone on a 64-bit ABI would let a caller
 * defeat a rule by setting high bits (e.g. "deny if arg == 5" with 0x1_0000_0005).
 *
 * On 32-bit ABIs the kernel uses only the low word, so only that is compared, against the
 * 64-bit datum with exact semantics (a datum >= 2^32 can never equal a 32-bit value, etc.).
 */
import type { SeccompOperator } from '../spec/types';
import { NEXT, type Assembler, type Label } from './bpf';
import { SECCOMP_DATA_ARGS } from './constants';
import type { ArgCondition } from './profile';

const U32 = 0xffffffffn;
const U64_MAX = (1n << 64n) - 1n;

/** A comparison that survived constant folding, with everything as plain u32 words. */
export interface ArgTest {
  index: number;
  op: SeccompOperator;
  /** 64: compare hi then lo; 32: compare lo only. */
  bits: 32 | 64;
  hi: number;
  lo: number;
  maskHi: number;
  maskLo: number;
}

/** Folds a condition for an ABI: always true, never true, or a test to emit. */
export function foldCondition(c: ArgCondition, bits: 32 | 64): 'always' | 'never' | ArgTest {
  const max = bits === 64 ? U64_MAX : U32;
  const datum = c.op === 'SCMP_CMP_MASKED_EQ' ? c.valueTwo : c.value;
  const mask = c.op === 'SCMP_CMP_MASKED_EQ' ? c.value & max : max;
  const test = (): ArgTest => ({
    index: c.index,
    op: c.op,
    bits,
    hi: Number((datum >> 32n) & U32),
    lo: Number(datum & U32),
    maskHi: Number((mask >> 32n) & U32),
    maskLo: Number(mask & U32),
  });
  switch (c.op) {
    case 'SCMP_CMP_EQ':
      return datum > max ? 'never' : test();
    case 'SCMP_CMP_NE':
      return datum > max ? 'always' : test();
    case 'SCMP_CMP_GT':
      return datum >= max ? 'never' : test();
    case 'SCMP_CMP_GE':
      return datum === 0n ? 'always' : datum > max ? 'never' : test();
    case 'SCMP_CMP_LT':
      return datum === 0n ? 'never' : datum > max ? 'always' : test();
    case 'SCMP_CMP_LE':
      return datum >= max ? 'always' : test();
    case 'SCMP_CMP_MASKED_EQ':
      // (arg & mask) == datum can only hold when the datum has no bits outside the mask.
      if ((datum & ~mask) !== 0n) return 'never';
      return mask === 0n ? 'always' : test();
  }
}

/** A stable text for a test, so identical rule chains can share code. */
export function testKey(t: ArgTest): string {
  return `${t.index}:${t.op}:${t.bits}:${t.hi}:${t.lo}:${t.maskHi}:${t.maskLo}`;
}

export function argOffsets(index: number, bigEndian: boolean): { lo: number; hi: number } {
  const base = SECCOMP_DATA_ARGS + 8 * index;
  return bigEndian ? { hi: base, lo: base + 4 } : { lo: base, hi: base + 4 };
}

/**
 * Emits code that falls through when the test holds and jumps to `fail` when it does not.
 * It clobbers the accumulator.
 */
export function emitTest(asm: Assembler, t: ArgTest, bigEndian: boolean, fail: Label): void {
  const { lo, hi } = argOffsets(t.index, bigEndian);
  if (t.bits === 32) {
    asm.ld(lo);
    emitWord(asm, t.op, t.lo, t.maskLo, NEXT, fail);
    return;
  }
  const ok = asm.label();
  switch (t.op) {
    case 'SCMP_CMP_EQ':
      asm.ld(hi).jump('jeq', t.hi, NEXT, fail);
      asm.ld(lo).jump('jeq', t.lo, NEXT, fail);
      break;
    case 'SCMP_CMP_MASKED_EQ':
      if (t.maskHi !== 0) asm.ld(hi).and(t.maskHi).jump('jeq', t.hi, NEXT, fail);
      // maskHi == 0: the high word is irrelevant (the datum's high word is 0, see foldCondition).
      if (t.maskLo !== 0) {
        asm.ld(lo);
        if (t.maskLo !== 0xffffffff) asm.and(t.maskLo);
        asm.jump('jeq', t.lo, NEXT, fail);
      }
      break;
    case 'SCMP_CMP_NE':
      asm.ld(hi).jump('jeq', t.hi, NEXT, ok);
      asm.ld(lo).jump('jeq', t.lo, fail, NEXT);
      break;
    case 'SCMP_CMP_GT':
    case 'SCMP_CMP_GE':
      // hi > dh: holds; hi < dh: fails; equal: decided by the low word.
      asm.ld(hi).jump('jgt', t.hi, ok, NEXT).jump('jeq', t.hi, NEXT, fail);
      asm.ld(lo).jump(t.op === 'SCMP_CMP_GT' ? 'jgt' : 'jge', t.lo, NEXT, fail);
      break;
    case 'SCMP_CMP_LT':
    case 'SCMP_CMP_LE':
      asm.ld(hi).jump('jgt', t.hi, fail, NEXT).jump('jeq', t.hi, NEXT, ok);
      // LT fails on lo >= dl, LE on lo > dl.
      asm.ld(lo).jump(t.op === 'SCMP_CMP_LT' ? 'jge' : 'jgt', t.lo, fail, NEXT);
      break;
  }
  asm.bind(ok);
}

/** One 32-bit word already in A: fall through (pass) when `A op k` holds, else jump to fail. */
function emitWord(asm: Assembler, op: SeccompOperator, k: number, mask: number, pass: typeof NEXT, fail: Label): void {
  switch (op) {
    case 'SCMP_CMP_EQ':
      asm.jump('jeq', k, pass, fail);
      break;
    case 'SCMP_CMP_NE':
      asm.jump('jeq', k, fail, pass);
      break;
    case 'SCMP_CMP_GT':
      asm.jump('jgt', k, pass, fail);
      break;
    case 'SCMP_CMP_GE':
      asm.jump('jge', k, pass, fail);
      break;
    case 'SCMP_CMP_LT':
      asm.jump('jge', k, fail, pass);
      break;
    case 'SCMP_CMP_LE':
      asm.jump('jgt', k, fail, pass);
      break;
    case 'SCMP_CMP_MASKED_EQ':
      if (mask !== 0xffffffff) asm.and(mask);
      asm.jump('jeq', k, pass, fail);
      break;
  }
}
