/**
 * A UDP responder to run inside a busybox container. Busybox's `nc -u -l -p` would do, but
 * Debian's busybox-static builds nc without -u (and without udpsvd), so when it lacks it the
 * test compiles a static ten-line responder with the host's C compiler and bind-mounts it in.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const SOURCE = `
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
/* udp-pong PORT: answers every datagram with "pong " and the datagram. */
int main(int argc, char **argv) {
  if (argc < 2) return 2;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)atoi(argv[1]));
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0) return 1;
  for (;;) {
    char buf[1500];
    struct sockaddr_in peer;
    socklen_t len = sizeof peer;
    ssize_t n = recvfrom(fd, buf + 5, sizeof buf - 5, 0, (struct sockaddr *)&peer, &len);
    if (n < 0) continue;
    memcpy(buf, "pong ", 5);
    sendto(fd, buf, (size_t)n + 5, 0, (struct sockaddr *)&peer, len);
  }
}
`;

/** Whether the busybox on this host has `nc -u`. */
export function busyboxHasUdpNc(): boolean {
  const help = spawnSync('busybox', ['nc', '--help'], { encoding: 'utf8' });
  return /-u\b/.test(`${help.stdout}${help.stderr}`);
}

/**
 * The command (inside the container) that answers UDP on `port`, and the `-v` flags it needs:
 * busybox nc when it can, else the compiled responder from `scratchDir`. Undefined (with the
 * reason) when neither is possible.
 */
export function udpServer(scratchDir: string, port: number): { volumes: string[]; command: string[]; expect: (sent: string) => string } | { reason: string } {
  if (busyboxHasUdpNc()) {
    return { volumes: [], command: ['sh', '-c', `while true; do echo pong | nc -u -l -p ${port} -w 1; done`], expect: () => 'pong\n' };
  }
  const src = join(scratchDir, 'udp-pong.c');
  const bin = join(scratchDir, 'udp-pong');
  writeFileSync(src, SOURCE);
  try {
    execFileSync('cc', ['-static', '-O2', '-o', bin, src], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    return { reason: `busybox nc has no -u and no static C compiler is available (${(e as Error).message.split('\n')[0]})` };
  }
  return { volumes: ['-v', `${bin}:/bin/udp-pong:ro`], command: ['/bin/udp-pong', String(port)], expect: (sent) => `pong ${sent}` };
}
