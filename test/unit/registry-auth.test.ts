import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseWwwAuthenticate } from '../../src/images/registry/www-authenticate';
import { DockerConfigCredentials, authKey } from '../../src/images/registry/credentials';
import { registryDomain } from '../../src/images/login';
import { BerthError } from '../../src/core/errors';

test('WWW-Authenticate: bearer with quoted parameters', () => {
  assert.deepEqual(parseWwwAuthenticate('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"'), [
    { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' } },
  ]);
});

test('WWW-Authenticate: several challenges, escapes, tokens and token68', () => {
  assert.deepEqual(parseWwwAuthenticate('Basic realm="Registry Realm", Bearer realm="http://a/t", service=reg'), [
    { scheme: 'basic', params: { realm: 'Registry Realm' } },
    { scheme: 'bearer', params: { realm: 'http://a/t', service: 'reg' } },
  ]);
  assert.deepEqual(parseWwwAuthenticate('Bearer realm="a \\"quoted\\" realm",error="invalid_token"'), [
    { scheme: 'bearer', params: { realm: 'a "quoted" realm', error: 'invalid_token' } },
  ]);
  assert.deepEqual(parseWwwAuthenticate('Negotiate abc123=='), [{ scheme: 'negotiate', params: { token68: 'abc123==' } }]);
  assert.deepEqual(parseWwwAuthenticate('BASIC REALM=x'), [{ scheme: 'basic', params: { realm: 'x' } }]);
  assert.deepEqual(parseWwwAuthenticate(''), []);
});

function tempConfig(content?: unknown): { file: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'berth-auth-'));
  const file = join(dir, 'config.json');
  if (content !== undefined) writeFileSync(file, JSON.stringify(content));
  return { file, done: () => rmSync(dir, { recursive: true, force: true }) };
}

test('config.json: base64 auth, docker.io key aliases, plain username/password', async () => {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  const t = tempConfig({
    auths: {
      'https://index.docker.io/v1/': { auth: b64('hub:pw:with:colons') },
      'localhost:5000': { auth: b64('u:p') },
      'https://reg.example.com/v2/': { username: 'x', password: 'y' },
    },
  });
  try {
    const c = new DockerConfigCredentials(t.file);
    assert.deepEqual((await c.get('docker.io')).credentials, { username: 'hub', password: 'pw:with:colons' });
    assert.deepEqual((await c.get('localhost:5000')).credentials, { username: 'u', password: 'p' });
    assert.deepEqual((await c.get('reg.example.com')).credentials, { username: 'x', password: 'y' });
    assert.equal((await c.get('other:1')).credentials, undefined);
    assert.equal(authKey('registry-1.docker.io'), 'https://index.docker.io/v1/');
  } finally {
    t.done();
  }
});

test('config.json: credential helpers are reported, not run; store and remove keep other keys', async () => {
  const t = tempConfig({ auths: {}, credsStore: 'desktop', credHelpers: { 'gcr.io': 'gcloud' }, experimental: 'enabled' });
  try {
    const c = new DockerConfigCredentials(t.file);
    assert.equal((await c.get('gcr.io')).unsupportedHelper, 'docker-credential-gcloud');
    assert.equal((await c.get('quay.io')).unsupportedHelper, 'docker-credential-desktop');
    await c.store('localhost:5000', { username: 'me', password: 'secret' });
    const after = JSON.parse(readFileSync(t.file, 'utf8')) as { auths: Record<string, { auth: string }>; experimental: string };
    assert.equal(after.experimental, 'enabled');
    assert.equal(Buffer.from(after.auths['localhost:5000']!.auth, 'base64').toString(), 'me:secret');
    assert.equal(statSync(t.file).mode & 0o777, 0o600);
    assert.deepEqual((await c.get('localhost:5000')).credentials, { username: 'me', password: 'secret' });
    assert.equal(await c.remove('localhost:5000'), true);
    assert.equal(await c.remove('localhost:5000'), false);
    assert.equal((await c.get('localhost:5000')).credentials, undefined);
  } finally {
    t.done();
  }
});

test('config.json: absent file is empty; broken files fail naming the file', async () => {
  const t = tempConfig();
  try {
    assert.deepEqual(await new DockerConfigCredentials(t.file).get('x.io'), { source: t.file });
    writeFileSync(t.file, '{nope');
    await assert.rejects(new DockerConfigCredentials(t.file).get('x.io'), (e: unknown) => e instanceof BerthError && e.message.includes(t.file));
    writeFileSync(t.file, JSON.stringify({ auths: { 'x.io': { auth: Buffer.from('nocolon').toString('base64') } } }));
    await assert.rejects(new DockerConfigCredentials(t.file).get('x.io'), /not base64 of "user:password"/);
    writeFileSync(t.file, JSON.stringify({ auths: { 'x.io': { identitytoken: 'abc' } } }));
    await assert.rejects(new DockerConfigCredentials(t.file).get('x.io'), (e: unknown) => e instanceof BerthError && e.code === 'EUNSUPPORTED');
  } finally {
    t.done();
  }
});

test('login registry names normalize', () => {
  assert.equal(registryDomain('localhost:5000'), 'localhost:5000');
  assert.equal(registryDomain('https://reg.example.com/v2/'), 'reg.example.com');
  assert.equal(registryDomain('index.docker.io'), 'docker.io');
});
