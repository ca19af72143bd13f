import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { addContainerOptions, createRequestFromFlags, type ContainerFlags } from '../../src/cli/engine/container-options';
import { BerthError } from '../../src/core/errors';
import type { CreateRequest } from '../../src/engine/containers/request';
import type { HostConfig, NetworkingConfig } from '../../src/engine/docker-types';
import { buildCreateRequest, storedLink } from '../../src/engine/create/request-builder';
import { validateCreateRequest } from '../../src/engine/create/validate';

/** `berth run ARGV` parsed as the CLI parses it, into the create request. */
async function run(argv: string[]): Promise<CreateRequest> {
  let out: CreateRequest | undefined;
  const program = new Command('berth').enablePositionalOptions().exitOverride();
  const cmd = addContainerOptions(new Command('run').helpOption('--help').argument('[args...]').passThroughOptions().exitOverride());
  cmd.action(async (args: string[], f: ContainerFlags) => {
    out = await createRequestFromFlags(f, args, {});
  });
  program.addCommand(cmd);
  await program.parseAsync(['node', 'berth', 'run', ...argv]);
  return out!;
}

/** The refusal of `berth run ARGV`: its message must equal `message` (string) or match it. */
async function refused(argv: string[], message: string | RegExp, hint?: RegExp): Promise<void> {
  await assert.rejects(run(argv), (e: unknown) => {
    assert.ok(e instanceof BerthError, String(e));
    assert.equal(e.code, 'EINVALID_ARGUMENT');
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    if (hint) assert.match(e.hint ?? '', hint);
    return true;
  });
}

const endpoints = (r: CreateRequest) => r.networkingConfig?.EndpointsConfig;

test('--network: the first is the network mode, each network gets an endpoint; none given is the default bridge', async () => {
  let r = await run(['img']);
  assert.equal(r.hostConfig.NetworkMode, 'bridge');
  assert.deepEqual(endpoints(r), { bridge: {} });

  r = await run(['--network', 'app', '--network', 'db', 'img']);
  assert.equal(r.hostConfig.NetworkMode, 'app', 'a user-defined name is left to the engine to find');
  assert.deepEqual(endpoints(r), { app: {}, db: {} });

  r = await run(['--net', 'app', 'img']);
  assert.equal(r.hostConfig.NetworkMode, 'app', '--net is --network');

  for (const mode of ['host', 'none', 'container:web']) {
    r = await run(['--network', mode, 'img']);
    assert.equal(r.hostConfig.NetworkMode, mode);
    assert.deepEqual(endpoints(r), {}, `${mode} is a mode, not a network to attach to`);
  }
});

test('--network-alias, --ip, --ip6, --mac-address go to the first network', async () => {
  const r = await run(['--network', 'app', '--network', 'db', '--network-alias', 'web', '--network-alias', 'www', '--ip', '172.20.0.5', '--ip6', 'fd00::5', '--mac-address', '02:42:AC:11:00:02', 'img']);
  assert.deepEqual(endpoints(r), {
    app: { Aliases: ['web', 'www'], IPAMConfig: { IPv4Address: '172.20.0.5', IPv6Address: 'fd00::5' }, MacAddress: '02:42:ac:11:00:02' },
    db: {},
  });
  const mac = await run(['--mac-address', '02-00-00-00-00-01', 'img']);
  assert.deepEqual(endpoints(mac), { bridge: { MacAddress: '02:00:00:00:00:01' } }, 'a MAC on the default bridge is allowed; dashes become colons');
});

