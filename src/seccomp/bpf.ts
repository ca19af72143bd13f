/**
 * A small classic-BPF assembler: instructions with symbolic jump targets in, a
 * `struct sock_filter` array out (8 bytes each: u16 code, u8 jt, u8 jf, u32 k, in the host's
 * byte order; see `encode`).
 *
 * Classic BPF jumps only forward, and a conditional jump's targets are 8-bit offsets (at most
 * 255 instructions ahead). When a target is farther, the assembler puts an unconditional
 * `ja` (32-bit offset) right after the conditional jump and points the short offset at it: a
 * "trampoline". Adding trampolines moves code, which can push other jumps out of range, so
 * layout repeats until nothing changes (it converges: a jump never loses its trampoline).
 */

// Opcodes (linux/bpf_common.h): class | size/op | source.
export const BPF_LD_W_ABS = 0x00 | 0x00 | 0x20; // BPF_LD | BPF_W | BPF_ABS
export const BPF_ALU_AND_K = 0x04 | 0x50 | 0x00; // BPF_ALU | BPF_AND | BPF_K
export const BPF_JMP_JA = 0x05 | 0x00; // BPF_JMP | BPF_JA
export const BPF_JMP_JEQ_K = 0x05 | 0x10 | 0x00;
export const BPF_JMP_JGT_K = 0x05 | 0x20 | 0x00;
export const BPF_JMP_JGE_K = 0x05 | 0x30 | 0x00;
export const BPF_JMP_JSET_K = 0x05 | 0x40 | 0x00;
export const BPF_RET_K = 0x06 | 0x00;

export type JumpOp = 'jeq' | 'jgt' | 'jge' | 'jset';
const JUMP_CODES: Record<JumpOp, number> = { jeq: BPF_JMP_JEQ_K, jgt: BPF_JMP_JGT_K, jge: BPF_JMP_JGE_K, jset: BPF_JMP_JSET_K };

/** A jump target: a label, or NEXT (fall through to the instruction that follows). */
export type Label = { readonly id: number };
export const NEXT: unique symbol = Symbol('next');
export type Target = Label | typeof NEXT;

export interface SockFilter {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

type Node =
  | { kind: 'label'; label: Label }
  | { kind: 'plain'; code: number; k: number }
  | { kind: 'ja'; target: Label }
  | { kind: 'cond'; code: number; k: number; jt: Target; jf: Target; farT: boolean; farF: boolean };

export class BpfError extends Error {}

export class Assembler {
  private readonly nodes: Node[] = [];
  private labels = 0;

  label(): Label {
    return { id: this.labels++ };
  }

  bind(label: Label): this {
    this.nodes.push({ kind: 'label', label });
    return this;
  }

  /** A = u32 at offset k of seccomp_data. */
  ld(offset: number): this {
    this.nodes.push({ kind: 'plain', code: BPF_LD_W_ABS, k: offset });
    return this;
  }

  and(mask: number): this {
    this.nodes.push({ kind: 'plain', code: BPF_ALU_AND_K, k: mask >>> 0 });
    return this;
  }

  ret(value: number): this {
    this.nodes.push({ kind: 'plain', code: BPF_RET_K, k: value >>> 0 });
    return this;
  }

  ja(target: Label): this {
    this.nodes.push({ kind: 'ja', target });
    return this;
  }

  /** if (A op k) goto jt else goto jf (unsigned comparisons; jset tests A & k != 0). */
  jump(op: JumpOp, k: number, jt: Target, jf: Target): this {
    this.nodes.push({ kind: 'cond', code: JUMP_CODES[op], k: k >>> 0, jt, jf, farT: false, farF: false });
    return this;
  }

  assemble(): SockFilter[] {
    for (;;) {
      const { labels, nodes } = this.layout();
      let changed = false;
      this.nodes.forEach((node, i) => {
        if (node.kind !== 'cond') return;
        // Offsets count from the instruction after the conditional jump.
        const after = nodes[i]! + 1;
        if (!node.farT && node.jt !== NEXT && this.distance(labels, node.jt, after) > 255) node.farT = changed = true;
        if (!node.farF && node.jf !== NEXT && this.distance(labels, node.jf, after) > 255) node.farF = changed = true;
      });
      if (!changed) return this.emit(labels);
    }
  }

