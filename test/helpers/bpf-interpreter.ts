/**
 * A classic-BPF interpreter for seccomp filters, written independently of src/seccomp so that
 * the tests check the compiler's output against the kernel's rules rather than against itself.
 * `checkFilter` applies the checks the kernel makes when a filter is loaded (bpf_check_classic
 * and seccomp_check_filter); `runFilter` executes it over one seccomp_data.
 */

export interface SeccompData {
  nr: number;
  arch: number;
  instructionPointer?: bigint;
  /** Up to six arguments; numbers must be exact (use bigint above 2^53). */
  args?: ReadonlyArray<number | bigint>;
}

interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

const BPF_MAXINSNS = 4096;
const SECCOMP_DATA_SIZE = 64;

// Opcodes the seccomp checker accepts that our compiler may emit (and a few it does not).
const LD_W_ABS = 0x20;
const LDX_IMM = 0x01;
const LD_IMM = 0x00;
const ALU_AND_K = 0x54;
const ALU_OR_K = 0x44;
const ALU_RSH_K = 0x74;
const JA = 0x05;
const JEQ_K = 0x15;
const JGT_K = 0x25;
const JGE_K = 0x35;
const JSET_K = 0x45;
const JEQ_X = 0x1d;
const RET_K = 0x06;
const RET_A = 0x16;
const TAX = 0x07;
const TXA = 0x87;

function decodeFilter(buf: Buffer, bigEndian: boolean): Insn[] {
  if (buf.length % 8 !== 0) throw new Error(`filter length ${buf.length} is not a multiple of 8`);
  const out: Insn[] = [];
  for (let o = 0; o < buf.length; o += 8) {
    out.push({
      code: bigEndian ? buf.readUInt16BE(o) : buf.readUInt16LE(o),
      jt: buf[o + 2]!,
      jf: buf[o + 3]!,
      k: bigEndian ? buf.readUInt32BE(o + 4) : buf.readUInt32LE(o + 4),
    });
  }
  return out;
}

/** Throws if the kernel would refuse to load this filter. Returns the instruction count. */
export function checkFilter(buf: Buffer, bigEndian = false): number {
  const prog = decodeFilter(buf, bigEndian);
  if (prog.length === 0 || prog.length > BPF_MAXINSNS) throw new Error(`filter has ${prog.length} instructions (1..${BPF_MAXINSNS} allowed)`);
  prog.forEach((ins, pc) => {
    switch (ins.code) {
      case LD_W_ABS:
        if (ins.k >= SECCOMP_DATA_SIZE || ins.k % 4 !== 0) throw new Error(`pc ${pc}: ld [${ins.k}] outside seccomp_data or unaligned`);
        break;
      case JA:
        if (pc + 1 + ins.k >= prog.length) throw new Error(`pc ${pc}: ja +${ins.k} leaves the program`);
        break;
      case JEQ_K:
      case JGT_K:
      case JGE_K:
      case JSET_K:
      case JEQ_X:
        if (pc + 1 + ins.jt >= prog.length || pc + 1 + ins.jf >= prog.length) throw new Error(`pc ${pc}: conditional jump leaves the program`);
        break;
      case LD_IMM:
      case LDX_IMM:
      case ALU_AND_K:
      case ALU_OR_K:
      case ALU_RSH_K:
      case RET_K:
      case RET_A:
      case TAX:
      case TXA:
        break;
      default:
        throw new Error(`pc ${pc}: opcode 0x${ins.code.toString(16)} not accepted by this checker`);
    }
  });
  const last = prog[prog.length - 1]!;
  if (last.code !== RET_K && last.code !== RET_A) throw new Error('the last instruction is not a return');
  return prog.length;
}

