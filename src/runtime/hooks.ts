/**
 * Runs OCI hooks in the runtime namespace: prestart, createRuntime, poststart, poststop.
 * (createContainer and startContainer run inside the container's namespaces and are
 * executed by berth-init.) Each hook gets the container state on stdin, its own args
 * (args[0] is argv[0], as in execv) and env, and is killed when its timeout expires.
 */
import { spawn } from 'node:child_process';
import { BerthError } from '../core/errors';
import type { Hook, Hooks } from '../spec/types';

export type HookKind = keyof Hooks;

export async function runHook(kind: HookKind, index: number, hook: Hook, stateJson: string, cwd?: string): Promise<void> {
  const args = hook.args && hook.args.length > 0 ? hook.args : [hook.path];
  const env: Record<string, string> = {};
  for (const kv of hook.env ?? []) {
    const eq = kv.indexOf('=');
    if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const where = `hooks.${kind}[${index}] (${hook.path})`;
  await new Promise<void>((resolve, reject) => {
    const child = spawn(hook.path, args.slice(1), {
      argv0: args[0],
      env,
      ...(cwd ? { cwd } : {}),
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    let timedOut = false;
    const timer =
      hook.timeout !== undefined && hook.timeout > 0
        ? setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, hook.timeout * 1000)
        : undefined;
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      if (stderr.length < 4096) stderr += d;
    });
    child.stdin!.on('error', () => {
      /* a hook that does not read its stdin is fine */
    });
    child.stdin!.end(stateJson);
    child.on('error', (err) => {
      if (timer) clearTimeout(timer);
      reject(new BerthError('EHOOK', `${where}: cannot run: ${err.message}`, { cause: err, hint: 'check that the hook path exists and is executable' }));
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (timedOut) {
        reject(new BerthError('EHOOK', `${where}: timed out after ${hook.timeout}s and was killed`));
      } else if (code !== 0) {
        const why = signal ? `killed by ${signal}` : `exit status ${code}`;
        const tail = stderr.trim() ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : '';
        reject(new BerthError('EHOOK', `${where}: ${why}${tail}`));
      } else {
        resolve();
      }
    });
  });
}

/** Runs every hook of `kind` in order; the first failure stops the sequence. */
/** `cwd`: the hooks' working directory (default ours); runc runs create's hooks in the bundle. */
export async function runHooks(hooks: Hooks | undefined, kind: HookKind, stateJson: string, cwd?: string): Promise<void> {
  const list = hooks?.[kind] ?? [];
  for (let i = 0; i < list.length; i++) await runHook(kind, i, list[i]!, stateJson, cwd);
}

/** Runs every hook of `kind`, reporting failures through `warn` instead of stopping (poststart, poststop). */
export async function runHooksBestEffort(
  hooks: Hooks | undefined,
  kind: HookKind,
  stateJson: string,
  warn: (msg: string) => void,
): Promise<void> {
  const list = hooks?.[kind] ?? [];
  for (let i = 0; i < list.length; i++) {
    try {
      await runHook(kind, i, list[i]!, stateJson);
    } catch (e) {
      warn(e instanceof Error ? e.message : String(e));
    }
  }
}
