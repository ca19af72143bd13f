import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { addContainerOptions, createRequestFromFlags, type ContainerFlags } from '../../src/cli/engine/container-options';
import { BerthError } from '../../src/core/errors';

/** Parses a `berth run` argv the way the CLI does and returns the create request. */
async function parseRun(argv: string[], env: NodeJS.ProcessEnv = {}) {
  let out: Awaited<ReturnType<typeof createRequestFromFlags>> | undefined;
  const program = new Command('berth').enablePositionalOptions().exitOverride();
  const run = addContainerOptions(new Command('run').helpOption('--help').argument('[args...]').passThroughOptions().exitOverride());
  run.action(async (args: string[], f: ContainerFlags) => {
    out = await createRequestFromFlags(f, args, env);
  });
  program.addCommand(run);
  await program.parseAsync(['node', 'berth', 'run', ...argv]);
  return out!;
}

const rejects = (argv: string[], re: RegExp) =>
  assert.rejects(() => parseRun(argv), (e: unknown) => e instanceof BerthError && re.test(e.message));

test('run flags: the everyday set maps onto Config/HostConfig', async () => {
  const r = await parseRun(['-d', '--name', 'web', '-e', 'A=1', '-e', 'FROM_HOST', '-l', 'tier=front', '-p', '8080:80', '-v', '/srv:/data:ro', '-w', '/app', '-u', '1000', '--memory', '64m', '--cpus', '0.5', '--pids-limit', '20', '--restart', 'on-failure:2', '-h', 'box', 'img:1', 'sh', '-c', 'echo hi'], { FROM_HOST: 'x' });
  assert.equal(r.name, 'web');
  assert.equal(r.image, 'img:1');
  assert.deepEqual(r.config.Cmd, ['sh', '-c', 'echo hi'], 'options after the image belong to the command');
  assert.deepEqual(r.config.Env, ['A=1', 'FROM_HOST=x']);
  assert.deepEqual(r.config.Labels, { tier: 'front' });
  assert.deepEqual(r.config.ExposedPorts, { '80/tcp': {} });
  assert.deepEqual(r.hostConfig.PortBindings, { '80/tcp': [{ HostIp: '', HostPort: '8080' }] });
  assert.deepEqual(r.hostConfig.Binds, ['/srv:/data:ro']);
  assert.equal(r.config.WorkingDir, '/app');
  assert.equal(r.config.User, '1000');
  assert.equal(r.config.Hostname, 'box');
  assert.equal(r.hostConfig.Memory, 64 * 1024 * 1024);
  assert.equal(r.hostConfig.NanoCpus, 5e8);
  assert.equal(r.hostConfig.PidsLimit, 20);
  assert.deepEqual(r.hostConfig.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 2 });
  assert.equal(r.config.AttachStdout, false, '-d detaches');
});

test('run flags: -it, --rm, --entrypoint "", anonymous volumes, health, --rootfs', async () => {
  const r = await parseRun(['-it', '--rm', '--entrypoint', '', '-v', '/cache', '--health-cmd', 'true', '--health-interval', '5s', 'img']);
  assert.equal(r.config.Tty, true);
  assert.equal(r.config.OpenStdin, true);
  assert.equal(r.hostConfig.AutoRemove, true);
  assert.deepEqual(r.config.Entrypoint, []);
  assert.deepEqual(r.config.Volumes, { '/cache': {} });
  assert.deepEqual(r.config.Healthcheck, { Test: ['CMD-SHELL', 'true'], Interval: 5e9 });
  const fs = await parseRun(['--rootfs', '/tmp/r', 'sh', '-c', 'ps']);
  assert.equal(fs.image, undefined);
  assert.equal(fs.rootfs, '/tmp/r');
  assert.deepEqual(fs.config.Cmd, ['sh', '-c', 'ps']);
  assert.deepEqual((await parseRun(['--no-healthcheck', 'img'])).config.Healthcheck, { Test: ['NONE'] });
});

test('run flags: bad values name the flag and the accepted forms', async () => {
  await rejects(['--memory', '12q', 'img'], /invalid size "12q" for --memory/);
  await rejects(['-p', 'abc', 'img'], /invalid -p "abc"/);
  await rejects(['--restart', 'sometimes', 'img'], /--restart/);
  await rejects(['--rm', '--restart', 'always', 'img'], /--rm conflicts with --restart always/);
  await rejects(['--name', '-bad', 'img'], /--name/);
  await rejects(['--cpus', 'lots', 'img'], /--cpus/);
  await rejects(['--blkio-weight', '5000', 'img'], /--blkio-weight/);
  await rejects(['--log-opt', 'max-size=big', 'img'], /max-size/);
  await rejects(['--stop-signal', 'sig term', 'img'], /--stop-signal/);
  await rejects([], /an image is required/);
});

test('--network and its alias --net both set the network mode (commander keeps only one long name per option)', async () => {
  assert.equal((await parseRun(['--network', 'host', 'img'])).hostConfig.NetworkMode, 'host');
  assert.equal((await parseRun(['--net', 'container:db', 'img'])).hostConfig.NetworkMode, 'container:db');
  assert.equal((await parseRun(['img'])).hostConfig.NetworkMode, 'bridge');
});

test("run flags: docker's daemon-side refusals happen before anything is created", async () => {
  await rejects(['-m', '1k', 'img'], /^Minimum memory limit allowed is 6MB$/);
  await rejects(['--memory-reservation', '5m', 'img'], /^Minimum memory reservation allowed is 6MB$/);
  assert.equal((await parseRun(['-m', '6m', 'img'])).hostConfig.Memory, 6 * 1024 * 1024);
  await rejects(['--cpus', '100000', 'img'], /^Range of CPUs is from 0\.01 to \d+\.00, as there are only \d+ CPUs available$/);
  await rejects(['--network', 'none', '-p', '80', 'img'], /^conflicting options: port publishing and the container type network mode$/);
  await rejects(['--net=host', '--network', 'backend', 'img'], /^container sharing network namespace with another container or host cannot be connected to any other network$/);
  for (const mode of ['bridge', 'default', 'host', 'none', 'container:web', 'backend']) assert.equal((await parseRun(['--network', mode, 'img'])).hostConfig.NetworkMode, mode);
});