test("--network's advanced form: name, alias, ip, ip6, mac-address, driver-opt", async () => {
  const r = await run(['--network', 'name=app,alias=a1,ALIAS=a2,ip=10.1.0.9,ip6=fd00::9,driver-opt=com.example.Opt=Value', '--network', 'name=db,"mac-address=02:00:00:00:00:0a"', 'img']);
  assert.equal(r.hostConfig.NetworkMode, 'app');
  assert.deepEqual(endpoints(r), {
    app: { Aliases: ['a1', 'a2'], IPAMConfig: { IPv4Address: '10.1.0.9', IPv6Address: 'fd00::9' }, DriverOpts: { 'com.example.opt': 'Value' } },
    db: { MacAddress: '02:00:00:00:00:0a' },
  });
  assert.equal((await run(['--network', 'name=MyNet', 'img'])).hostConfig.NetworkMode, 'MyNet', 'values keep their case');
  assert.deepEqual(endpoints(await run(['--network', '"name=a,b"', 'img'])), { 'a,b': {} }, "docker's CSV quoting: a quoted field is one field");

  await refused(['--network', 'name=app,colour=blue', 'img'], 'invalid --network "name=app,colour=blue": unknown key "colour"', /accepted: NAME, or name=NET/);
  await refused(['--network', 'name=app,gw-priority=1', 'img'], /"gw-priority" is not supported by Berth/);
  await refused(['--network', 'alias=a', 'img'], /network name not specified \(name=NET\)/);
  await refused(['--network', 'name=app,driver-opt=x', 'img'], /driver-opt "x" is not KEY=VALUE/);
  await refused(['--network', 'name=app,ip=10.1.0.300', 'img'], 'invalid value "10.1.0.300" for --network ip: not an IPv4 address', /--network name=NET,ip=/);
  await refused(['--network', 'name=app,alias=x', '--network-alias', 'y', 'img'], 'conflicting options: cannot specify both --network-alias and per-network alias');
  await refused(['--network', 'name=app,ip=10.1.0.9', '--ip', '10.1.0.8', 'img'], 'conflicting options: cannot specify both --ip and per-network IPv4 address');
  await refused(['--network', 'app', '--network', 'name=app,alias=x', 'img'], 'network "app" is specified multiple times');
});

test('--link: legacy links on the default bridge (HostConfig.Links), endpoint links on a user-defined network', async () => {
  let r = await run(['--link', 'db', '--link', '/cache:c', 'img']);
  assert.deepEqual(r.hostConfig.Links, ['db:db', 'cache:c'], "docker's API form; the engine stores it with the container's name");
  r = await run(['--network', 'app', '--link', 'db:database', 'img']);
  assert.equal(r.hostConfig.Links, undefined);
  assert.deepEqual(endpoints(r), { app: { Links: ['db:database'] } });
  await refused(['--link', 'a:b:c', 'img'], 'invalid value "a:b:c" for --link', /NAME\[:ALIAS\]/);
  await refused(['--link', '-x', 'img'], 'invalid value "-x" for --link');

  assert.equal(storedLink('db:database', 'web'), '/db:/web/database');
  assert.equal(storedLink('db', '/web'), '/db:/web/db');
  assert.equal(storedLink('/db:/web/database', 'web'), '/db:/web/database', 'the stored form is kept');
});

test('-P and --add-host host-gateway are recorded as docker records them', async () => {
  const r = await run(['-P', '--expose', '80', '--add-host', 'host.docker.internal:host-gateway', '--add-host', 'db=10.0.0.2', 'img']);
  assert.equal(r.hostConfig.PublishAllPorts, true);
  assert.deepEqual(r.config.ExposedPorts, { '80/tcp': {} });
  assert.deepEqual(r.hostConfig.ExtraHosts, ['host.docker.internal:host-gateway', 'db:10.0.0.2'], 'host-gateway stays literal: the engine resolves it at start');
});

test('-p: one grammar with the network layer (ranges, IPv6, sctp)', async () => {
  const r = await run(['-p', '8000-8001:80-81/udp', '-p', '[::1]::53/sctp', '-p', '9000-9010:90', 'img']);
  assert.deepEqual(r.hostConfig.PortBindings, {
    '80/udp': [{ HostIp: '', HostPort: '8000' }],
    '81/udp': [{ HostIp: '', HostPort: '8001' }],
    '53/sctp': [{ HostIp: '::1', HostPort: '' }],
    '90/tcp': [{ HostIp: '', HostPort: '9000-9010' }],
  });
  await refused(['-p', '::1:80:80', 'img'], /^invalid -p "::1:80:80": too many ":"/, /accepted: /);
  await refused(['-p', '8000-8002:80-81', 'img'], /host range 8000-8002 \(3 ports\) and container range 80-81 \(2 ports\) differ in size/);
});

