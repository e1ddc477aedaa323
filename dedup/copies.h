/* A worker's copies on their way into the content table (copies.c).
 *
 * Hot slots: the contents a worker saw last, one per value of a key's third
 * byte; further copies of them are counted here and added in one call, so
 * that the most common contents (one page repeated thousands of times) do
 * not make every thread queue on the same shard lock.
 *
 * Stages: contents new to the hot slots, held per shard (a key's first
 * byte) and added DD_STAGE at a time under one lock (dd_table_add_group):
 * two workers that add to the same shards one content at a time pass the
 * shard's cache lines back and forth at every addition.  Only when no page
 * needs its content's id or class at once (no page map, no classification:
 * then contents are added one at a time and the ids are given). */
#ifndef DEDUP_COPIES_H
#define DEDUP_COPIES_H

#include "dedup.h"

#include <stdbool.h>

#define DD_HOT_SLOTS 256
#define DD_STAGE 8

struct dd_hot {
	uint8_t key[DD_KEY];
	uint32_t id, pending;
	bool used;
};

struct dd_stage {
	uint8_t key[DD_STAGE][DD_KEY];
	uint32_t n[DD_STAGE];
	uint32_t used;
};

struct dd_copies {
	struct dd_table *t;
	bool staged;
	uint64_t distinct;        /* first copies in this dump, as the table counted them so far */
	struct dd_hot hot[DD_HOT_SLOTS];
	struct dd_stage stage[256];
};

/* zeroed c: start counting into t (staged: see above) */
void dd_copies_init(struct dd_copies *c, struct dd_table *t, bool staged);
/* One copy of key (page: its bytes, to classify a new content, or NULL);
 * *id is its content id unless staged.  0, or -1 when a table limit is hit. */
int dd_copies_add(struct dd_copies *c, const uint8_t *key, const uint8_t *page, size_t len, uint32_t *id);
/* Everything held goes into the table; then c->distinct is complete.  0 or -1. */
int dd_copies_flush(struct dd_copies *c);

#endif
