/**
 * rtnetlink encoding and decoding, against byte layouts derived from the kernel's UAPI
 * headers (linux/netlink.h, rtnetlink.h, if_link.h, if_addr.h, neighbour.h) and against the
 * exact requests iproute2 6.1 sends for the same commands, captured with
 * `strace -e trace=sendmsg -e write=3 ip ...` inside a throwaway `unshare -n` namespace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attr, nested, parseAttrs, readStr, readU32, str, u32 } from '../../src/network/netlink/attrs';
import { formatIp, formatMac, parseIp, parseMac, parsePrefix } from '../../src/network/netlink/addr';
import * as C from '../../src/network/netlink/constants';
import { decodeError, decodeMessages, encodeIfInfo, encodeMessage } from '../../src/network/netlink/message';
import { toAddress, toLink, toRoute } from '../../src/network/netlink/objects';
import * as R from '../../src/network/netlink/requests';
import { requestError } from '../../src/network/netlink/errors';
import { BerthError } from '../../src/core/errors';
import { sysctlPath } from '../../src/network/netns';

/** The whole request as the socket would send it (REQUEST|ACK added, seq zeroed for comparing). */
function wire(r: R.Request): string {
  const b = encodeMessage(r.type, r.flags | C.NLM_F_REQUEST | C.NLM_F_ACK, 0, r.parts);
  return b.toString('hex');
}

/** An iproute2 capture with its sequence number (bytes 8..11) zeroed. */
function captured(hex: string): string {
  return hex.slice(0, 16) + '00000000' + hex.slice(24);
}

test('attributes: length excludes padding, payload padded to 4 bytes, nested ones concatenate', () => {
  assert.equal(attr(3, Buffer.from('ab')).toString('hex'), '0600030061620000');
  assert.equal(str(3, 'eth0').toString('hex'), '0900030065746830' + '00000000');
  assert.equal(u32(4, 1500).toString('hex'), '08000400dc050000');
  const n = nested(18, [u32(1, 7), str(2, 'x')]);
  // Children are padded inside their parent; only the parent's own tail padding is uncounted.
  assert.equal(n.readUInt16LE(0), 4 + 8 + 8);
  assert.equal(n.length, 4 + 8 + 8);
  const inner = parseAttrs(n.subarray(4));
  assert.equal(readU32(inner, 1), 7);
  assert.equal(readStr(inner, 2), 'x');
  // The nested and byte-order flags are not part of the type.
  const flagged = Buffer.from('0800' + '1280' + '01000000', 'hex');
  assert.equal(readU32(parseAttrs(flagged), 18), 1);
  assert.throws(() => parseAttrs(Buffer.from('0900030065', 'hex')), /malformed netlink attribute/);
});

test('nlmsghdr: 16 bytes, total length first, then type, flags, seq, pid (all little-endian)', () => {
  const m = encodeMessage(C.RTM_GETLINK, C.NLM_F_REQUEST | C.NLM_F_DUMP, 0x01020304, [encodeIfInfo({})]);
  assert.equal(m.toString('hex'), '20000000' + '1200' + '0103' + '04030201' + '00000000' + '00'.repeat(16));
  const [d] = decodeMessages(Buffer.concat([m, m]).subarray(0, 32));
  assert.equal(d!.type, C.RTM_GETLINK);
  assert.equal(d!.seq, 0x01020304);
  assert.equal(d!.payload.length, 16);
  assert.equal(decodeMessages(Buffer.concat([m, m])).length, 2);
  assert.throws(() => decodeMessages(Buffer.from('ff000000120001030403020100000000', 'hex')), /malformed netlink message/);
});

test('ip link add vethA mtu 1400 type veth peer name eth0 mtu 1400: same bytes as iproute2', () => {
  const ip = '6c00000010000506b022176b000000000000000000000000000000000000000008000400780500000a00030076657468410000003800120008000100766574682c00020028000100000000000000000000000000000000000800040078050000090003006574683000000000';
  assert.equal(wire(R.createVeth('vethA', { peerName: 'eth0', mtu: 1400 })), captured(ip));
});

test('ip link add br2 type bridge stp_state 0 mcast_snooping 0: same bytes as iproute2', () => {
  const ip = '4c00000010000506b022176b00000000000000000000000000000000000000000800030062723200240012000a00010062726964676500001400020008000500000000000500170000000000';
  assert.equal(wire(R.createBridge('br2')), captured(ip));
});

test('ip addr add (IPv4, and IPv6 nodad): same bytes as iproute2', () => {
  const v4 = '2800000014000506b022176b000000000218000004000000080002000a010203080001000a010203';
  assert.equal(wire(R.addAddress(4, '10.1.2.3/24')), captured(v4));
  const v6 = '4000000014000506b022176b000000000a4002000400000014000200fd00000000000000000000000000000214000100fd000000000000000000000000000002';
  assert.equal(wire(R.addAddress(4, 'fd00::2/64', { nodad: true })), captured(v6));
  // brd +: the subnet's last address as IFA_BROADCAST.
  const brd = R.addAddress(4, '10.88.0.2/16', { broadcast: true });
  assert.equal(brd.parts[3]!.toString('hex'), '080004000a58ffff');
});

