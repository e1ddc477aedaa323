/*
 * dedup engine: hashes every page of a set of dumps with N worker threads
 * into one content table and computes the sharing metrics of DESIGN.md.
 * It reads dumps only through dumpparse.h and knows nothing of formats.
 */
#ifndef DEDUP_H
#define DEDUP_H

#include <stddef.h>
#include <stdint.h>

#include "dumpparse.h"

#define DD_DIGEST 20 /* bytes kept per content (SHA1 size; xxh128 pads with zeros) */

enum dd_hash { DD_HASH_SHA1, DD_HASH_XXH128 };
const char *dd_hash_name(enum dd_hash h);
int dd_hash_parse(const char *s, enum dd_hash *out);

/* ---- per-thread hasher ---- */
struct dd_hasher;
struct dd_hasher *dd_hasher_new(enum dd_hash h);
void dd_hasher_free(struct dd_hasher *hs);
void dd_hasher_page(struct dd_hasher *hs, const uint8_t *data, size_t len, uint8_t out[DD_DIGEST]);

/* ---- content table: digest -> copies, dumps that hold it ---- */
struct dd_entry {
	uint8_t digest[DD_DIGEST];
	uint32_t count;   /* copies over all dumps merged so far */
	uint32_t ndumps;  /* dumps holding at least one copy */
};

struct dd_table;
struct dd_table *dd_table_new(void);
void dd_table_free(struct dd_table *t);
/* Thread-safe.  Adds `count` copies; 1 if the digest was new, 0 if not, -1
 * when out of memory or a counter would overflow. */
int dd_table_add(struct dd_table *t, const uint8_t digest[DD_DIGEST], uint32_t count);
/* Adds every entry of src to dst as one more dump (ndumps + 1). -1 on failure. */
int dd_table_merge_dump(struct dd_table *dst, const struct dd_table *src);
uint64_t dd_table_size(const struct dd_table *t);
uint64_t dd_table_bytes(const struct dd_table *t);
/* Calls fn for every entry; stops early when fn returns non-zero. */
int dd_table_each(const struct dd_table *t, int (*fn)(const struct dd_entry *e, void *arg), void *arg);

/* ---- per-dump results (DESIGN.md, "Metrics") ---- */
struct dd_dump_stats {
	uint64_t pages;          /* P_v: present pages */
	uint64_t absent_pages;   /* A_v */
	uint64_t zero_pages;     /* Z_v */
	uint64_t nonzero_pages;  /* N_v */
	uint64_t distinct_pages; /* D_v */
	uint64_t intra_pages;    /* N_v - D_v */
	uint64_t known_zero;     /* zero pages the format marked as zero (no data) */
	uint64_t bytes_read;
	double seconds;
};

struct dd_totals {
	uint64_t dumps;
	uint64_t pages, absent_pages, zero_pages, nonzero_pages;
	uint64_t distinct_pages;  /* D */
	uint64_t sum_distinct;    /* sum of D_v */
	uint64_t intra_pages, inter_pages;
	uint64_t min_ram_bytes;
	uint32_t page_size;
};

struct dd_progress {
	uint64_t done_bytes, total_bytes;   /* of the current dump */
	size_t dump_index, ndumps;
	const char *path;
	double elapsed;                     /* seconds in the current dump */
};

typedef void (*dd_progress_fn)(const struct dd_progress *p, void *arg);

struct dd_engine;
struct dd_engine *dd_engine_new(unsigned threads, enum dd_hash hash, uint32_t page_size);
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

#endif