function seccompDataBuffer(d: SeccompData, bigEndian: boolean): Buffer {
  const b = Buffer.alloc(SECCOMP_DATA_SIZE);
  const w32 = (v: number, o: number) => (bigEndian ? b.writeUInt32BE(v >>> 0, o) : b.writeUInt32LE(v >>> 0, o));
  const w64 = (v: bigint, o: number) => (bigEndian ? b.writeBigUInt64BE(v, o) : b.writeBigUInt64LE(v, o));
  w32(d.nr, 0);
  w32(d.arch, 4);
  w64(d.instructionPointer ?? 0n, 8);
  (d.args ?? []).forEach((a, i) => {
    const v = typeof a === 'bigint' ? a : BigInt(a);
    w64(BigInt.asUintN(64, v), 16 + 8 * i);
  });
  return b;
}

export interface RunResult {
  ret: number;
  /** Instructions executed (a measure of dispatch cost). */
  steps: number;
}

/** Runs the filter over one syscall; the filter must pass checkFilter. */
export function runFilterDetailed(filter: Buffer, data: SeccompData, bigEndian = false): RunResult {
  const prog = decodeFilter(filter, bigEndian);
  const mem = seccompDataBuffer(data, bigEndian);
  let A = 0;
  let X = 0;
  let pc = 0;
  let steps = 0;
  for (;;) {
    const ins = prog[pc];
    if (!ins) throw new Error(`fell off the program at pc ${pc}`);
    steps++;
    if (steps > prog.length) throw new Error('executed more instructions than the program has: a backward jump?');
    switch (ins.code) {
      case LD_W_ABS:
        A = bigEndian ? mem.readUInt32BE(ins.k) : mem.readUInt32LE(ins.k);
        pc++;
        break;
      case LD_IMM:
        A = ins.k;
        pc++;
        break;
      case LDX_IMM:
        X = ins.k;
        pc++;
        break;
      case ALU_AND_K:
        A = (A & ins.k) >>> 0;
        pc++;
        break;
      case ALU_OR_K:
        A = (A | ins.k) >>> 0;
        pc++;
        break;
      case ALU_RSH_K:
        A = A >>> ins.k;
        pc++;
        break;
      case TAX:
        X = A;
        pc++;
        break;
      case TXA:
        A = X;
        pc++;
        break;
      case JA:
        pc += 1 + ins.k;
        break;
      case JEQ_K:
        pc += 1 + (A === ins.k ? ins.jt : ins.jf);
        break;
      case JEQ_X:
        pc += 1 + (A === X ? ins.jt : ins.jf);
        break;
      case JGT_K:
        pc += 1 + (A > ins.k ? ins.jt : ins.jf);
        break;
      case JGE_K:
        pc += 1 + (A >= ins.k ? ins.jt : ins.jf);
        break;
      case JSET_K:
        pc += 1 + ((A & ins.k) >>> 0 !== 0 ? ins.jt : ins.jf);
        break;
      case RET_K:
        return { ret: ins.k >>> 0, steps };
      case RET_A:
        return { ret: A >>> 0, steps };
      default:
        throw new Error(`pc ${pc}: unknown opcode 0x${ins.code.toString(16)}`);
    }
  }
}

export function runFilter(filter: Buffer, data: SeccompData, bigEndian = false): number {
  return runFilterDetailed(filter, data, bigEndian).ret;
}

/** "ALLOW", "ERRNO(1)", "KILL_PROCESS", ... for readable assertions. */
export function describeRet(ret: number): string {
  const action = (ret & 0xffff0000) >>> 0;
  const data = ret & 0xffff;
  switch (action) {
    case 0x80000000:
      return 'KILL_PROCESS';
    case 0x00000000:
      return 'KILL_THREAD';
    case 0x00030000:
      return `TRAP(${data})`;
    case 0x00050000:
      return `ERRNO(${data})`;
    case 0x7fc00000:
      return 'NOTIFY';
    case 0x7ff00000:
      return `TRACE(${data})`;
    case 0x7ffc0000:
      return 'LOG';
    case 0x7fff0000:
      return 'ALLOW';
    default:
      return `0x${ret.toString(16)}`;
  }
}