test('host, none and container:X cannot be combined with other networks; the default bridge not with user-defined ones', async () => {
  const shared = 'container sharing network namespace with another container or host cannot be connected to any other network';
  await refused(['--network', 'host', '--network', 'app', 'img'], shared, /give --network host or container:NAME alone/);
  await refused(['--network', 'app', '--network', 'container:db', 'img'], shared);
  await refused(['--network', 'none', '--network', 'app', 'img'], 'container cannot be connected to multiple networks with one of the networks in private (none) mode');
  await refused(['--network', 'bridge', '--network', 'app', 'img'], 'conflicting options: cannot attach both user-defined and non-user-defined network-modes');
  await refused(['--network', 'container:', 'img'], 'Invalid network mode: invalid container format container:<name|id>');
  await refused(['--network', ' ', 'img'], /no name set for network/);
});

test('port publishing: refused with none and container:X, discarded with a warning on host', async () => {
  const conflict = 'conflicting options: port publishing and the container type network mode';
  await refused(['--network', 'none', '-p', '80', 'img'], conflict, /drop -p\/--publish and -P\/--publish-all: with --network none/);
  await refused(['--network', 'none', '-P', 'img'], conflict);
  await refused(['--network', 'container:db', '-p', '8080:80', 'img'], conflict);
  await refused(['--network', 'container:db', '-P', 'img'], conflict);
  const r = await run(['--network', 'host', '-p', '8080:80', 'img']);
  assert.deepEqual(validateCreateRequest(r), ['Published ports are discarded when using host network mode'], 'kept in HostConfig, as docker keeps it, with its warning');
  assert.deepEqual(validateCreateRequest(await run(['--network', 'host', '-P', 'img'])), [], 'docker warns only for -p');
  assert.deepEqual(validateCreateRequest(await run(['-p', '8080:80', 'img'])), []);
});

test("container:X takes the other container's host name, resolver, hosts file and interfaces", async () => {
  const c = ['--network', 'container:db'];
  const drop = (flag: string) => new RegExp(`^drop ${flag}: with --network container:db it comes from that container$`);
  await refused([...c, '--hostname', 'x', 'img'], 'conflicting options: hostname and the network mode', drop('-h/--hostname'));
  await refused([...c, '--dns', '1.1.1.1', 'img'], 'conflicting options: dns and the network mode', drop('--dns'));
  await refused([...c, '--dns-search', 'example.com', 'img'], 'conflicting options: dns and the network mode', drop('--dns-search'));
  await refused([...c, '--dns-option', 'ndots:2', 'img'], 'conflicting options: dns and the network mode', drop('--dns-option'));
  await refused([...c, '--add-host', 'a:10.0.0.1', 'img'], 'conflicting options: custom host-to-IP mapping and the network mode', drop('--add-host'));
  await refused([...c, '--expose', '80', 'img'], 'conflicting options: port exposing and the container type network mode', drop('--expose'));
  await refused([...c, '--link', 'web', 'img'], "conflicting options: container type network can't be used with links. This would result in undefined behavior");
  await refused([...c, '--mac-address', '02:00:00:00:00:01', 'img'], 'conflicting options: mac-address and the network mode', /drop --mac-address/);
  await refused(['--network', 'host', '--mac-address', '02:00:00:00:00:01', 'img'], 'conflicting options: mac-address and the network mode');
  await refused(['--network', 'host', '--link', 'web', 'img'], "conflicting options: host type networking can't be used with links. This would result in undefined behavior");
  for (const ok of [['--hostname', 'x'], ['--dns', '1.1.1.1'], ['--expose', '80']]) await run(['--network', 'host', ...ok, 'img']);
});

test('aliases and static addresses need a user-defined network', async () => {
  const aliases = 'network-scoped aliases are only supported for user-defined networks';
  const ip = 'user specified IP address is supported on user defined networks only';
  await refused(['--network-alias', 'web', 'img'], aliases, /create a network \(network create NAME\) and give --network NAME, or drop --network-alias/);
  await refused(['--network', 'bridge', '--network-alias', 'web', 'img'], aliases);
  await refused(['--network', 'host', '--network-alias', 'web', 'img'], aliases);
  await refused(['--ip', '172.17.0.9', 'img'], ip, /drop --ip$/);
  await refused(['--network', 'default', '--ip6', 'fd00::9', 'img'], ip, /drop --ip6$/);
  await run(['--network', 'app', '--network-alias', 'web', '--ip', '172.20.0.9', 'img']);
});