  /** Position of every label and node, with the current trampoline choices. */
  private layout(): { labels: Map<number, number>; nodes: number[] } {
    const labels = new Map<number, number>();
    const nodes: number[] = [];
    let pos = 0;
    for (const node of this.nodes) {
      nodes.push(pos);
      if (node.kind === 'label') {
        if (labels.has(node.label.id)) throw new BpfError(`label ${node.label.id} bound twice`);
        labels.set(node.label.id, pos);
      } else if (node.kind === 'cond') pos += 1 + Number(node.farT) + Number(node.farF);
      else pos += 1;
    }
    return { labels, nodes };
  }

  private distance(positions: Map<number, number>, target: Label, from: number): number {
    const at = positions.get(target.id);
    if (at === undefined) throw new BpfError(`label ${target.id} is never bound`);
    const d = at - from;
    if (d < 0) throw new BpfError(`backward jump to label ${target.id} (classic BPF jumps only forward)`);
    return d;
  }

  private emit(positions: Map<number, number>): SockFilter[] {
    const out: SockFilter[] = [];
    for (const node of this.nodes) {
      const pos = out.length;
      switch (node.kind) {
        case 'label':
          break;
        case 'plain':
          out.push({ code: node.code, jt: 0, jf: 0, k: node.k });
          break;
        case 'ja':
          out.push({ code: BPF_JMP_JA, jt: 0, jf: 0, k: this.distance(positions, node.target, pos + 1) });
          break;
        case 'cond': {
          const trampolines = Number(node.farT) + Number(node.farF);
          const next = pos + 1 + trampolines;
          const offset = (t: Target): number => (t === NEXT ? next - (pos + 1) : this.distance(positions, t, pos + 1));
          const jt = node.farT ? 0 : offset(node.jt);
          const jf = node.farF ? (node.farT ? 1 : 0) : offset(node.jf);
          if (jt > 255 || jf > 255) throw new BpfError('conditional jump out of range after layout');
          out.push({ code: node.code, jt, jf, k: node.k });
          if (node.farT) out.push({ code: BPF_JMP_JA, jt: 0, jf: 0, k: this.distance(positions, node.jt as Label, out.length + 1) });
          if (node.farF) out.push({ code: BPF_JMP_JA, jt: 0, jf: 0, k: this.distance(positions, node.jf as Label, out.length + 1) });
          break;
        }
      }
    }
    return out;
  }
}

/** The raw `struct sock_filter` array in the host's byte order (what seccomp(2) reads). */
export function encode(program: readonly SockFilter[], bigEndian = false): Buffer {
  const buf = Buffer.alloc(program.length * 8);
  program.forEach((ins, i) => {
    const o = i * 8;
    if (bigEndian) {
      buf.writeUInt16BE(ins.code, o);
      buf.writeUInt32BE(ins.k >>> 0, o + 4);
    } else {
      buf.writeUInt16LE(ins.code, o);
      buf.writeUInt32LE(ins.k >>> 0, o + 4);
    }
    buf.writeUInt8(ins.jt, o + 2);
    buf.writeUInt8(ins.jf, o + 3);
  });
  return buf;
}

export function decode(buf: Buffer, bigEndian = false): SockFilter[] {
  if (buf.length % 8 !== 0) throw new BpfError(`a sock_filter array is a multiple of 8 bytes, not ${buf.length}`);
  const out: SockFilter[] = [];
  for (let o = 0; o < buf.length; o += 8) {
    out.push({
      code: bigEndian ? buf.readUInt16BE(o) : buf.readUInt16LE(o),
      jt: buf.readUInt8(o + 2),
      jf: buf.readUInt8(o + 3),
      k: bigEndian ? buf.readUInt32BE(o + 4) : buf.readUInt32LE(o + 4),
    });
  }
  return out;
}
