/** Fixtures shared by the snapshotter tests: layer builders, a private state root per test, sample layers. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chainIdOf, type Snapshotter } from '../../../src/snapshots';
import { isBerthError } from '../../../src/core/errors';
import { MNT_DETACH, sys } from '../../../src/sys';
import { tempDir } from '../../helpers/rootfs';
import { leftoverMounts, MTIME, streamOf, tarOf, type EntrySpec } from '../../helpers/layers';

export type OpenSnapshotter = (root: string) => Snapshotter;

export function digestOf(buf: Buffer): string {
  return `sha256:${createHash('sha256').update(buf).digest('hex')}`;
}

/** Unpacks a layer built from `entries` over `parent`; returns its chain id. */
export async function addLayer(s: Snapshotter, parent: string | undefined, entries: EntrySpec[]): Promise<string> {
  const tar = await tarOf(entries);
  const diffId = digestOf(tar);
  const chainId = chainIdOf(parent, diffId);
  const staging = await s.beginLayer({ chainId, parentChainId: parent, diffId });
  await staging.apply(streamOf(tar));
  await staging.commit();
  return chainId;
}

export async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Runs `fn` with a fresh state root; fails if a mount is left under it, and never leaks one. */
export async function withRoot(name: string, open: OpenSnapshotter, fn: (s: Snapshotter, root: string) => Promise<void>): Promise<void> {
  const t = tempDir(name);
  try {
    await fn(open(t.path), t.path);
    assert.deepEqual(leftoverMounts(t.path), [], 'no mount may be left under the test root');
  } finally {
    for (const m of leftoverMounts(t.path).reverse()) sys().umount(m, MNT_DETACH);
    t.cleanup();
  }
}

export function expectCode(e: unknown, code: string): true {
  assert.ok(isBerthError(e), String(e));
  assert.equal(e.code, code, e.message);
  return true;
}

export const BIN = Buffer.from([0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff, 0x20, 0x3d, 0x0a]);

/** A layer with every entry type and the metadata that must survive. */
export const EVERYTHING: EntrySpec[] = [
  { name: 'etc/', mode: 0o755 },
  { name: 'etc/passwd', content: 'root:x:0:0::/root:/bin/sh\n', mode: 0o644, mtime: MTIME + 1 },
  { name: 'etc/shadow', content: 'secret', mode: 0o640, uid: 0, gid: 42 },
  { name: 'usr/bin/su', content: 'su binary', mode: 0o4755 },
  { name: 'usr/bin/wall', content: 'wall binary', mode: 0o2755, gid: 5 },
  { name: 'usr/bin/ping', content: 'ping', mode: 0o755, xattrs: { 'security.capability': Buffer.from('0100000200200000000000000000000000000000', 'hex') } },
  { name: 'tmp/', mode: 0o1777 },
  { name: 'home/user/', mode: 0o700, uid: 1000, gid: 1000, mtime: MTIME + 7 },
  { name: 'home/user/.profile', content: 'export A=1', mode: 0o600, uid: 1000, gid: 1000 },
  { name: 'bin/busybox', content: 'busybox', mode: 0o755 },
  { name: 'bin/sh', type: 'symlink', linkname: 'busybox', mtime: MTIME + 3 },
  { name: 'bin/ash', type: 'link', linkname: 'bin/busybox' },
  { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
  { name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0, mode: 0o660, gid: 6 },
  { name: 'run/fifo', type: 'fifo', mode: 0o600 },
  { name: 'data/bin', content: 'x', xattrs: { 'user.berth.text': 'hello', 'trusted.berth.bin': BIN } },
  { name: `deep/${'long-directory-name/'.repeat(8)}file-with-a-long-name-${'x'.repeat(120)}`, content: 'long' },
  { name: 'unicode/naïve-ファイル', content: 'utf8' },
  { name: 'big-ids', content: 'ids', uid: 3_000_000, gid: 4_000_000 },
];

