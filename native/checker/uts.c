/* Hostname and NIS domain name as seen through uname(2), i.e. from the UTS namespace. */
#include "checker.h"
#include "json.h"

#include <sys/utsname.h>

void report_uts(void)
{
    struct utsname u;
    if (uname(&u) == 0) {
        json_string("hostname", u.nodename);
        json_string("domainname", u.domainname);
    } else {
        json_null("hostname");
        json_null("domainname");
    }
}
