/**
 * `--change` (Dockerfile instruction subset for import/commit): forms, quoting, expansion,
 * ordering rules, and errors that name the bad instruction.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from '../../src/core/errors';
import { applyChangeStrings, parseChanges } from '../../src/images/config-changes';

const apply = (changes: string[], base = {}) => applyChangeStrings(base, changes);
const invalid = (re: RegExp) => (e: unknown) => e instanceof BerthError && e.code === 'EINVALID_ARGUMENT' && re.test(e.message);

test('CMD and ENTRYPOINT: exec form, shell form, non-JSON brackets are shell form', () => {
  assert.deepEqual(apply(['CMD ["/bin/sh", "-c", "echo hi"]']).Cmd, ['/bin/sh', '-c', 'echo hi']);
  assert.deepEqual(apply(['CMD echo "hello world"']).Cmd, ['/bin/sh', '-c', 'echo "hello world"']);
  assert.deepEqual(apply(['cmd [not json']).Cmd, ['/bin/sh', '-c', '[not json']);
  assert.deepEqual(apply(['CMD []']).Cmd, []);
  assert.deepEqual(apply(['ENTRYPOINT ["/bin/busybox"]']).Entrypoint, ['/bin/busybox']);
  assert.deepEqual(apply(['ENTRYPOINT top -b']).Entrypoint, ['/bin/sh', '-c', 'top -b']);
});

test('ENTRYPOINT clears an inherited CMD unless CMD was changed first (Dockerfile rule)', () => {
  const base = { Cmd: ['sh'] };
  assert.equal(apply(['ENTRYPOINT ["/x"]'], base).Cmd, null);
  assert.deepEqual(apply(['CMD ["a"]', 'ENTRYPOINT ["/x"]'], base).Cmd, ['a']);
  assert.deepEqual(apply(['ENTRYPOINT ["/x"]', 'CMD ["b"]'], base).Cmd, ['b']);
});

test('ENV: key=value pairs with quotes, legacy form, replacement, expansion against earlier values', () => {
  const c = apply(['ENV A=1 B="two words" C=it\\ s', 'ENV LEGACY some value here', 'ENV A=new'], { Env: ['PATH=/bin'] });
  assert.deepEqual(c.Env, ['PATH=/bin', 'A=new', 'B=two words', 'C=it s', 'LEGACY=some value here']);
  const e = apply(['ENV P=$PATH:/usr/bin Q=${PATH}x R=${MISSING:-dflt} S=${PATH:+set} T=\'$PATH\''], { Env: ['PATH=/bin'] });
  assert.deepEqual(e.Env, ['PATH=/bin', 'P=/bin:/usr/bin', 'Q=/binx', 'R=dflt', 'S=set', 'T=$PATH']);
  // All pairs of one ENV see the environment as it was before it (Docker's rule).
  assert.deepEqual(apply(['ENV X=1', 'ENV X=2 Y=$X']).Env, ['X=2', 'Y=1']);
});

test('LABEL, EXPOSE, VOLUME, USER, WORKDIR, STOPSIGNAL, ONBUILD', () => {
  const c = apply([
    'LABEL a=b "c d"="e f" version=1.0',
    'EXPOSE 80 443/tcp 53/udp 8000-8002',
    'VOLUME ["/data", "/logs"]',
    'VOLUME /cache /tmp/x',
    'USER nobody:nogroup',
    'WORKDIR /app',
    'WORKDIR sub/dir',
    'STOPSIGNAL SIGQUIT',
    'ONBUILD RUN echo built',
  ]);
  assert.deepEqual(c.Labels, { a: 'b', 'c d': 'e f', version: '1.0' });
  assert.deepEqual(Object.keys(c.ExposedPorts ?? {}), ['80/tcp', '443/tcp', '53/udp', '8000/tcp', '8001/tcp', '8002/tcp']);
  assert.deepEqual(Object.keys(c.Volumes ?? {}), ['/data', '/logs', '/cache', '/tmp/x']);
  assert.equal(c.User, 'nobody:nogroup');
  assert.equal(c.WorkingDir, '/app/sub/dir');
  assert.equal(c.StopSignal, 'SIGQUIT');
  assert.deepEqual(c['OnBuild'], ['RUN echo built']);
  assert.equal(apply(['STOPSIGNAL 9']).StopSignal, '9');
  assert.equal(apply(['ENV D=/srv', 'WORKDIR $D/www']).WorkingDir, '/srv/www');
});

test('the base config is not modified; unrelated fields are kept', () => {
  const base = { Env: ['A=1'], Cmd: ['sh'], Hostname: 'h' };
  const c = apply(['ENV B=2'], base);
  assert.deepEqual(base.Env, ['A=1']);
  assert.equal(c['Hostname'], 'h');
  assert.deepEqual(c.Cmd, ['sh']);
});

test('line continuations, comments and several instructions in one value', () => {
  const c = apply(['# a comment\nENV A=1 \\\n    B=2\nCMD ["x"]']);
  assert.deepEqual(c.Env, ['A=1', 'B=2']);
  assert.deepEqual(c.Cmd, ['x']);
});

test('instructions that need a build, unknown ones and bad arguments are refused by name', () => {
  assert.throws(() => parseChanges(['RUN echo hi']), invalid(/"RUN echo hi".*RUN is not allowed/));
  assert.throws(() => parseChanges(['FROM busybox']), invalid(/FROM is not allowed/));
  assert.throws(() => parseChanges(['HEALTHCHECK CMD true']), invalid(/HEALTHCHECK is not allowed/));
  assert.throws(() => parseChanges(['FOO bar']), invalid(/unknown instruction "FOO"/));
  assert.throws(() => parseChanges(['']), invalid(/empty/));
  assert.throws(() => parseChanges(['ENV']), invalid(/ENV needs an argument/));
  assert.throws(() => parseChanges(['ENV A']), invalid(/ENV needs a value/));
  assert.throws(() => parseChanges(['ENV A=1 B']), invalid(/"B" is not name=value/));
  assert.throws(() => parseChanges(['ENV A="unterminated']), invalid(/unterminated double quote/));
  assert.throws(() => parseChanges(['EXPOSE 80/icmp']), invalid(/"80\/icmp" is not a port/));
  assert.throws(() => parseChanges(['EXPOSE 70000']), invalid(/not within 1-65535/));
  assert.throws(() => parseChanges(['ONBUILD ONBUILD RUN x']), invalid(/ONBUILD ONBUILD is not allowed/));
  assert.throws(() => parseChanges(['CMD']), invalid(/CMD needs a command/));
  assert.throws(() => apply(['STOPSIGNAL not-a-signal']), invalid(/is not a signal/));
  assert.throws(() => apply(['ENV A=${B:?x}']), invalid(/bad substitution/));
  const err = (() => {
    try {
      parseChanges(['ADD . /']);
    } catch (e) {
      return e as BerthError;
    }
    return undefined;
  })();
  assert.match(err?.hint ?? '', /CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR/);
});
