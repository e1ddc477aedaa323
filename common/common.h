/*
 * Small helpers shared by every program of samepage (prefix cm_): the
 * monotonic clock, size arguments, CSV and JSON text, file names and usage
 * errors.  No state, no allocation; each function is safe from any thread.
 */
#ifndef SAMEPAGE_COMMON_H
#define SAMEPAGE_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Seconds on CLOCK_MONOTONIC (for durations only). */
double cm_now(void);

/* bytes in MiB; a as a percentage of b (0 when b is 0) */
static inline double cm_mib(uint64_t bytes) { return (double)bytes / 1048576.0; }
static inline double cm_pct(uint64_t a, uint64_t b) { return b ? 100.0 * (double)a / (double)b : 0.0; }

/* A byte count: digits, then an optional K, M, G or T (powers of 1024), an
 * optional "i" after it and an optional "B" or "b" ("16K", "2MiB", "1G").
 * Zero and values that overflow 64 bits are refused.  true when valid. */
bool cm_parse_size(const char *s, uint64_t *out);

/* bytes for a reader: "512 bytes", "4 KiB", "2 MiB", "1 GiB" (the largest
 * unit that divides it exactly, else one decimal: "1.5 MiB").  Returns buf. */
const char *cm_size_text(uint64_t bytes, char *buf, size_t len);

/* An unsigned number in C notation (decimal, 0x hex, 0 octal), all of s,
 * no sign.  true when valid. */
bool cm_parse_u64(const char *s, uint64_t *out);

/* A duration in seconds (a decimal, fractions allowed) from min to 1e9.
 * true when valid. */
bool cm_parse_seconds(const char *s, double *out, double min);

/* One CSV field (RFC 4180): quoted when it holds a comma, quote or line
 * break, with quotes doubled. */
void cm_csv_field(FILE *f, const char *s);

/* A JSON string literal with quotes; control characters escaped, and each
 * byte that is not part of valid UTF-8 written as U+FFFD, so that the
 * output is always valid JSON. */
void cm_json_string(FILE *f, const char *s);
/* true when s is valid UTF-8 (RFC 3629) */
bool cm_utf8_valid(const char *s);
/* A file name as a JSON member: "KEY": "PATH", and when the path is not
 * valid UTF-8 also "KEY_hex": its bytes in hex, so nothing is lost. */
void cm_json_path(FILE *f, const char *key, const char *path);

/* The last component of a path ("a/b" -> "b"); the path itself when it
 * has no slash or ends in one.  Points into p. */
const char *cm_base_name(const char *p);

/* "PROG: <fmt with arg>" and the --help hint on stderr; returns 2, the exit
 * status of bad usage. */
int cm_usage_error(const char *prog, const char *fmt, const char *arg);

#endif
