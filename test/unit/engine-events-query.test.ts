/** `berth events`: docker's filter rules, the time window, and the line and JSON formats. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EngineEvent } from '../../src/engine/events';
import { inWindow, matchEvent, parseEventFilters } from '../../src/engine/events-query';
import { eventMessage, formatEventLine, formatEventTime } from '../../src/cli/engine/event-format';
import { Template } from '../../src/cli/format/template';

const ID = 'a'.repeat(64);
function ev(type: EngineEvent['Type'], action: string, id: string, attrs: Record<string, string>, timeNano = 1_714_557_600_123_456_000): EngineEvent {
  return { Type: type, Action: action, Actor: { ID: id, Attributes: attrs }, scope: 'local', time: Math.floor(timeNano / 1e9), timeNano };
}
const start = ev('container', 'start', ID, { image: 'busybox:test', name: 'web', tier: 'front' });
const exec = ev('container', 'exec_start: sh -c true', ID, { image: 'busybox:test', name: 'web' });
const health = ev('container', 'health_status: healthy', ID, { image: 'busybox:test', name: 'web' });
const pull = ev('image', 'pull', 'busybox:latest', { name: 'busybox:latest' });
const tag = ev('image', 'tag', 'sha256:' + 'b'.repeat(64), { name: 'mine:1' });
const vol = ev('volume', 'create', 'data', { driver: 'local' });

const pick = (filters: string[], events: EngineEvent[]) => events.filter((e) => matchEvent(e, parseEventFilters(filters))).map((e) => e.Action);
const all = [start, exec, health, pull, tag, vol];

test('event filters: values of one key are alternatives, different keys must all match', () => {
  assert.deepEqual(pick([], all).length, all.length);
  assert.deepEqual(pick(['type=image'], all), ['pull', 'tag']);
  assert.deepEqual(pick(['type=image', 'type=volume'], all), ['pull', 'tag', 'create']);
  assert.deepEqual(pick(['event=start'], all), ['start']);
  assert.deepEqual(pick(['event=exec_start'], all), ['exec_start: sh -c true'], 'exec_start matches its detailed form');
  assert.deepEqual(pick(['event=health_status'], all), ['health_status: healthy']);
  assert.deepEqual(pick(['event=health_status: healthy'], all), ['health_status: healthy']);
  assert.deepEqual(pick(['event=start', 'event=create'], all), ['start', 'create']);
  assert.deepEqual(pick(['event=create', 'type=container'], all), []);
});

test('event filters: container by id prefix or name (only container events), image, label, volume', () => {
  assert.deepEqual(pick(['container=web'], all).length, 3);
  assert.deepEqual(pick(['container=aaaa'], all).length, 3);
  assert.deepEqual(pick(['container=other'], all), []);
  assert.deepEqual(pick(['image=busybox'], all), ['start', 'exec_start: sh -c true', 'health_status: healthy', 'pull'], 'a repository matches its tagged names');
  assert.deepEqual(pick(['image=busybox:latest'], all), ['pull']);
  assert.deepEqual(pick(['image=mine:1'], all), ['tag']);
  assert.deepEqual(pick(['image=' + 'b'.repeat(64)], all), ['tag'], 'a bare hex id matches sha256:<hex>');
  assert.deepEqual(pick(['label=tier'], all), ['start']);
  assert.deepEqual(pick(['label=tier=front'], all), ['start']);
  assert.deepEqual(pick(['label=tier=back'], all), []);
  assert.deepEqual(pick(['volume=da'], all), ['create']);
});

test('event filters: unknown keys and types are refused with the accepted ones named', () => {
  assert.throws(() => parseEventFilters(['colour=red']), (e: Error & { hint?: string }) => /invalid filter 'colour'/.test(e.message) && /container/.test(e.hint ?? ''));
  assert.throws(() => parseEventFilters(['type=ship']), /invalid event type "ship"/);
  assert.throws(() => parseEventFilters(['event']), /invalid filter "event"/);
});

test('event window: since and until are inclusive nanosecond bounds', () => {
  const t = BigInt(start.timeNano);
  assert.ok(inWindow(start, {}));
  assert.ok(inWindow(start, { since: t, until: t }));
  assert.ok(!inWindow(start, { since: t + 1000n }));
  assert.ok(!inWindow(start, { until: t - 1000n }));
});

test('event lines: docker format with nine fraction digits, zone offset and sorted attributes', () => {
  assert.equal(formatEventTime(1_714_557_600_000_000_001n, 0), '2024-05-01T10:00:00.000000001Z');
  assert.equal(formatEventTime(1_714_557_600_000_000_000n, 120), '2024-05-01T12:00:00.000000000+02:00');
  assert.equal(formatEventTime(1_714_557_600_000_000_000n, -330), '2024-05-01T04:30:00.000000000-05:30');
  const line = formatEventLine(ev('container', 'start', ID, { name: 'web', image: 'busybox', b: '2' }, 1_714_557_600_000_000_000), 0);
  assert.equal(line, `2024-05-01T10:00:00.000000000Z container start ${ID} (b=2, image=busybox, name=web)\n`);
  assert.equal(formatEventLine(ev('volume', 'destroy', 'data', {}, 1_714_557_600_000_000_000), 0), '2024-05-01T10:00:00.000000000Z volume destroy data\n');
});

test('event templates see Go field names; json gives docker\'s message', () => {
  const msg = eventMessage(start);
  assert.equal(new Template('{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Status}} {{.From}}').execute(msg), 'container start web start busybox:test');
  const json = JSON.parse(new Template('{{json .}}').execute(msg)) as Record<string, unknown>;
  assert.deepEqual(Object.keys(json), ['status', 'id', 'from', 'Type', 'Action', 'Actor', 'scope', 'time', 'timeNano']);
  const volJson = JSON.parse(JSON.stringify(eventMessage(vol))) as Record<string, unknown>;
  assert.equal(volJson.status, undefined, 'volume events have no legacy fields');
});
