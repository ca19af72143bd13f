// "A port already bound on the host is refused before the container starts, naming the port
// and its holder": with real listeners this test opens on 127.0.0.1 (TCP and UDP).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { createSocket } from 'node:dgram';
import { BerthError } from '../../../src/core/errors';
import { parsePublishSpec } from '../../../src/network/ports/publish';
import { ephemeralRange, hostPortContext, resolvePublished } from '../../../src/network/ports/resolve';

test('a TCP and a UDP port held on 127.0.0.1 are refused, naming this process', async (t) => {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const tcpPort = (server.address() as AddressInfo).port;
  const udp = createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  t.after(() => udp.close());
  const udpPort = udp.address().port;

  const ctx = await hostPortContext([]);
  const me = new RegExp(`process ${process.pid} \\(`);
  for (const spec of [`${tcpPort}:80`, `127.0.0.1:${tcpPort}:80`, `${udpPort}:53/udp`]) {
    await assert.rejects(resolvePublished([parsePublishSpec(spec)], ctx), (e: unknown) => {
      assert.ok(e instanceof BerthError && e.code === 'EIN_USE', String(e));
      assert.match(e.message, new RegExp(`host port (127.0.0.1:)?${spec.split(':').slice(-2)[0]}/(tcp|udp) is already in use by`));
      assert.match(e.message, me);
      return true;
    });
  }
  // The same port on another protocol, and an automatic port, are fine; -p 80 never picks a held one.
  assert.equal((await resolvePublished([parsePublishSpec(`${tcpPort}:80/udp`)], ctx))[0]!.hostPort, tcpPort);
  const range = await ephemeralRange();
  const auto = (await resolvePublished([parsePublishSpec('80')], ctx))[0]!.hostPort;
  assert.ok(auto >= range.first && auto <= range.last);
  assert.ok(!ctx.sockets.some((s) => s.protocol === 'tcp' && s.port === auto));
});