test('malformed --ip, --ip6 and --mac-address are refused naming the flag', async () => {
  await refused(['--network', 'app', '--ip', '172.20.0', 'img'], 'invalid value "172.20.0" for --ip: not an IPv4 address', /^e\.g\. --ip 172\.20\.0\.5$/);
  await refused(['--network', 'app', '--ip', 'fd00::1', 'img'], 'invalid value "fd00::1" for --ip: not an IPv4 address');
  await refused(['--network', 'app', '--ip', '0.0.0.0', 'img'], /for --ip: the unspecified address/);
  await refused(['--network', 'app', '--ip6', '10.0.0.1', 'img'], 'invalid value "10.0.0.1" for --ip6: not an IPv6 address');
  await refused(['--mac-address', '02:42:ac:11:00', 'img'], /^invalid value "02:42:ac:11:00" for --mac-address: not a MAC address/);
  await refused(['--mac-address', '02:42:ac:11:00:0g', 'img'], /for --mac-address: not a MAC address/);
  await refused(['--mac-address', '01:00:5e:00:00:01', 'img'], /for --mac-address: a multicast address/);
});

test('the engine checks API requests in request-field words', async () => {
  const req = (hostConfig: HostConfig, networkingConfig: NetworkingConfig): CreateRequest => ({ image: 'img', config: {}, hostConfig, pull: 'missing', networkingConfig });
  const caught = (r: CreateRequest): BerthError => {
    try {
      validateCreateRequest(r, { hostCpus: 1 });
    } catch (e) {
      assert.ok(e instanceof BerthError);
      return e;
    }
    assert.fail('accepted');
  };
  let e = caught(req({ NetworkMode: 'bridge' }, { EndpointsConfig: { bridge: { Aliases: ['a'] } } }));
  assert.match(e.hint!, /give HostConfig\.NetworkMode NAME, or drop EndpointSettings\.Aliases/);
  e = caught(req({ NetworkMode: 'app' }, { EndpointsConfig: { app: { IPAMConfig: { IPv4Address: 'x' } } } }));
  assert.equal(e.message, 'invalid value "x" for EndpointSettings.IPAMConfig.IPv4Address on network app: not an IPv4 address');
  e = caught(req({ NetworkMode: 'app' }, { EndpointsConfig: { app: {}, default: {} } }));
  assert.equal(e.message, 'conflicting options: cannot attach both user-defined and non-user-defined network-modes');
  e = caught(req({ NetworkMode: 'bridge' }, { EndpointsConfig: { bridge: { Links: ['db:db'] } } }));
  assert.equal(e.message, 'links are only supported for user-defined networks');
  // docker's CLI names the default bridge "default" in EndpointsConfig: the same network as NetworkMode bridge.
  assert.deepEqual(validateCreateRequest(req({ NetworkMode: 'bridge' }, { EndpointsConfig: { default: { MacAddress: '02:00:00:00:00:01' } } }), { hostCpus: 1 }), []);
  assert.deepEqual(validateCreateRequest(req({ NetworkMode: 'app' }, { EndpointsConfig: { app: { Aliases: ['a'] }, db: { IPAMConfig: { IPv6Address: 'fd00::2' } } } }), { hostCpus: 1 }), []);
});

test('the builder without a front end names its options', async () => {
  await assert.rejects(buildCreateRequest({ image: 'x', networks: ['app'], ipv4Address: 'nope' }, { hostCpus: 1 }), /^BerthError: invalid value "nope" for ipv4Address: not an IPv4 address$/);
  await assert.rejects(buildCreateRequest({ image: 'x', networks: ['name=app,alias=a'], networkAliases: ['b'] }, { hostCpus: 1 }), /cannot specify both networkAliases and per-network alias/);
  await assert.rejects(buildCreateRequest({ image: 'x', links: ['a:b:c'] }, { hostCpus: 1 }), /invalid value "a:b:c" for links/);
  await assert.rejects(buildCreateRequest({ image: 'x', networks: ['none'], publishAll: true }, { hostCpus: 1 }), /^BerthError: conflicting options: port publishing and the container type network mode$/);
});
