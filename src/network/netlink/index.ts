/** rtnetlink from TypeScript: see rtnetlink.ts for the operations, socket.ts for the protocol. */
export { Rtnetlink } from './rtnetlink';
export { NetlinkSocket } from './socket';
export type { Address, Link, Neighbour, Route } from './objects';
export type { AddressOptions, LinkChanges, LinkRef, RouteSpec, VethOptions } from './requests';
export { AF_INET, AF_INET6, AF_UNSPEC, IFF_UP, IFF_LOWER_UP } from './constants';
export { formatIp, formatMac, parseIp, parseMac, parsePrefix } from './addr';
