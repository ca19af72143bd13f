/* Streaming JSON writer: see json.h. */
#include "json.h"

#include <stdio.h>

#define MAX_DEPTH 32

/* need_comma[d] is set once level d has printed its first member. */
static int need_comma[MAX_DEPTH];
static int depth;

static void write_escaped(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", stdout); break;
        case '\\': fputs("\\\\", stdout); break;
        case '\n': fputs("\\n", stdout); break;
        case '\r': fputs("\\r", stdout); break;
        case '\t': fputs("\\t", stdout); break;
        default:
            /* Control bytes and non-ASCII are escaped byte-wise so the output is always
             * valid JSON even when a path holds invalid UTF-8. */
            if (*p < 0x20 || *p >= 0x7f)
                printf("\\u%04x", *p);
            else
                putchar(*p);
        }
    }
    putchar('"');
}

static void member_prefix(const char *key)
{
    if (need_comma[depth])
        putchar(',');
    need_comma[depth] = 1;
    if (key) {
        write_escaped(key);
        putchar(':');
    }
}

static void open_level(const char *key, char bracket)
{
    member_prefix(key);
    putchar(bracket);
    if (depth + 1 < MAX_DEPTH)
        depth++;
    need_comma[depth] = 0;
}

static void close_level(char bracket)
{
    if (depth > 0)
        depth--;
    putchar(bracket);
}

void json_begin_object(const char *key) { open_level(key, '{'); }
void json_end_object(void) { close_level('}'); }
void json_begin_array(const char *key) { open_level(key, '['); }
void json_end_array(void) { close_level(']'); }

void json_string(const char *key, const char *value)
{
    member_prefix(key);
    if (value)
        write_escaped(value);
    else
        fputs("null", stdout);
}

void json_int(const char *key, long long value)
{
    member_prefix(key);
    printf("%lld", value);
}

void json_uint(const char *key, unsigned long long value)
{
    member_prefix(key);
    printf("%llu", value);
}

void json_bool(const char *key, int value)
{
    member_prefix(key);
    fputs(value ? "true" : "false", stdout);
}

void json_null(const char *key)
{
    member_prefix(key);
    fputs("null", stdout);
}

void json_finish(void)
{
    putchar('\n');
    fflush(stdout);
}
