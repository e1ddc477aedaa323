/*
 * dedup engine: hashes every page of a set of dumps with N worker threads
 * into one content table and computes the sharing metrics of docs/metrics.md (docs/design.md: data flow).
 * It reads dumps only through dumpparse.h and knows nothing of formats.
 */
#ifndef DEDUP_H
#define DEDUP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dumpparse.h"

#define DD_DIGEST 20 /* bytes kept per content (SHA1 size; xxh128 pads with zeros) */

enum dd_hash { DD_HASH_SHA1, DD_HASH_XXH128 };
const char *dd_hash_name(enum dd_hash h);
int dd_hash_parse(const char *s, enum dd_hash *out);

/* SHA1 back ends, all with the same digests.  AUTO: the one named by the
 * environment variable DD_SHA1_ENV if set, else the fastest here
 * (libipsec-mb AVX-512, AVX2, SSE/SHA-NI, else OpenSSL).  MB: the fastest
 * libipsec-mb one. */
enum dd_sha1_impl {
	DD_SHA1_AUTO,
	DD_SHA1_OPENSSL,
	DD_SHA1_MB,
	DD_SHA1_MB_AVX512,
	DD_SHA1_MB_AVX2,
	DD_SHA1_MB_SSE,
};
#define DD_SHA1_ENV "SAMEPAGE_SHA1"
int dd_sha1_impl_parse(const char *s, enum dd_sha1_impl *out); /* "auto", "openssl", "ipsec-mb", ... */
const char *dd_sha1_impl_name(enum dd_sha1_impl impl);
/* The back end that runs for `want` on this machine (never AUTO or MB); -1
 * with a message in why when it is not available or the environment names
 * an unknown one. */
int dd_sha1_resolve(enum dd_sha1_impl want, enum dd_sha1_impl *out, char *why, size_t whylen);
/* e.g. "sha1: ipsec-mb avx512, 16 lanes", "sha1: openssl", "xxh128: libxxhash avx512" */
const char *dd_hash_describe(enum dd_hash h, enum dd_sha1_impl impl, char *buf, size_t len);

/* ---- per-thread hasher ---- */
struct dd_hasher;
/* impl: a resolved back end (dd_sha1_resolve); ignored for xxh128 */
struct dd_hasher *dd_hasher_new_impl(enum dd_hash h, enum dd_sha1_impl impl);
struct dd_hasher *dd_hasher_new(enum dd_hash h); /* the AUTO back end */
void dd_hasher_free(struct dd_hasher *hs);
void dd_hasher_page(struct dd_hasher *hs, const uint8_t *data, size_t len, uint8_t out[DD_DIGEST]);
/* n pages of len bytes at once (multi-buffer back ends hash them side by
 * side); the engine hands over the non-zero pages of up to DD_HASH_BATCH
 * (a whole unit), so that the lanes run partly empty once per unit, not
 * once every 64 pages (about 3 % of a SHA1 run on a large core). */
#define DD_HASH_BATCH 256
void dd_hasher_pages(struct dd_hasher *hs, const uint8_t *const *pages, size_t n, size_t len,
		     uint8_t (*out)[DD_DIGEST]);

/* ---- read-ahead (ahead.c): the file at path into the page cache, ahead
 * of workers that have processed *done of total bytes; NULL (no thread)
 * when path is not a regular file. ---- */
struct dd_ahead;
struct dd_ahead *dd_ahead_start(const char *path, const atomic_uint_fast64_t *done, uint64_t total);
void dd_ahead_stop(struct dd_ahead *a);

/* ---- content table: key -> copies, dumps that hold it ---- */
#define DD_KEY 16 /* digest bytes compared: all of XXH128, the first 128 bits of SHA1 */
#define DD_MAX_DUMPS ((1u << 28) - 1)

/* what a page holds (kept per content, for the top contents report) */
enum dd_class { DD_CLASS_OTHER, DD_CLASS_ZERO, DD_CLASS_BYTE, DD_CLASS_PATTERN, DD_CLASS_TEXT };
const char *dd_class_name(enum dd_class c);
enum dd_class dd_classify(const uint8_t *page, size_t len);

struct dd_entry {
	uint8_t key[DD_KEY];
	uint32_t count;           /* copies in all committed dumps */
	unsigned int ndumps : 28; /* committed dumps holding at least one copy */
	unsigned int cls : 4;     /* enum dd_class of the first copy */
	uint32_t cur;             /* copies in the dump being read */
};

