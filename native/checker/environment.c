/* The process environment, in order, as an array of "KEY=value" strings. */
#include "checker.h"
#include "json.h"

extern char **environ;

void report_environment(void)
{
    json_begin_array("env");
    for (char **e = environ; e && *e; e++)
        json_string(NULL, *e);
    json_end_array();
}
