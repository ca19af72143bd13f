/** The shim's wire formats and the detach-key matcher, as pure functions. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ATTACHED_LEN,
  MSG_ATTACHED,
  StreamDemuxer,
  controlFrame,
  helloMessage,
  muxFrame,
  parseAttached,
  resizeMessage,
} from '../../src/engine/shim/protocol';
import { DetachKeyMatcher, parseDetachKeys } from '../../src/engine/shim/detach-keys';
import { BerthError } from '../../src/core/errors';

test('docker stream frames: 8-byte header (stream, 0, 0, 0, big-endian length) + payload', () => {
  const f = muxFrame(2, Buffer.from('oops\n'));
  assert.deepEqual([...f.subarray(0, 8)], [2, 0, 0, 0, 0, 0, 0, 5]);
  assert.equal(f.subarray(8).toString(), 'oops\n');
  const big = muxFrame(1, Buffer.alloc(0x010203));
  assert.deepEqual([...big.subarray(0, 8)], [1, 0, 0, 0, 0, 1, 2, 3]);
});

test('demuxer: frames cut at every possible point come back whole and in order', () => {
  const frames = [muxFrame(1, Buffer.from('hello ')), muxFrame(2, Buffer.from('err')), muxFrame(1, Buffer.alloc(0)), muxFrame(1, Buffer.from('world\n'))];
  const wire = Buffer.concat(frames);
  for (let cut1 = 0; cut1 <= wire.length; cut1++) {
    for (let cut2 = cut1; cut2 <= wire.length; cut2 += 3) {
      const d = new StreamDemuxer();
      const got = [...d.push(wire.subarray(0, cut1)), ...d.push(wire.subarray(cut1, cut2)), ...d.push(wire.subarray(cut2))];
      assert.deepEqual(
        got.map((c) => [c.stream, c.data.toString()]),
        [[1, 'hello '], [2, 'err'], [1, ''], [1, 'world\n']],
        `cuts at ${cut1}, ${cut2}`,
      );
      assert.equal(d.pending, 0);
    }
  }
});

test('demuxer: a header that is not docker framing is an error, not garbage output', () => {
  assert.throws(() => new StreamDemuxer().push(Buffer.from('HTTP/1.1 200 OK\r\n')), (e: unknown) => e instanceof BerthError);
  assert.throws(() => new StreamDemuxer().push(Buffer.from([1, 0, 1, 0, 0, 0, 0, 0])), (e: unknown) => e instanceof BerthError);
});

test('attach messages: hello flags, resize rows/cols big-endian and clamped, the ATTACHED reply', () => {
  assert.deepEqual([...helloMessage({ stdout: true, stdin: true })], [1, 0, 0, 0, 0, 0, 0, 2, 1, 1 | 4]);
  assert.deepEqual([...helloMessage({})], [1, 0, 0, 0, 0, 0, 0, 2, 1, 0]);
  assert.deepEqual([...resizeMessage(300, 80)], [4, 0, 0, 0, 0, 0, 0, 4, 1, 44, 0, 80]);
  assert.deepEqual([...resizeMessage(-1, 1e9).subarray(8)], [0, 0, 255, 255]);
  const ack = Buffer.from([MSG_ATTACHED, 0, 0, 0, 0, 0, 0, 1, 3]);
  assert.equal(ack.length, ATTACHED_LEN);
  assert.deepEqual(parseAttached(ack), { tty: true, stdin: true });
  assert.deepEqual(parseAttached(Buffer.from([MSG_ATTACHED, 0, 0, 0, 0, 0, 0, 1, 0])), { tty: false, stdin: false });
  assert.throws(() => parseAttached(Buffer.from([1, 0, 0, 0, 0, 0, 0, 1, 0])), (e: unknown) => e instanceof BerthError);
});

test('control frames: little-endian type and length, as on the init sync channel', () => {
  const p = Buffer.alloc(4);
  p.writeUInt32LE(4242, 0);
  assert.deepEqual([...controlFrame(3, p)], [3, 0, 0, 0, 4, 0, 0, 0, 0x92, 0x10, 0, 0]);
});

test('detach keys: docker notation', () => {
  assert.deepEqual([...parseDetachKeys('ctrl-p,ctrl-q')], [16, 17]);
  assert.deepEqual([...parseDetachKeys('ctrl-a,x,ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_,CTRL-Z')], [1, 120, 0, 27, 28, 29, 30, 31, 26]);
  for (const bad of ['', 'ctrl-', 'ctrl-1', 'ab', 'ctrl-p,,ctrl-q', 'é']) {
    assert.throws(() => parseDetachKeys(bad), (e: unknown) => e instanceof BerthError && e.code === 'EINVALID_ARGUMENT', bad);
  }
});

test('detach matcher: a partial match is held, then released unchanged when the sequence breaks', () => {
  const m = new DetachKeyMatcher(Buffer.from([16, 17]));
  assert.deepEqual(m.feed(Buffer.from('ab')), { forward: Buffer.from('ab'), detach: false });
  assert.deepEqual(m.feed(Buffer.from([16])), { forward: Buffer.alloc(0), detach: false }, 'held');
  assert.deepEqual(m.feed(Buffer.from('x')), { forward: Buffer.from([16, 120]), detach: false }, 'released with the next byte');
  assert.deepEqual(m.feed(Buffer.from([16, 16])), { forward: Buffer.from([16]), detach: false }, 'a repeated first key restarts the match');
  assert.deepEqual(m.feed(Buffer.from([17, 99])), { forward: Buffer.alloc(0), detach: true }, 'completed across chunks; the rest is dropped');
  const once = new DetachKeyMatcher(Buffer.from([16, 17]));
  assert.deepEqual(once.feed(Buffer.from([104, 105, 16, 17, 106])), { forward: Buffer.from('hi'), detach: true }, 'mid-chunk');
  const none = new DetachKeyMatcher(Buffer.alloc(0));
  assert.deepEqual(none.feed(Buffer.from([16, 17])), { forward: Buffer.from([16, 17]), detach: false }, 'no keys: nothing detaches');
});
