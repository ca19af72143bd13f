/**
 * Image commands with docker's names, flags and output: pull, push, images (image ls), tag,
 * rmi (image rm), image inspect, history, image prune, login, logout.
 */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { BerthError } from '../../../core/errors';
import { imageSize, referenceMatcher, type FilterArgs } from '../../../engine/query';
import type { ImageSummary } from '../../../images/store';
import { familiarString, parseReference, repositoryName } from '../../../images/reference';
import { formatRows } from '../../format/template';
import { humanSize, timeAgo } from '../../format/human';
import { collect } from '../../parse';
import { createProgressReporter } from '../progress';
import type { CliEnv } from '../env';
import { filterArgsFromFlags } from '../filter-flags';
import { confirm } from '../prompt';

const shortId = (id: string) => id.slice(id.indexOf(':') + 1, id.indexOf(':') + 13);

interface ImageRow {
  ID: string;
  Repository: string;
  Tag: string;
  Digest: string;
  CreatedSince: string;
  CreatedAt: string;
  Size: string;
  Containers: string;
}

const IMAGE_HEADERS = { ID: 'IMAGE ID', Repository: 'REPOSITORY', Tag: 'TAG', Digest: 'DIGEST', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', Size: 'SIZE', Containers: 'CONTAINERS' };

function imageRows(s: ImageSummary, noTrunc: boolean): ImageRow[] {
  const id = noTrunc ? s.id : shortId(s.id);
  const created = s.created ? timeAgo(s.created) : 'N/A';
  const size = humanSize(imageSize(s));
  const base = { ID: id, CreatedSince: created, CreatedAt: s.created ?? '', Size: size, Containers: 'N/A' };
  const digestOf = (repo: string) => s.repoDigests.find((d) => d.startsWith(`${repo}@`))?.split('@')[1] ?? '<none>';
  if (!s.repoTags.length) {
    const repos = s.repoDigests.map((d) => d.split('@')[0]!);
    if (!repos.length) return [{ ...base, Repository: '<none>', Tag: '<none>', Digest: '<none>' }];
    return repos.map((r) => ({ ...base, Repository: r, Tag: '<none>', Digest: digestOf(r) }));
  }
  return s.repoTags.map((t) => {
    const i = t.lastIndexOf(':');
    const repo = t.slice(0, i);
    return { ...base, Repository: repo, Tag: t.slice(i + 1), Digest: digestOf(repo) };
  });
}

/**
 * The rows of an image that reference filters leave (docker lists only the matching
 * REPO:TAG rows of an image with several names, not all of them).
 */
function rowsMatching(filters: FilterArgs): (r: ImageRow) => boolean {
  const matchers = (filters.reference ?? []).map(referenceMatcher);
  return (r) => matchers.every((m) => m(`${r.Repository}:${r.Tag}`));
}

export function registerImageCommands(program: Command, image: Command, env: CliEnv): void {
  const pull = (cmd: Command) =>
    cmd
      .argument('<name>', 'image reference, e.g. busybox or localhost:5000/app:1.0')
      .option('-a, --all-tags', 'pull every tag of the repository')
      .option('--platform <os/arch>', 'platform to pull from a multi-platform image')
      .option('-q, --quiet', 'print only the image name')
      .description('download an image from a registry')
      .action(async (name: string, o: { allTags?: boolean; platform?: string; quiet?: boolean }) => {
        const reporter = createProgressReporter(env.out, { quiet: o.quiet === true });
        const results = await env.engine().pullImage(name, {
          ...(o.allTags ? { allTags: true } : {}),
          ...(o.platform ? { platform: o.platform } : {}),
          // the summary (Digest/Status) is written once, below, in docker's words
          onEvent: (e) => (e.type === 'done' ? undefined : reporter.handle(e)),
        });
        for (const r of results) {
          const full = r.record.name;
          if (!o.quiet) {
            env.out.write(`Digest: ${r.record.target.digest}\n`);
            env.out.write(`Status: ${r.upToDate ? 'Image is up to date' : 'Downloaded newer image'} for ${familiarString(parseReference(full))}\n`);
          }
          env.out.write(`${full}\n`);
        }
      });
  pull(program.command('pull'));
  pull(image.command('pull'));

  const push = (cmd: Command) =>
    cmd
      .argument('<name>', 'local image name to push (its registry is in the name)')
      .option('-q, --quiet', 'print nothing but errors')
      .description('upload an image to a registry')
      .action(async (name: string, o: { quiet?: boolean }) => {
        const reporter = createProgressReporter(env.out, { quiet: o.quiet === true });
        const ref = parseReference(name);
        if (!o.quiet) env.out.write(`The push refers to repository [${repositoryName(ref)}]\n`);
        // the first and last lines are written here, in docker's words, once
        const r = await env.engine().pushImage(name, { onEvent: (e) => (e.type === 'push-preparing' || e.type === 'manifest-pushed' ? undefined : reporter.handle(e)) });
        if (!o.quiet) env.out.write(`${ref.tag ?? 'latest'}: digest: ${r.digest} size: ${r.size}\n`);
      });
  push(program.command('push'));
  push(image.command('push'));

  const list = (cmd: Command) =>
    cmd
      .argument('[reference]', 'only images matching this name')
      .option('-a, --all', 'show all images (there are no intermediate images to hide)')
      .option('--digests', 'show digests')
      .option('-f, --filter <filter>', 'dangling=true|false, reference=PATTERN, before=IMAGE, since=IMAGE', collect, [])
      .option('--format <template>', "Go template, 'table TEMPLATE' or 'json'")
      .option('--no-trunc', 'do not truncate ids')
      .option('-q, --quiet', 'only image ids')
      .description('list images')
      .action(async (reference: string | undefined, o: { digests?: boolean; filter: string[]; format?: string; trunc: boolean; quiet?: boolean }) => {
        const filters = filterArgsFromFlags(reference ? [...o.filter, `reference=${reference}`] : o.filter, 'empty-value');
        const shown = await env.engine().listImages(filters);
        if (o.quiet) {
          const ids = [...new Set(shown.map((s) => (o.trunc ? shortId(s.id) : s.id)))];
          env.out.write(ids.map((i) => `${i}\n`).join(''));
          return;
        }
        const rows = shown.flatMap((s) => imageRows(s, !o.trunc)).filter(rowsMatching(filters));
        const format = o.format ?? (o.digests ? 'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}' : 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}');
        env.out.write(formatRows(format, rows, { headers: IMAGE_HEADERS, typeName: '*formatter.ImageContext' }));
      });
  list(program.command('images'));
  list(image.command('ls').alias('list'));

  const tag = (cmd: Command) =>
    cmd
      .argument('<source>', 'existing image (name or id)')
      .argument('<target>', 'new name')
      .description('give an image another name')
      .action(async (source: string, target: string) => {
        await env.engine().tagImage(source, target);
      });
  tag(program.command('tag'));
  tag(image.command('tag'));

  const rmi = (cmd: Command) =>
    cmd
      .argument('<images...>', 'names or ids')
      .option('-f, --force', 'remove even if several names or a container refer to it')
      .option('--no-prune', 'accepted for compatibility')
      .description('remove images')
      .action(async (images: string[], o: { force?: boolean }) => {
        const r = await env.engine().removeImages(images, { force: o.force === true });
        for (const u of r.untagged) env.out.write(`Untagged: ${u}\n`);
        for (const d of r.deleted) env.out.write(`Deleted: ${d}\n`);
      });
  rmi(program.command('rmi'));
  rmi(image.command('rm').alias('remove'));

  image
    .command('inspect')
    .argument('<images...>')
    .option('-f, --format <template>', 'Go template applied to each image')
    .description('detailed information on images (JSON)')
    .action(async (images: string[], o: { format?: string }) => {
      const docs = [];
      for (const q of images) docs.push(await env.engine().inspectImage(q));
      if (o.format) env.out.write(formatRows(o.format, docs, { headers: {} }));
      else env.out.write(`${JSON.stringify(docs, null, 4)}\n`);
    });

  const history = (cmd: Command) =>
    cmd
      .argument('<image>')
      .option('-H, --human', 'human sizes and dates (default true; -H=false for raw ones)', true)
      .option('--no-trunc', 'do not truncate output')
      .option('-q, --quiet', 'only ids')
      .option('--format <template>', 'Go template')
      .description('the layers and steps an image was made of')
      .action(async (img: string, o: { human: boolean; trunc: boolean; quiet?: boolean; format?: string }) => {
        const lines = await env.engine().images.history(img);
        const human = o.human;
        if (o.quiet) {
          env.out.write(lines.map((l) => `${l.id ? (o.trunc ? shortId(l.id) : l.id) : '<missing>'}\n`).join(''));
          return;
        }
        const rows = lines.map((l) => ({
          ID: l.id ? (o.trunc ? shortId(l.id) : l.id) : '<missing>',
          CreatedSince: l.created ? (human ? timeAgo(l.created) : l.created) : 'N/A',
          CreatedAt: l.created ?? '',
          CreatedBy: o.trunc && l.createdBy.length > 45 ? `${l.createdBy.slice(0, 44)}…` : l.createdBy,
          Size: human ? humanSize(l.size) : String(l.size),
          Comment: l.comment ?? '',
        }));
        env.out.write(
          formatRows(o.format ?? 'table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}', rows, {
            headers: { ID: 'IMAGE', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', CreatedBy: 'CREATED BY', Size: 'SIZE', Comment: 'COMMENT' },
          }),
        );
      });
  history(program.command('history'));
  history(image.command('history'));

  image
    .command('prune')
    .option('-a, --all', 'remove all images not used by a container, not just dangling ones')
    .option('-f, --force', 'do not ask for confirmation')
    .option('--dry-run', 'list what would be removed and remove nothing')
    .description('remove unused images')
    .action(async (o: { all?: boolean; force?: boolean; dryRun?: boolean }) => {
      if (!o.force && !o.dryRun) {
        const what = o.all ? 'all images without at least one container associated to them' : 'all dangling images';
        if (!(await confirm(env, `WARNING! This will remove ${what}.\nAre you sure you want to continue? [y/N] `))) return;
      }
      const r = await env.engine().pruneImages({ all: o.all === true, dryRun: o.dryRun === true });
      if (r.deleted.length) {
        env.out.write(o.dryRun ? 'Would delete images:\n' : 'Deleted Images:\n');
        for (const d of r.deleted) env.out.write(`deleted: ${d}\n`);
        env.out.write('\n');
      }
      env.out.write(`Total ${o.dryRun ? 'reclaimable' : 'reclaimed'} space: ${humanSize(r.gc.reclaimedBytes)}\n`);
    });

  program
    .command('login')
    .argument('[server]', 'registry (default docker.io)')
    .option('-u, --username <name>')
    .option('-p, --password <password>', 'password (prefer --password-stdin)')
    .option('--password-stdin', 'read the password from stdin')
    .description('store credentials for a registry (checked against it first)')
    .action(async (server: string | undefined, o: { username?: string; password?: string; passwordStdin?: boolean }) => {
      if (!o.username) throw new BerthError('EINVALID_ARGUMENT', 'login needs --username', { hint: 'berth login -u USER --password-stdin REGISTRY' });
      let password = o.password;
      if (o.passwordStdin) {
        if (password) throw new BerthError('EINVALID_ARGUMENT', '--password and --password-stdin are mutually exclusive');
        password = readFileSync(0, 'utf8').replace(/\r?\n$/, '');
      }
      if (!password) throw new BerthError('EINVALID_ARGUMENT', 'login needs a password', { hint: 'pass it with --password-stdin' });
      if (o.password) env.err.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
      await env.engine().images.login(server ?? 'docker.io', { username: o.username, password });
      env.out.write('Login Succeeded\n');
    });

  program
    .command('logout')
    .argument('[server]', 'registry (default docker.io)')
    .description('remove stored credentials for a registry')
    .action(async (server: string | undefined) => {
      const name = server ?? 'docker.io';
      const removed = await env.engine().images.logout(name);
      env.out.write(removed ? `Removing login credentials for ${name}\n` : `Not logged in to ${name}\n`);
    });
}

