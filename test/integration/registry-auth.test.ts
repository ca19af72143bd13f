/**
 * Authentication against a real registry: htpasswd basic auth, and bearer tokens from a
 * token server written here (anonymous tokens for public/ repositories, credentials for the
 * rest); login verifies before it stores, logout forgets; failures name the registry and
 * say to run `berth login`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError } from '../../src/core/errors';
import { ImageService } from '../../src/images/service';
import { REGISTRY_BIN, startRegistry, type RunningRegistry } from '../helpers/registry';
import { RecordingSink, buildImage, busyboxLayers, storeImage, type BuiltImage } from '../helpers/images';

const skip = existsSync(REGISTRY_BIN) ? false : `${REGISTRY_BIN} is not installed (apt-get install docker-registry)`;
const USERS = { alice: 's3cret' };
let basic: RunningRegistry;
let token: RunningRegistry;
let img: BuiltImage;
const roots: string[] = [];

function service(): ImageService {
  const root = mkdtempSync(join(tmpdir(), 'berth-auth-'));
  roots.push(root);
  return new ImageService({ root, authFile: join(root, 'docker', 'config.json'), registry: { retry: { retries: 1, baseDelayMs: 5 } } });
}

before(async () => {
  if (skip) return;
  [basic, token] = await Promise.all([startRegistry({ kind: 'htpasswd', users: USERS }), startRegistry({ kind: 'token', users: USERS })]);
  img = await buildImage(busyboxLayers('auth'));
});
after(async () => {
  await basic?.stop();
  await token?.stop();
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

const authError = (registry: string) => (e: unknown) =>
  e instanceof BerthError && e.code === 'EAUTH' && e.message.includes(`registry ${registry}`) && (e.hint ?? '').includes(`berth login ${registry}`);

test('basic auth: refused without credentials, login verifies and stores, push/pull work, logout forgets', { skip }, async () => {
  const svc = service();
  const name = `${basic.domain}/team/app:1`;
  await storeImage(svc, name, img);
  await assert.rejects(svc.push(name), authError(basic.domain));
  await assert.rejects(svc.pull(name), authError(basic.domain));
  await assert.rejects(svc.login(basic.domain, { username: 'alice', password: 'wrong' }), authError(basic.domain));
  assert.equal(existsSync(svc.options.authFile!), false, 'nothing stored for refused credentials');

  const stored = await svc.login(basic.domain, { username: 'alice', password: 's3cret' });
  assert.equal(stored.registry, basic.domain);
  const file = JSON.parse(readFileSync(svc.options.authFile!, 'utf8')) as { auths: Record<string, { auth: string }> };
  assert.equal(Buffer.from(file.auths[basic.domain]!.auth, 'base64').toString(), 'alice:s3cret');

  const fresh = new ImageService({ root: svc.root, authFile: svc.options.authFile! });
  await fresh.push(name);
  const sink = new RecordingSink();
  const other = new ImageService({ root: mkdtempSync(join(tmpdir(), 'berth-auth-')), authFile: svc.options.authFile! });
  roots.push(other.root);
  await other.pull(name, { sink });
  assert.equal(sink.committed.size, 3);
  assert.equal(await fresh.logout(basic.domain), true);
  const afterLogout = new ImageService({ root: other.root, authFile: svc.options.authFile! });
  await assert.rejects(afterLogout.pull(`${basic.domain}/team/app:1`), authError(basic.domain));
  for (const s of [svc, fresh, other, afterLogout]) s.close();
});

test('token auth: anonymous pulls of public repositories, login for push, tokens cached per scope', { skip }, async () => {
  const svc = service();
  const pub = `${token.domain}/public/app:1`;
  await storeImage(svc, pub, img);
  await assert.rejects(svc.push(pub), authError(token.domain));
  await assert.rejects(svc.login(token.domain, { username: 'alice', password: 'nope' }), (e: unknown) => e instanceof BerthError && e.code === 'EAUTH' && /token server/.test(e.message) && (e.hint ?? '').includes(`berth login ${token.domain}`));
  await svc.login(token.domain, { username: 'alice', password: 's3cret' });
  const pusher = new ImageService({ root: svc.root, authFile: svc.options.authFile! });
  await pusher.push(pub);
  await pusher.tag(pub, `${token.domain}/private/app:1`);
  await pusher.push(`${token.domain}/private/app:1`);
  pusher.close();

  // Anonymous: a fresh root without credentials pulls the public repository...
  const anon = new ImageService({ root: mkdtempSync(join(tmpdir(), 'berth-auth-')), authFile: join(tmpdir(), 'berth-no-such-dir', 'config.json') });
  roots.push(anon.root);
  token.tokenRequests.length = 0;
  const sink = new RecordingSink();
  await anon.pull(pub, { sink });
  assert.equal(sink.committed.size, 3);
  const scoped = token.tokenRequests.filter((r) => r.scope.includes('repository:public/app:pull'));
  assert.equal(scoped.length, 1, 'one token for the manifest and all blobs of the pull');
  assert.ok(token.tokenRequests.every((r) => r.user === undefined), 'anonymous token requests');
  // ...but not the private one.
  await assert.rejects(anon.pull(`${token.domain}/private/app:1`), authError(token.domain));
  anon.close();

  // With credentials, the private repository pulls.
  const alice = new ImageService({ root: mkdtempSync(join(tmpdir(), 'berth-auth-')), authFile: svc.options.authFile! });
  roots.push(alice.root);
  const [r] = await alice.pull(`${token.domain}/private/app:1`);
  assert.equal(r!.record.id, img.configDigest);
  alice.close();
  svc.close();
});
