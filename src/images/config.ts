/**
 * The image configuration blob (OCI image spec "config", Docker's image JSON): what the
 * engine needs from it — platform, created time, run defaults, history and the diff_ids
 * that pull checks every layer against.
 */
import { z } from 'zod';
import { BerthError } from '../core/errors';
import { isDigest } from '../content/digest';

/** Largest config blob we read; real ones are a few KiB, long histories some hundred KiB. */
export const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

// Every field is optional: Go writes nil slices and maps as null (`docker import` gives
// `"Env": null`, old builders `"Cmd": null`, `"config": {}`), and readers get the config
// with those nulls removed (see withoutNulls), so no caller meets a null it did not expect.
const runConfigSchema = z
  .object({
    User: z.string().optional(),
    ExposedPorts: z.record(z.object({}).passthrough()).optional(),
    Env: z.array(z.string()).optional(),
    // null stays in the type for writers: ENTRYPOINT without CMD writes "Cmd": null, as docker
    Entrypoint: z.array(z.string()).nullish(),
    Cmd: z.array(z.string()).nullish(),
    Volumes: z.record(z.object({}).passthrough()).optional(),
    WorkingDir: z.string().optional(),
    Labels: z.record(z.string()).optional(),
    StopSignal: z.string().optional(),
    ArgsEscaped: z.boolean().optional(),
    Healthcheck: z
      .object({
        Test: z.array(z.string()).optional(),
        Interval: z.number().optional(),
        Timeout: z.number().optional(),
        StartPeriod: z.number().optional(),
        StartInterval: z.number().optional(),
        Retries: z.number().optional(),
      })
      .passthrough()
      .optional(),
    OnBuild: z.array(z.string()).optional(),
    Shell: z.array(z.string()).optional(),
  })
  .passthrough();

const historySchema = z
  .object({
    created: z.string().optional(),
    author: z.string().optional(),
    created_by: z.string().optional(),
    comment: z.string().optional(),
    empty_layer: z.boolean().optional(),
  })
  .passthrough();

const configSchema = z
  .object({
    created: z.string().optional(),
    author: z.string().optional(),
    architecture: z.string(),
    os: z.string(),
    variant: z.string().optional(),
    'os.version': z.string().optional(),
    config: runConfigSchema.optional(),
    rootfs: z.object({
      type: z.literal('layers'),
      // null (no layers written as a nil slice) reads as none
      diff_ids: z.array(z.string().refine(isDigest, { message: 'not a valid digest' })).default([]),
    }),
    history: z.array(historySchema).optional(),
  })
  .passthrough();

/**
 * The document with every null member of every object removed, at any depth (arrays keep
 * their length: a null element is malformed and left for the schema to report). A null
 * means "not set" in the configs Go programs write, which is what an absent member means.
 */
export function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => (x !== null && typeof x === 'object' ? withoutNulls(x) : x));
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = withoutNulls(x);
  return out;
}

export type ImageConfig = z.infer<typeof configSchema>;
export type HistoryEntry = z.infer<typeof historySchema>;

export function parseImageConfig(bytes: Buffer, what: string): ImageConfig {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new BerthError('EREGISTRY', `image config of ${what} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  const r = configSchema.safeParse(withoutNulls(json));
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(document)'}: ${i.message}`);
    throw new BerthError('EREGISTRY', `image config of ${what} is malformed: ${problems.join('; ')}`);
  }
  return r.data;
}
