/* Multi-buffer SHA1 through libipsec-mb's job API (sha1_mb.c): many
 * independent pages hashed at once, one lane per page.  Built only when the
 * library is there (HAVE_IPSEC_MB); else every call says "not available". */
#ifndef SHA1_MB_H
#define SHA1_MB_H

#include "dedup.h"

/* The job API takes SHA1 messages up to 65534 bytes: larger pages go to
 * OpenSSL (hash.c). */
#define DD_MB_MAX_LEN 32768u

/* 1 when this build and this CPU can run the back end (DD_SHA1_MB_*). */
int dd_mb_supported(enum dd_sha1_impl impl);
/* Lanes hashed at once, and a word on the code path ("sha-ni"), for --stats. */
unsigned dd_mb_lanes(enum dd_sha1_impl impl);
const char *dd_mb_detail(enum dd_sha1_impl impl);

struct dd_mb;
struct dd_mb *dd_mb_new(enum dd_sha1_impl impl);
void dd_mb_free(struct dd_mb *m);
/* SHA1 of n buffers of len <= DD_MB_MAX_LEN bytes each into out[i]; 0, or
 * -1 when the library reports an error (a programming error, never input). */
int dd_mb_hash(struct dd_mb *m, const uint8_t *const *bufs, size_t n, size_t len, uint8_t (*out)[DD_DIGEST]);

#endif
