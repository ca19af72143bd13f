/**
 * Runs one nftables transaction: the script goes to `nft -f -` on stdin, which applies it in
 * one netlink batch (all or nothing). Spawning nft is the one shell-out the design allows on
 * the start path (as docker does for iptables); libnftables through the addon could replace it
 * behind this same function.
 */
import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { basename } from 'node:path';
import { BerthError } from '../../core/errors';

/** How to invoke nft: the binary and leading arguments (a test prefixes nsenter to use its namespace). */
export type NftCommand = readonly string[];

const SEARCH = ['/usr/sbin/nft', '/sbin/nft', '/usr/bin/nft', '/bin/nft', '/usr/local/sbin/nft'];

/** The nft binary, or undefined when nftables is not installed. */
export async function findNft(): Promise<string | undefined> {
  for (const p of SEARCH) {
    try {
      await access(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

export interface NftResult {
  stdout: string;
}

/** Runs nft with `args` and `script` on stdin; a failure carries nft's own message. */
export async function runNft(cmd: NftCommand, args: string[], script = ''): Promise<NftResult> {
  return runTool(cmd, args, script, {
    missing: 'install nftables (Debian: apt-get install nftables)',
    failed: 'the firewall was left unchanged (nft applies a transaction whole or not at all)',
  });
}

/** Runs a firewall tool (nft, iptables) with `input` on stdin; its stderr goes into the error. */
export async function runTool(cmd: readonly string[], args: string[], input: string, hints: { missing: string; failed: string }, timeoutMs = 30_000): Promise<NftResult> {
  const [bin, ...pre] = cmd;
  if (!bin) throw new BerthError('EINTERNAL', 'empty nft command');
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [...pre, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(
        new BerthError('EUNSUPPORTED', `cannot run ${bin}: ${e.message}`, {
          hint: hints.missing,
          cause: e,
        }),
      );
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve({ stdout });
      const first = stderr.trim().split('\n').slice(0, 6).join('\n');
      reject(
        new BerthError('ESYSCALL', `${basename(bin)} ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${first || 'no message'}`, {
          hint: hints.failed,
        }),
      );
    });
    child.stdin.on('error', () => undefined); // nft may exit before reading everything; its exit code says why
    child.stdin.end(input);
  });
}

/** Applies a transaction script. */
export async function applyScript(cmd: NftCommand, script: string): Promise<void> {
  await runNft(cmd, ['-f', '-'], script);
}
