/*
 * A minimal streaming JSON writer for berth-checker. Output goes to stdout; the writer
 * tracks whether a separator is needed at each nesting level so callers never emit commas.
 * A NULL key means "array element" (or the top-level value).
 */
#ifndef BERTH_CHECKER_JSON_H
#define BERTH_CHECKER_JSON_H

#include <stdint.h>

void json_begin_object(const char *key);
void json_end_object(void);
void json_begin_array(const char *key);
void json_end_array(void);
void json_string(const char *key, const char *value); /* NULL value prints null */
void json_int(const char *key, long long value);
void json_uint(const char *key, unsigned long long value);
void json_bool(const char *key, int value);
void json_null(const char *key);
/* Terminates the document with a newline and flushes stdout. */
void json_finish(void);

#endif