test('ip link set dev vethA up / master br0 / ip link del: same bytes as iproute2', () => {
  assert.equal(wire(R.setLink(4, { up: true })), captured('2000000010000500b022176b0000000000000000040000000100000001000000'));
  assert.equal(wire(R.setLink(4, { master: 2 })), captured('2800000010000500b022176b000000000000000004000000000000000000000008000a0002000000'));
  assert.equal(wire(R.deleteLink(4)), captured('2000000011000500b022176b0000000000000000040000000000000000000000'));
});

test('ip route add default via 10.1.2.1 and ip neigh replace: same bytes as iproute2', () => {
  assert.equal(wire(R.addRoute({ gateway: '10.1.2.1' })), captured('2400000018000506b022176b0000000002000000fe03000100000000080005000a010201'));
  const neigh = '300000001c000505b122176b00000000020000000400000080000000080001000a0102090a00020002420a0102090000';
  assert.equal(wire(R.setNeighbour(4, '10.1.2.9', '02:42:0a:01:02:09')), captured(neigh));
});

test('a veth peer created in another netns carries IFLA_NET_NS_FD inside VETH_INFO_PEER only', () => {
  const r = R.createVeth('vb1', { peerName: 'eth0', peerNetnsFd: 42, peerMac: '02:42:ac:11:00:02' });
  const top = parseAttrs(Buffer.concat(r.parts.slice(1)));
  assert.equal(top.get(C.IFLA_NET_NS_FD), undefined, 'the host end stays here');
  const info = parseAttrs(top.get(C.IFLA_LINKINFO)!);
  const peer = parseAttrs(parseAttrs(info.get(C.IFLA_INFO_DATA)!).get(C.VETH_INFO_PEER)!.subarray(C.IFINFOMSG_LEN));
  assert.equal(readU32(peer, C.IFLA_NET_NS_FD), 42);
  assert.equal(readStr(peer, C.IFLA_IFNAME), 'eth0');
  assert.equal(formatMac(peer.get(C.IFLA_ADDRESS)!), '02:42:ac:11:00:02');
});

