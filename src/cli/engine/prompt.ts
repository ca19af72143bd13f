/**
 * The y/N confirmation docker asks before destructive prunes. Without a terminal on stdin
 * (scripts, CI) the answer is "no", so nothing is removed by accident; -f skips the question.
 */
import { readSync } from 'node:fs';
import type { CliEnv } from './env';

export async function confirm(env: CliEnv, question: string): Promise<boolean> {
  env.out.write(question);
  if (!process.stdin.isTTY) {
    env.out.write('\n');
    return false;
  }
  const buf = Buffer.alloc(64);
  let answer = '';
  for (;;) {
    let n = 0;
    try {
      n = readSync(0, buf, 0, buf.length, null);
    } catch {
      break;
    }
    if (n <= 0) break;
    answer += buf.subarray(0, n).toString('utf8');
    if (answer.includes('\n')) break;
  }
  return /^\s*y(es)?\s*$/i.test(answer.split('\n')[0] ?? '');
}
