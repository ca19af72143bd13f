import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from '../../src/core/errors';
import type { CreateRequest } from '../../src/engine/containers/request';
import type { HostConfig } from '../../src/engine/docker-types';
import { validateCreateRequest } from '../../src/engine/create/validate';
import { CREATE_FIELD_FLAGS } from '../../src/cli/engine/flag-words';

const request = (hostConfig: HostConfig, name?: string): CreateRequest => ({ ...(name !== undefined ? { name } : {}), image: 'img', config: {}, hostConfig, pull: 'missing' });

/** The error validation throws: in the engine's words, and in the CLI's (its flags). */
function refusal(req: CreateRequest, hostCpus = 2): { engine: BerthError; cli: BerthError } {
  const caught = (flags?: typeof CREATE_FIELD_FLAGS): BerthError => {
    try {
      validateCreateRequest(req, { hostCpus, ...(flags ? { flags } : {}) });
    } catch (e) {
      assert.ok(e instanceof BerthError);
      return e;
    }
    assert.fail('accepted');
  };
  return { engine: caught(), cli: caught(CREATE_FIELD_FLAGS) };
}

test('create validation accepts what docker accepts', () => {
  validateCreateRequest(request({ Memory: 6 * 1024 * 1024, NanoCpus: 2e9, OomScoreAdj: -1000, NetworkMode: 'container:db', AutoRemove: true, RestartPolicy: { Name: 'no' } }, 'web-1'), { hostCpus: 2 });
  for (const mode of ['bridge', 'default', 'host', 'none', 'backend']) validateCreateRequest(request({ NetworkMode: mode }), { hostCpus: 1 });
});

test('create validation: the engine names request fields, the CLI its flags', () => {
  let r = refusal(request({ AutoRemove: true, RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 } }));
  assert.equal(r.engine.message, 'HostConfig.AutoRemove conflicts with HostConfig.RestartPolicy on-failure:3');
  assert.equal(r.cli.message, '--rm conflicts with --restart on-failure:3');

  r = refusal(request({ OomScoreAdj: 1001 }));
  assert.equal(r.engine.message, 'invalid value "1001" for HostConfig.OomScoreAdj');
  assert.equal(r.cli.message, 'invalid value "1001" for --oom-score-adj');

  r = refusal(request({ Memory: 1024 }));
  assert.equal(r.engine.message, 'Minimum memory limit allowed is 6MB', "docker's words for both");
  assert.match(r.engine.hint!, /HostConfig\.Memory/);
  assert.equal(r.cli.hint, 'give -m/--memory 6m or more');

  r = refusal(request({ MemoryReservation: 5 * 1024 * 1024 }));
  assert.equal(r.cli.message, 'Minimum memory reservation allowed is 6MB');

  r = refusal(request({ NanoCpus: 3e9 }));
  assert.equal(r.engine.message, 'Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available');
  assert.equal(r.cli.hint, 'give --cpus 2 or less');
  assert.equal(r.engine.hint, 'set HostConfig.NanoCpus to 2000000000 or less');

  r = refusal(request({ NetworkMode: 'none', PublishAllPorts: true }));
  assert.equal(r.engine.message, 'conflicting options: port publishing and the container type network mode');
  assert.match(r.engine.hint!, /^drop HostConfig.PortBindings and HostConfig.PublishAllPorts: with HostConfig.NetworkMode none/);
  assert.match(r.cli.hint!, /^drop -p\/--publish and -P\/--publish-all: with --network none/);

  r = refusal(request({}, '-bad'));
  assert.match(r.engine.message, /invalid container name "-bad"/);
  assert.equal(r.cli.message, 'invalid value "-bad" for --name');
});

test('the create-request builder: docker-style strings in, the request out, messages naming options', async () => {
  const { buildCreateRequest } = await import('../../src/engine/create/request-builder');
  const req = await buildCreateRequest(
    { image: 'web:1', command: ['serve'], name: 'web', publish: ['8080:80'], volumes: ['/srv:/data:ro', '/cache'], env: ['A=1', 'FROM_CALLER'], ulimits: ['nofile=1024:2048'], memory: '64m', restart: 'always', healthcheck: { cmd: 'true', interval: '5s' } },
    { callerEnv: { FROM_CALLER: 'x' }, hostCpus: 2 },
  );
  assert.equal(req.image, 'web:1');
  assert.deepEqual(req.config.Cmd, ['serve']);
  assert.deepEqual(req.config.Env, ['A=1', 'FROM_CALLER=x']);
  assert.deepEqual(req.hostConfig.PortBindings, { '80/tcp': [{ HostIp: '', HostPort: '8080' }] });
  assert.deepEqual(req.hostConfig.Binds, ['/srv:/data:ro']);
  assert.deepEqual(req.config.Volumes, { '/cache': {} });
  assert.equal(req.hostConfig.Memory, 64 * 1024 * 1024);
  assert.deepEqual(req.hostConfig.RestartPolicy, { Name: 'always', MaximumRetryCount: 0 });
  assert.deepEqual(req.config.Healthcheck, { Test: ['CMD-SHELL', 'true'], Interval: 5e9 });
  assert.equal(req.config.AttachStdout, true);
  await assert.rejects(buildCreateRequest({ image: 'x', memory: '12q' }), /invalid size "12q" for memory/);
  await assert.rejects(buildCreateRequest({ image: 'x', blkioWeight: '5000' }), /invalid value "5000" for blkioWeight/);
  await assert.rejects(buildCreateRequest({ image: 'x', autoRemove: true, restart: 'always' }), /HostConfig.AutoRemove conflicts with HostConfig.RestartPolicy always$/);
  await assert.rejects(buildCreateRequest({ image: 'x', healthcheck: { disable: true, cmd: 'true' } }), /healthcheck.disable conflicts with healthcheck.cmd/);
  await assert.rejects(buildCreateRequest({}), /an image is required/);
});
