import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostnameFile, hostsFile } from '../../src/engine/etc-files';

test('hosts: localhost lines, own address with fqdn, peers, --add-host', () => {
  const h = hostsFile({ hostname: 'web', domainname: 'example.org', addresses: ['172.18.0.2'], peers: [{ names: ['cache', 'redis'], ip: '172.18.0.3' }, { names: ['db'], ip: '10.0.0.5' }] });
  const lines = h.trimEnd().split('\n');
  assert.equal(lines[0], '127.0.0.1\tlocalhost');
  assert.ok(lines.includes('172.18.0.2\tweb.example.org web'));
  assert.ok(lines.includes('172.18.0.3\tcache redis'));
  assert.equal(lines[lines.length - 1], '10.0.0.5\tdb');
  assert.ok(hostsFile({ hostname: 'solo', addresses: [] }).includes('127.0.0.1\tsolo\n'), '--network none still resolves its name');
  assert.equal(hostsFile({ hostname: 'x', addresses: [], hostNetwork: true, hostHostsFile: '1.2.3.4 h\n', peers: [{ names: ['a'], ip: '5.6.7.8' }] }), '1.2.3.4 h\n5.6.7.8\ta\n');
  assert.equal(hostsFile({ hostname: 'x', addresses: [], hostNetwork: true, hostHostsFile: '1.2.3.4 h\n', peers: [{ names: ['b'], ip: '5.6.7.9' }] }), '1.2.3.4 h\n5.6.7.9\tb\n', '--add-host lines with --network host too');
  assert.equal(hostnameFile('web'), 'web\n');
});
