/*
 * docker's json-file log driver, written by the shim:
 *
 *   {"log":"hello\n","stream":"stdout","time":"2024-05-01T10:00:00.123456789Z"}
 *
 * Lines are cut as docker's log copier cuts them: at each newline (kept in "log"), or as a
 * partial entry without the newline when 16 KiB arrive without one, or at the end of the
 * stream. The pieces of one long line share the time of its first piece. Times are UTC in
 * Go's RFC3339Nano (fraction without trailing zeros). Strings are escaped as Go's encoder
 * does (<, >, & and U+2028/9 as \u escapes; invalid UTF-8 as U+FFFD), so the files are
 * byte-compatible with docker's and readable by tools that read docker's.
 *
 * Rotation as docker's: before writing an entry, if the file has reached max-size, it
 * becomes <log>.1 (older ones shift up, the oldest beyond max-file is dropped) and a new
 * file starts. With max-file 1 the file is truncated instead.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LINE_CAP 16384 /* docker's copier buffer: longer lines become partial entries */

struct linebuf {
  char buf[LINE_CAP];
  size_t n;
  int partial; /* a partial entry of the current line was written */
  struct timespec partial_ts;
};

static struct linebuf lines[3];
static int log_fd = -1;
static long long log_size;
static char out[16384];
static size_t outlen;
static int write_failed;

static void flush(void) {
  if (outlen == 0 || log_fd < 0) {
    outlen = 0;
    return;
  }
  if (write_all(log_fd, out, outlen) < 0) {
    if (!write_failed) diag("write %s: %m (log entries are being dropped)", S.o.log_path);
    write_failed = 1;
  } else {
    write_failed = 0;
  }
  outlen = 0;
}

static void put(const char *s, size_t n) {
  while (n > 0) {
    if (outlen == sizeof out) flush();
    size_t k = sizeof out - outlen < n ? sizeof out - outlen : n;
    memcpy(out + outlen, s, k);
    outlen += k;
    log_size += (long long)k;
    s += k;
    n -= k;
  }
}

static void puts_(const char *s) { put(s, strlen(s)); }

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when it is invalid or cut short. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  if (c < 0x80) return 1;
  size_t need;
  unsigned lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) need = 2;
  else if (c >= 0xE0 && c <= 0xEF) {
    need = 3;
    if (c == 0xE0) lo = 0xA0;      /* overlong */
    else if (c == 0xED) hi = 0x9F; /* surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 4;
    if (c == 0xF0) lo = 0x90;      /* overlong */
    else if (c == 0xF4) hi = 0x8F; /* beyond U+10FFFF */
  } else {
    return 0;
  }
  if (n < need) return 0;
  if (s[1] < lo || s[1] > hi) return 0;
  for (size_t i = 2; i < need; i++)
    if (s[i] < 0x80 || s[i] > 0xBF) return 0;
  return need;
}

static void put_escaped(const char *data, size_t len) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *s = (const unsigned char *)data;
  size_t i = 0;
  while (i < len) {
    unsigned c = s[i];
    if (c >= 0x80) {
      size_t k = utf8_seq(s + i, len - i);
      if (k == 0) {
        puts_("\\ufffd");
        i++;
      } else if (k == 3 && c == 0xE2 && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9)) {
        puts_(s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029");
        i += 3;
      } else {
        put(data + i, k);
        i += k;
      }
      continue;
    }
    /* plain runs go out in one copy */
    size_t j = i;
    while (j < len && s[j] >= 0x20 && s[j] < 0x80 && s[j] != '"' && s[j] != '\\' && s[j] != '<' && s[j] != '>' && s[j] != '&')
      j++;
    if (j > i) {
      put(data + i, j - i);
      i = j;
      continue;
    }
    char esc[7];
    switch (c) {
    case '"': puts_("\\\""); break;
    case '\\': puts_("\\\\"); break;
    case '\n': puts_("\\n"); break;
    case '\r': puts_("\\r"); break;
    case '\t': puts_("\\t"); break;
    default:
      esc[0] = '\\', esc[1] = 'u', esc[2] = '0', esc[3] = '0', esc[4] = hex[c >> 4], esc[5] = hex[c & 15], esc[6] = 0;
      puts_(esc);
    }
    i++;
  }
}

static void rotated_name(char *buf, size_t cap, int n) {
  if (n == 0) snprintf(buf, cap, "%s", S.o.log_path);
  else snprintf(buf, cap, "%s.%d", S.o.log_path, n);
}

static void open_log(int truncate) {
  log_fd = open(S.o.log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0), 0640);
  if (log_fd < 0) {
    diag("open %s: %m (no log)", S.o.log_path);
    return;
  }
  struct stat st;
  log_size = fstat(log_fd, &st) == 0 ? st.st_size : 0;
}

static void rotate(void) {
  flush();
  close(log_fd);
  log_fd = -1;
  if (S.o.log_max_files > 1) {
    char from[PATH_MAX], to[PATH_MAX];
    for (int i = S.o.log_max_files - 1; i >= 1; i--) {
      rotated_name(from, sizeof from, i - 1);
      rotated_name(to, sizeof to, i);
      if (rename(from, to) < 0 && errno != ENOENT) diag("rotate %s -> %s: %m", from, to);
    }
  }
  open_log(S.o.log_max_files == 1);
}

static void emit(int stream, const char *data, size_t len, int complete, const struct timespec *ts) {
  if (log_fd < 0) return;
  if (S.o.log_max_size > 0 && log_size >= S.o.log_max_size) {
    rotate();
    if (log_fd < 0) return;
  }
  char when[48] = "";
  format_time(when, sizeof when, ts);
  puts_("{\"log\":\"");
  put_escaped(data, len);
  puts_(complete ? "\\n\",\"stream\":\"" : "\",\"stream\":\"");
  puts_(stream == STREAM_STDERR ? "stderr" : "stdout");
  puts_("\",\"time\":\"");
  puts_(when);
  puts_("\"}\n");
}

void log_open(void) {
  if (S.o.log_path) open_log(0);
}

void log_feed(int stream, const char *data, size_t len) {
  if (log_fd < 0) return;
  struct linebuf *b = &lines[stream];
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  while (len > 0) {
    size_t take = LINE_CAP - b->n < len ? LINE_CAP - b->n : len;
    memcpy(b->buf + b->n, data, take);
    b->n += take;
    data += take;
    len -= take;
    size_t p = 0;
    char *nl;
    while ((nl = memchr(b->buf + p, '\n', b->n - p))) {
      size_t q = (size_t)(nl - (b->buf + p));
      emit(stream, b->buf + p, q, 1, b->partial ? &b->partial_ts : &now);
      b->partial = 0;
      p += q + 1;
    }
    if (p == 0 && b->n == LINE_CAP) {
      if (!b->partial) b->partial_ts = now;
      emit(stream, b->buf, b->n, 0, &b->partial_ts);
      b->partial = 1;
      b->n = 0;
    } else if (p > 0) {
      memmove(b->buf, b->buf + p, b->n - p);
      b->n -= p;
    }
  }
  flush();
}

void log_eof(int stream) {
  struct linebuf *b = &lines[stream];
  if (log_fd >= 0 && b->n > 0) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    emit(stream, b->buf, b->n, 0, b->partial ? &b->partial_ts : &now);
    flush();
  }
  b->n = 0;
  b->partial = 0;
}

void log_close(void) {
  if (log_fd < 0) return;
  flush();
  close(log_fd);
  log_fd = -1;
}