struct dd_table;
struct dd_table *dd_table_new(void);
void dd_table_free(struct dd_table *t);
/* Thread-safe.  One more copy of `key` in the dump being read; `page` (may
 * be NULL) classifies a new content.  Returns 1 for the first copy in this
 * dump, 0 for a later one, -1 when a limit is hit (out of memory, 2^24
 * contents in one shard, 2^32 copies). */
int dd_table_add(struct dd_table *t, const uint8_t *key, const uint8_t *page, size_t len, uint32_t *id);
/* The same for n copies of a content of a known class (fingerprints). */
int dd_table_add_n(struct dd_table *t, const uint8_t *key, enum dd_class cls, uint32_t n, uint32_t *id);
/* Thread-safe.  nk keys of one shard (the same first byte), keys[i] with
 * n[i] copies, of class OTHER, under one lock: the number of them that were
 * first copies in this dump, or -1 when a limit is hit. */
int dd_table_add_group(struct dd_table *t, const uint8_t (*keys)[DD_KEY], const uint32_t *n, size_t nk);
/* End of a dump: fold its copies in (0), or forget them (rollback).  commit
 * calls fn (may be NULL) for each content of the dump, in ascending id order,
 * with the copies it has in this dump. */
int dd_table_commit(struct dd_table *t, void (*fn)(uint32_t id, uint32_t copies, void *arg), void *arg);
int dd_table_rollback(struct dd_table *t);
uint64_t dd_table_size(const struct dd_table *t);
uint64_t dd_table_bytes(const struct dd_table *t);
/* Calls fn for every entry; stops early when fn returns non-zero. */
int dd_table_each(const struct dd_table *t, int (*fn)(const struct dd_entry *e, void *arg), void *arg);
/* Asks the CPU to fetch what adding these n keys (keys + i * stride) will
 * read first, so that the cache misses of a batch overlap; changes nothing. */
void dd_table_prefetch(const struct dd_table *t, const uint8_t *keys, size_t stride, size_t n);
/* The entry of a stable 32-bit id (as dd_table_add gives), or NULL. */
const struct dd_entry *dd_table_get(const struct dd_table *t, uint32_t id);

/* ---- per-dump results (docs/metrics.md) ---- */
struct dd_dump_stats {
	uint64_t pages;          /* P_v: present pages */
	uint64_t absent_pages;   /* A_v */
	uint64_t zero_pages;     /* Z_v */
	uint64_t nonzero_pages;  /* N_v */
	uint64_t distinct_pages; /* D_v */
	uint64_t intra_pages;    /* N_v - D_v */
	uint64_t known_zero;     /* zero pages the format marked as zero (no data) */
	/* device and firmware memory (dp_mem_kind): present frames counted
	 * above (part of pages), of them zero (part of zero_pages); frames
	 * left out of every count by dd_engine_set_ram_only */
	uint64_t device_pages, device_zero_pages, left_out_pages;
	uint64_t bytes_read;
	uint64_t direct_bytes;   /* file bytes read around the page cache (O_DIRECT) */
	double seconds;
};

struct dd_totals {
	uint64_t dumps;
	uint64_t pages, absent_pages, zero_pages, nonzero_pages;
	uint64_t distinct_pages;  /* D */
	uint64_t sum_distinct;    /* sum of D_v */
	uint64_t intra_pages, inter_pages;
	uint64_t min_ram_bytes;
	uint64_t device_pages, device_zero_pages, left_out_pages; /* as in dd_dump_stats */
	uint32_t page_size;
};

struct dd_progress {
	uint64_t done_bytes, total_bytes;   /* of the current dump */
	size_t dump_index, ndumps;
	const char *path;
	double elapsed;                     /* seconds in the current dump */
};

typedef void (*dd_progress_fn)(const struct dd_progress *p, void *arg);

/* ---- what the engine keeps per dump, on request ---- */
/* CLASS: classify each new content (top contents report, fingerprints) */
enum { DD_COLLECT_IDS = 1, DD_COLLECT_PAGES = 2, DD_COLLECT_CLASS = 4 };
#define DD_ID_ZERO 0xFFFFFFFFu /* page map: a zero page */
#define DD_SPACE_SHIFT 52      /* page map frames: address space above this bit */

