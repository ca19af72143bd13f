/**
 * Entry points for untrusted OCI documents: validateConfig (config.json), validateProcess
 * (`exec --process`) and loadBundle (a bundle directory). Every problem found is reported at
 * once, one line per problem as `<json path>: <rule>`, so a user fixes a config in one round.
 */
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { ZodIssue } from 'zod';
import { BerthError, errnoCode } from '../core/errors';
import type { Process, RuntimeConfig } from './types';
import { configSchema, processOnlySchema } from './schema';
import { configIssues, processIssues } from './semantic';
import { formatJsonPath, type Issue, type JsonPath } from './json-path';
import { JsonSyntaxError, parseJson } from './json-syntax';

const CONFIG_HINT = 'fix the fields listed above; `berth-runtime spec` writes a valid config.json to compare with';
const PROCESS_HINT = 'pass a JSON object shaped like the "process" object of config.json (args, cwd and user are required)';

export function validateConfig(json: unknown, where = 'config.json'): RuntimeConfig {
  const parsed = configSchema.safeParse(json);
  // Cross-field rules need a well-formed document, so they run only after the structural pass.
  const issues = parsed.success ? configIssues(parsed.data) : parsed.error.issues.map(fromZod);
  if (issues.length > 0) throw invalid(where, issues, CONFIG_HINT);
  return parsed.data!;
}

/** Validates a process object on its own; paths in messages are relative to that object. */
export function validateProcess(json: unknown, where = 'process'): Process {
  const parsed = processOnlySchema.safeParse(json);
  const issues = parsed.success ? processIssues(parsed.data, []) : parsed.error.issues.map(fromZod);
  if (issues.length > 0) throw invalid(where, issues, PROCESS_HINT, 'process');
  return parsed.data!;
}

export function loadBundle(bundle: string): { config: RuntimeConfig; bundle: string; rootfs: string } {
  const dir = resolve(bundle);
  const st = statOrUndefined(dir);
  if (!st) {
    throw new BerthError('ENOT_FOUND', `bundle directory ${dir} does not exist`, {
      hint: 'pass --bundle DIR pointing at a directory holding config.json and the root filesystem',
    });
  }
  if (!st.isDirectory()) {
    throw new BerthError('EINVALID_ARGUMENT', `bundle ${dir} is not a directory`, {
      hint: 'pass --bundle DIR pointing at a directory holding config.json and the root filesystem',
    });
  }
  const configPath = join(dir, 'config.json');
  let text: string;
  try {
    text = readFileSync(configPath, 'utf8');
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT') {
      throw new BerthError('ENOT_FOUND', `${configPath} does not exist`, {
        hint: `create one with \`berth-runtime spec --bundle ${dir}\` and edit it`,
        cause: e,
      });
    }
    throw new BerthError('EINVALID_CONFIG', `cannot read ${configPath}: ${code ?? String(e)}`, {
      hint: code === 'EISDIR' ? 'config.json must be a regular file' : 'check the file permissions',
      cause: e,
    });
  }
  let json: unknown;
  try {
    json = parseJson(text);
  } catch (e) {
    const detail = e instanceof JsonSyntaxError ? e.message : String(e);
    throw new BerthError('EINVALID_CONFIG', `${configPath} is not valid JSON: ${detail}`, {
      hint: 'fix the syntax at that position (a trailing comma or a missing quote is the usual cause)',
      cause: e,
    });
  }
  const config = validateConfig(json, configPath);
  if (!config.root) {
    throw invalid(configPath, [{ path: ['root', 'path'], message: 'required: the directory of the container\'s root filesystem' }], 'add "root": {"path": "rootfs"} and put the root filesystem in the bundle');
  }
  const rootfs = isAbsolute(config.root.path) ? config.root.path : join(dir, config.root.path);
  const rst = statOrUndefined(rootfs);
  if (!rst) {
    throw new BerthError('ENOT_FOUND', `root filesystem ${rootfs} (root.path in ${configPath}) does not exist`, {
      hint: 'create it (e.g. unpack an image into it) or point root.path at an existing directory; relative paths are resolved against the bundle',
    });
  }
  if (!rst.isDirectory()) {
    throw new BerthError('EINVALID_CONFIG', `root filesystem ${rootfs} (root.path in ${configPath}) is not a directory`, {
      hint: 'root.path must name a directory holding the container\'s files',
    });
  }
  return { config, bundle: dir, rootfs };
}

function statOrUndefined(p: string) {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}

function invalid(where: string, issues: Issue[], hint: string, root = ''): BerthError {
  const lines = issues.map((i) => `  ${formatJsonPath(i.path, root)}: ${i.message}`);
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
  return new BerthError('EINVALID_CONFIG', `${where} is invalid (${count}):\n${lines.join('\n')}`, {
    hint,
    cause: issues.map((i) => ({ path: formatJsonPath(i.path, root), message: i.message })),
  });
}

/** Turns a zod issue into our wording: "expected string, got number", "must be one of ...". */
function fromZod(issue: ZodIssue): Issue {
  const path: JsonPath = issue.path;
  switch (issue.code) {
    case 'invalid_type':
      if (issue.received === 'undefined') return { path, message: `required (${article(issue.expected)})` };
      return { path, message: `expected ${issue.expected}, got ${issue.received}` };
    case 'invalid_enum_value':
      return { path, message: `must be one of ${issue.options.join(', ')}, got ${JSON.stringify(issue.received)}` };
    case 'too_small':
      if (issue.type === 'array' || issue.type === 'string') return { path, message: issue.message };
      return { path, message: `must be >= ${issue.minimum}` };
    case 'too_big':
      if (issue.type === 'array' || issue.type === 'string') return { path, message: issue.message };
      return { path, message: `must be <= ${issue.maximum}` };
    default:
      return { path, message: issue.message };
  }
}

function article(t: string): string {
  return /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}