test('routes: an IPv6 default route, an on-link route, a table above 255 goes in RTA_TABLE', () => {
  const v6 = R.addRoute({ gateway: 'fd00::1' });
  assert.equal(v6.parts[0]!.readUInt8(0), C.AF_INET6);
  const link = R.addRoute({ dst: '10.9.0.0/16', oif: 3 });
  assert.equal(link.parts[0]!.readUInt8(6), C.RT_SCOPE_LINK);
  assert.equal(link.parts[0]!.readUInt8(1), 16);
  const t = R.addRoute({ gateway: '10.0.0.1', table: 1000 });
  assert.equal(t.parts[0]!.readUInt8(4), 0);
  assert.equal(readU32(parseAttrs(Buffer.concat(t.parts.slice(1))), C.RTA_TABLE), 1000);
  assert.throws(() => R.addRoute({ dst: '10.0.0.0/8', gateway: 'fd00::1' }), /not of the destination's address family/);
  assert.throws(() => R.addRoute({}), /give a destination or a gateway/);
});

test('bad input is one clear error naming the value', () => {
  assert.throws(() => R.createBridge('this-name-is-too-long'), (e: unknown) => e instanceof BerthError && e.code === 'EINVALID_ARGUMENT' && /interface name "this-name-is-too-long"/.test(e.message) && /15 bytes/.test(e.hint ?? ''));
  assert.throws(() => R.createBridge('a/b'), /invalid interface name/);
  assert.throws(() => R.createBridge('br0', { mtu: 10 }), /invalid MTU 10 for br0/);
  assert.throws(() => R.setLink(3, { mac: '02:42' }), /invalid MAC address "02:42"/);
  assert.throws(() => R.addAddress(3, '10.0.0.300/24'), /invalid IP address "10.0.0.300"/);
  assert.throws(() => R.addAddress(3, '10.0.0.3/33'), /invalid prefix "10.0.0.3\/33"/);
  assert.throws(() => R.setLink('eth0', { name: 'x' }), /give the link by its index to rename it/);
  assert.throws(() => sysctlPath('kernel.core_pattern'), /invalid network sysctl/);
  assert.throws(() => sysctlPath('net/ipv4/../../kernel/x'), /invalid network sysctl/);
  assert.equal(sysctlPath('net.ipv4.ip_forward'), '/proc/sys/net/ipv4/ip_forward');
  assert.equal(sysctlPath('net/ipv6/conf/eth0.100/disable_ipv6'), '/proc/sys/net/ipv6/conf/eth0.100/disable_ipv6');
});

test('addresses: IPv4/IPv6 text and bytes both ways, RFC 5952 output', () => {
  assert.deepEqual([...parseIp('10.88.0.2').bytes], [10, 88, 0, 2]);
  assert.equal(parseIp('fd00::2').bytes.toString('hex'), 'fd000000000000000000000000000002');
  assert.equal(parseIp('::ffff:10.0.0.1').bytes.toString('hex'), '00000000000000000000ffff0a000001');
  assert.equal(parseIp('::').bytes.toString('hex'), '0'.repeat(32));
  for (const t of ['fd00::2', '::1', '::', 'fe80::7421:9fff:fe68:ca10', '2001:db8:0:1:1:1:1:1', '2001:db8::1:0:0:1', '1::'])
    assert.equal(formatIp(parseIp(t).bytes), t);
  assert.equal(formatIp(parseIp('2001:0db8:0000:0000:0001:0000:0000:0001').bytes), '2001:db8::1:0:0:1');
  assert.deepEqual(parsePrefix('fd00::/64').prefixLen, 64);
  assert.deepEqual(parsePrefix('10.0.0.1').prefixLen, 32);
  assert.equal(formatMac(parseMac('02:42:AC:11:00:02')), '02:42:ac:11:00:02');
});

test('decoding: RTM_NEWLINK, RTM_NEWADDR and RTM_NEWROUTE payloads into objects', () => {
  const link = Buffer.concat([
    encodeIfInfo({ index: 5, flags: C.IFF_UP | C.IFF_LOWER_UP }),
    str(C.IFLA_IFNAME, 'veth1'),
    u32(C.IFLA_MTU, 1500),
    attr(C.IFLA_ADDRESS, parseMac('02:42:ac:11:00:02')),
    u32(C.IFLA_MASTER, 2),
    u32(C.IFLA_LINK, 9),
    nested(C.IFLA_LINKINFO, [str(C.IFLA_INFO_KIND, 'veth')]),
  ]);
  assert.deepEqual(toLink(link), { index: 5, name: 'veth1', flags: C.IFF_UP | C.IFF_LOWER_UP, up: true, mtu: 1500, mac: '02:42:ac:11:00:02', master: 2, peerIndex: 9, kind: 'veth' });
  // The kernel's answer to `ip addr add 10.1.2.3/24` (the request's own layout plus a label).
  const addrReq = R.addAddress(4, '10.1.2.3/24');
  const a = toAddress(Buffer.concat([...addrReq.parts, str(C.IFA_LABEL, 'vethA')]));
  assert.deepEqual(a, { index: 4, family: C.AF_INET, address: '10.1.2.3', prefixLen: 24, scope: 0, flags: 0, label: 'vethA' });
  const rt = toRoute(Buffer.concat([...R.addRoute({ gateway: '10.1.2.1', oif: 4 }).parts]));
  assert.equal(rt.gateway, '10.1.2.1');
  assert.equal(rt.oif, 4);
  assert.equal(rt.dst, undefined);
  assert.equal(rt.table, C.RT_TABLE_MAIN);
});

test('NLMSG_ERROR: an ACK, an errno, and the extended-ack message after a capped request', () => {
  const err = (errno: number, flags: number, tlvs: Buffer[] = []): ReturnType<typeof decodeError> => {
    const payload = Buffer.alloc(C.NLMSGERR_LEN);
    payload.writeInt32LE(-errno, 0);
    payload.writeUInt32LE(C.NLMSG_HDRLEN, 4);
    return decodeError({ type: C.NLMSG_ERROR, flags, seq: 1, pid: 0, payload: Buffer.concat([payload, ...tlvs]) });
  };
  assert.deepEqual(err(0, 0), { errno: 0 });
  assert.deepEqual(err(17, 0), { errno: 17 });
  assert.deepEqual(err(22, C.NLM_F_CAPPED | C.NLM_F_ACK_TLVS, [str(C.NLMSGERR_ATTR_MSG, 'Invalid MTU')]), { errno: 22, message: 'Invalid MTU' });
  const e = requestError({ op: 'create bridge', subject: 'br0' }, 17);
  assert.equal(e.code, 'EEXISTS');
  assert.match(e.message, /^create bridge br0: .*\(EEXIST\)$/);
  assert.ok(e.hint);
  assert.equal((e.cause as { code: string }).code, 'EEXIST');
  const e2 = requestError({ op: 'set link mtu 9', subject: '#3' }, 22, 'mtu less than device minimum');
  assert.equal(e2.code, 'EINVALID_ARGUMENT');
  assert.match(e2.message, /\(EINVAL\): mtu less than device minimum$/);
});
