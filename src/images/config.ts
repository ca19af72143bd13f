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

const runConfigSchema = z
  .object({
    User: z.string().optional(),
    ExposedPorts: z.record(z.object({}).passthrough()).nullish(),
    Env: z.array(z.string()).nullish(),
    Entrypoint: z.array(z.string()).nullish(),
    Cmd: z.array(z.string()).nullish(),
    Volumes: z.record(z.object({}).passthrough()).nullish(),
    WorkingDir: z.string().optional(),
    Labels: z.record(z.string()).nullish(),
    StopSignal: z.string().optional(),
    ArgsEscaped: z.boolean().optional(),
  })
  .passthrough();

const historySchema = z.object({
  created: z.string().optional(),
  author: z.string().optional(),
  created_by: z.string().optional(),
  comment: z.string().optional(),
  empty_layer: z.boolean().optional(),
});

const configSchema = z
  .object({
    created: z.string().optional(),
    author: z.string().optional(),
    architecture: z.string(),
    os: z.string(),
    variant: z.string().optional(),
    'os.version': z.string().optional(),
    config: runConfigSchema.nullish(),
    rootfs: z.object({
      type: z.literal('layers'),
      diff_ids: z.array(z.string().refine(isDigest, { message: 'not a valid digest' })),
    }),
    history: z.array(historySchema).optional(),
  })
  .passthrough();

export type ImageConfig = z.infer<typeof configSchema>;
export type HistoryEntry = z.infer<typeof historySchema>;

export function parseImageConfig(bytes: Buffer, what: string): ImageConfig {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new BerthError('EREGISTRY', `image config of ${what} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  const r = configSchema.safeParse(json);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(document)'}: ${i.message}`);
    throw new BerthError('EREGISTRY', `image config of ${what} is malformed: ${problems.join('; ')}`);
  }
  return r.data;
}
