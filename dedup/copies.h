/* A worker's copies on their way into the content table (copies.c).
 *
 * Hot slots: the contents a worker saw last, one per value of a key's third
 * byte; further copies of them are counted here and added in one call, so
 * that the most common contents (one page repeated thousands of times) do
 * not make every thread queue on the same shard lock.
 *
 * Stages: contents new to the hot slots, held per shard (a key's first
 * byte) and added a stage at a time under one lock (dd_table_add_group):
 * two workers that add to the same shards one content at a time pass the
 * shard's cache lines back and forth at every addition, and a large table
 * is far from the cache at every addition.  A stage holds DD_STAGE_SMALL
 * contents, or DD_STAGE_LARGE in a dump of DD_STAGE_LARGE_FROM pages or
 * more: larger stages cost page faults (256 of them per worker) that a
 * small dump does not win back.  Only when no page needs its content's id
 * or class at once (no page map, no classification: then contents are
 * added one at a time and the ids are given). */
#ifndef DEDUP_COPIES_H
#define DEDUP_COPIES_H

#include "dedup.h"

#include <stdbool.h>

#define DD_HOT_SLOTS 256
#define DD_STAGE_SMALL 8
#define DD_STAGE_LARGE 128
#define DD_STAGE_LARGE_FROM ((uint64_t)1 << 18) /* pages: 1 GiB of 4 KiB pages */

struct dd_hot {
	uint8_t key[DD_KEY];
	uint32_t id, pending;
	bool used;
};

struct dd_copies {
	struct dd_table *t;
	bool staged;
	uint64_t distinct;        /* first copies in this dump, as the table counted them so far */
	struct dd_hot hot[DD_HOT_SLOTS];
	unsigned cap;             /* contents per stage in this dump */
	unsigned room;            /* contents per stage the stage arrays have room for */
	uint32_t used[256];       /* contents in each shard's stage */
	uint8_t (*key)[DD_KEY];   /* the stage of shard i: key[i * room ...], and */
	uint32_t *n;              /* their copies: n[i * room ...] */
};

/* Start counting a dump of `pages` pages into t (staged: see above).  c
 * is zeroed before its first dump and keeps its stage arrays from one
 * dump to the next, so that their pages are faulted in once.  0, or -1
 * when out of memory. */
int dd_copies_init(struct dd_copies *c, struct dd_table *t, bool staged, uint64_t pages);
/* One copy of key (page: its bytes, to classify a new content, or NULL);
 * *id is its content id unless staged.  0, or -1 when a table limit is hit. */
int dd_copies_add(struct dd_copies *c, const uint8_t *key, const uint8_t *page, size_t len, uint32_t *id);
/* Everything held goes into the table; then c->distinct is complete.  0 or -1. */
int dd_copies_flush(struct dd_copies *c);
/* The stage arrays; c may be zeroed again for other use. */
void dd_copies_free(struct dd_copies *c);

#endif