struct dd_dump_data {
	char *name;
	struct dd_dump_stats st;
	unsigned collected; /* the DD_COLLECT_* kept (a dump may have no contents at all) */
	/* DD_COLLECT_IDS: the dump's contents, ascending ids, with their copies */
	uint32_t *ids, *copies;
	uint64_t nids;
	/* DD_COLLECT_PAGES: present frames ascending, content id or DD_ID_ZERO */
	uint64_t *pfn;
	uint32_t *pid;
	uint64_t npages;
};

/* ---- fingerprints (fp.c): a dump's contents and page map, without its bytes ---- */
struct dd_fp_content {
	uint8_t key[DD_KEY];
	uint32_t copies;
	uint8_t cls;
};

struct dd_fp {
	char *path;              /* of the dump it was made from */
	uint32_t page_size;
	enum dd_hash hash;
	uint64_t pages, absent_pages, zero_pages, known_zero;
	struct dd_fp_content *contents; /* sorted by key */
	uint64_t ncontents;
	int has_pages;
	uint64_t *page_pfn;      /* ascending */
	uint32_t *page_content;  /* index into contents, or DD_ID_ZERO */
	uint64_t npages;
};

/* 1 when the file starts with the fingerprint magic */
int dd_fp_probe(const char *path);
int dd_fp_read(const char *path, struct dd_fp *fp, struct dp_error *err);
void dd_fp_free(struct dd_fp *fp);

struct dd_engine;
struct dd_engine *dd_engine_new(unsigned threads, enum dd_hash hash, uint32_t page_size);
void dd_engine_collect(struct dd_engine *e, unsigned what);
/* on: frames the dump marks as device memory (dp_frame_kind) are left out
 * of every count (they are only counted in left_out_pages); off (the
 * default): they are counted like guest RAM and also in device_pages */
void dd_engine_set_ram_only(struct dd_engine *e, bool on);
size_t dd_engine_ndumps(const struct dd_engine *e);
const struct dd_dump_data *dd_engine_dump(const struct dd_engine *e, size_t i);
uint32_t dd_engine_page_size(const struct dd_engine *e);
enum dd_hash dd_engine_hash(const struct dd_engine *e);
/* The SHA1 back end (resolved, see dd_sha1_resolve); the engine starts
 * with AUTO resolved, or OpenSSL when the environment names a bad one. */
void dd_engine_set_sha1(struct dd_engine *e, enum dd_sha1_impl impl);
enum dd_sha1_impl dd_engine_sha1(const struct dd_engine *e);
int dd_engine_add_fp(struct dd_engine *e, const struct dd_fp *fp, struct dd_dump_stats *out,
		     struct dp_error *err);
/* Write dump i of the engine (collected with DD_COLLECT_IDS | DD_COLLECT_PAGES)
 * to the file out; a dump without any non-zero page gives a fingerprint with
 * no contents.  err does not name out: the caller does. */
int dd_fp_write(const struct dd_engine *e, size_t i, const char *out, struct dp_error *err);
int dd_cmp_u64(const void *a, const void *b);
void dd_engine_free(struct dd_engine *e);
void dd_engine_set_progress(struct dd_engine *e, dd_progress_fn fn, void *arg, size_t ndumps);

/* Hash one dump with all threads and merge it into the content table.  On
 * failure nothing of this dump is merged and err says why. */
int dd_engine_add_dump(struct dd_engine *e, struct dp_dump *d, struct dd_dump_stats *out,
		       struct dp_error *err);

/* Totals over the dumps added so far; verifies the identity
 * sum N_v = D + intra + inter and the table's own counts.  Returns 0, or -1
 * with a message in why when a check fails (a bug, never input). */
int dd_engine_totals(const struct dd_engine *e, struct dd_totals *t, char *why, size_t whylen);
const struct dd_table *dd_engine_table(const struct dd_engine *e);
/* The pieces of dd_engine_totals, for totals summed elsewhere (a
 * distributed run): one dump's numbers added to t (t->page_size set by the
 * caller); the copies and (content, dump) pairs a table holds; Table I
 * from the sums and the distinct contents, checked as above against the
 * copies and pairs counted in the table(s). */
void dd_totals_add(struct dd_totals *t, const struct dd_dump_stats *st);
void dd_table_counts(const struct dd_table *t, uint64_t *copies, uint64_t *pairs);
int dd_totals_finish(struct dd_totals *t, uint64_t distinct, uint64_t copies, uint64_t pairs, char *why,
		     size_t whylen);

#endif
