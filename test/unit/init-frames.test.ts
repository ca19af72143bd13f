/** The sync channel's frame codec (src/runtime/init-frames.ts), without berth-init. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { FRAME, FrameReader, frame, initErrorMessage } from '../../src/runtime/init-frames';

/** Stands in for the socket: the reader only listens for data/end/close/error. */
function fakeSocket(): EventEmitter & { asSocket: Socket } {
  const e = new EventEmitter() as EventEmitter & { asSocket: Socket };
  e.asSocket = e as unknown as Socket;
  return e;
}

test('init frames: header is type and payload length, little-endian', () => {
  const f = frame(FRAME.STATE, '{}');
  assert.deepEqual([...f], [5, 0, 0, 0, 2, 0, 0, 0, 0x7b, 0x7d]);
  assert.equal(frame(FRAME.GO).length, 8, 'an empty payload is just the header');
});

test('init frames: the reader reassembles frames split across and packed into chunks', async () => {
  const sock = fakeSocket();
  const reader = new FrameReader(sock.asSocket);
  const pid = Buffer.alloc(4);
  pid.writeUInt32LE(4242, 0);
  const bytes = Buffer.concat([frame(FRAME.PID, pid), frame(FRAME.HOOKS), frame(FRAME.ERROR, 'exec: x')]);
  // One byte at a time for the first frame, then the rest in one chunk.
  for (let i = 0; i < 12; i++) sock.emit('data', bytes.subarray(i, i + 1));
  sock.emit('data', bytes.subarray(12));
  const first = await reader.next();
  assert.equal(first?.type, FRAME.PID);
  assert.equal(first?.payload.readUInt32LE(0), 4242);
  assert.equal((await reader.next())?.type, FRAME.HOOKS);
  const err = await reader.next();
  assert.equal(err?.type, FRAME.ERROR);
  assert.equal(err?.payload.toString(), 'exec: x');
  const pending = reader.next();
  sock.emit('end');
  assert.equal(await pending, null, 'EOF wakes a waiting reader with null');
});

test('init frames: a truncated frame at EOF is not delivered', async () => {
  const sock = fakeSocket();
  const reader = new FrameReader(sock.asSocket);
  sock.emit('data', frame(FRAME.STATE, 'abcdef').subarray(0, 10));
  sock.emit('close');
  assert.equal(await reader.next(), null);
});

test('init frames: error text lower-cases the strerror as Go does', () => {
  assert.equal(initErrorMessage(Buffer.from('exec: /bin/nope: No such file or directory (ENOENT)')), 'exec: /bin/nope: no such file or directory (ENOENT)');
  assert.equal(initErrorMessage(Buffer.from('mount: odd')), 'mount: odd', 'a message without an errno is left alone');
});
