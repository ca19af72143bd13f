/**
 * A small JSON-schema (draft-04 subset) checker, enough for the OCI image-spec schemas kept
 * in ../shared/reference on development machines. Returns undefined paths when the reference
 * is absent (a user's clone), so tests can skip and say so.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

type Schema = {
  $ref?: string;
  type?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  patternProperties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  minItems?: number;
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  allOf?: Schema[];
  anyOf?: Schema[];
  oneOf?: Schema[];
};

function repoRoot(): string {
  for (let d = __dirname; d !== dirname(d); d = dirname(d)) {
    if (existsSync(join(d, 'package.json')) && existsSync(join(d, 'src'))) return d;
  }
  return process.cwd();
}

/**
 * A schema directory of ../shared/reference (oci-image-spec-schema, oci-runtime-spec-schema),
 * or undefined when the reference is absent. Git worktrees one level deeper (wt/NAME) find
 * it at ../../shared.
 */
export function referenceSchemaDir(name: string): string | undefined {
  const root = repoRoot();
  for (const base of [resolve(root, '..'), resolve(root, '..', '..')]) {
    const dir = join(base, 'shared', 'reference', name);
    if (existsSync(dir)) return dir;
  }
  return undefined;
}

/** The image-spec schema directory, or undefined when ../shared/reference is absent. */
export function imageSchemaDir(): string | undefined {
  return referenceSchemaDir('oci-image-spec-schema');
}

function load(dir: string, file: string): Schema {
  return JSON.parse(readFileSync(join(dir, file), 'utf8')) as Schema;
}

function resolveRef(dir: string, ref: string, current: string): { schema: Schema; file: string } {
  const [filePart, pointer = ''] = ref.split('#');
  const file = filePart || current;
  let node: unknown = load(dir, file);
  for (const seg of pointer.split('/').filter(Boolean)) node = (node as Record<string, unknown>)[seg];
  return { schema: node as Schema, file };
}

function check(dir: string, value: unknown, schema: Schema, file: string, path: string, errors: string[]): void {
  if (schema.$ref) {
    const r = resolveRef(dir, schema.$ref, file);
    check(dir, value, r.schema, r.file, path, errors);
  }
  for (const s of schema.allOf ?? []) check(dir, value, s, file, path, errors);
  const passes = (s: Schema): boolean => {
    const e: string[] = [];
    check(dir, value, s, file, path, e);
    return e.length === 0;
  };
  if (schema.anyOf && !schema.anyOf.some(passes)) errors.push(`${path}: matches no anyOf branch`);
  if (schema.oneOf && schema.oneOf.filter(passes).length !== 1) errors.push(`${path}: does not match exactly one oneOf branch`);
  const actual = Array.isArray(value) ? 'array' : value === null ? 'null' : Number.isInteger(value) ? 'integer' : typeof value;
  if (schema.type && !(schema.type === actual || (schema.type === 'number' && actual === 'integer'))) {
    errors.push(`${path}: expected ${schema.type}, got ${actual}`);
    return;
  }
  if (schema.enum && !schema.enum.includes(value)) errors.push(`${path}: ${JSON.stringify(value)} not in enum`);
  if (schema.pattern && typeof value === 'string' && !new RegExp(schema.pattern).test(value)) errors.push(`${path}: does not match ${schema.pattern}`);
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) errors.push(`${path}: below minimum`);
    if (schema.maximum !== undefined && value > schema.maximum) errors.push(`${path}: above maximum`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) errors.push(`${path}: fewer than ${schema.minItems} items`);
    if (schema.items) value.forEach((v, i) => check(dir, v, schema.items!, file, `${path}[${i}]`, errors));
  }
  if (actual === 'object') {
    const obj = value as Record<string, unknown>;
    for (const r of schema.required ?? []) if (!(r in obj)) errors.push(`${path}.${r}: required`);
    for (const [k, v] of Object.entries(obj)) {
      const p = schema.properties?.[k];
      if (p) check(dir, v, p, file, `${path}.${k}`, errors);
      else if (typeof schema.additionalProperties === 'object') check(dir, v, schema.additionalProperties, file, `${path}.${k}`, errors);
      for (const [re, s] of Object.entries(schema.patternProperties ?? {})) if (new RegExp(re).test(k)) check(dir, v, s, file, `${path}.${k}`, errors);
    }
  }
}

/** Problems of `value` against the named schema file of `dir` (empty when it conforms); image-spec by default. */
export function schemaErrors(value: unknown, file: string, dir: string = imageSchemaDir()!): string[] {
  const errors: string[] = [];
  check(dir, value, load(dir, file), file, '$', errors);
  return errors;
}
