/*
 * Brings up "lo" in a new network namespace. A fresh netns has its loopback interface down,
 * so 127.0.0.1 would be unreachable. runc brings it up for every new network namespace (its
 * implicit "loopback" network), so the plan sets this flag whenever the netns is new, for
 * the engine and the runtime CLI alike; a joined namespace is left as its owner set it up.
 */
#include "init.h"

#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

void loopback_up(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) fail("loopback", "socket");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) fail("loopback", "get flags of lo");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) fail("loopback", "bring lo up");
  close(s);
}
