/* A worker's copies on their way into the content table: hot slots and
 * stages (copies.h). */
#include "copies.h"

#include <stdlib.h>
#include <string.h>

int dd_copies_init(struct dd_copies *c, struct dd_table *t, bool staged, uint64_t pages)
{
	c->t = t;
	c->staged = staged;
	c->distinct = 0;
	memset(c->hot, 0, sizeof c->hot);
	memset(c->used, 0, sizeof c->used);
	c->cap = pages >= DD_STAGE_LARGE_FROM ? DD_STAGE_LARGE : DD_STAGE_SMALL;
	if (staged && c->cap > c->room) {
		dd_copies_free(c);
		c->key = malloc(256 * (size_t)c->cap * sizeof *c->key);
		c->n = malloc(256 * (size_t)c->cap * sizeof *c->n);
		if (!c->key || !c->n) {
			dd_copies_free(c);
			return -1;
		}
		c->room = c->cap;
	}
	return 0;
}

void dd_copies_free(struct dd_copies *c)
{
	free(c->key);
	free(c->n);
	c->key = NULL;
	c->n = NULL;
	c->room = 0;
}

static int stage_flush(struct dd_copies *c, unsigned shard)
{
	if (!c->used[shard])
		return 0;
	size_t at = (size_t)shard * c->room;
	int rc = dd_table_add_group(c->t, (const uint8_t (*)[DD_KEY])(c->key + at), c->n + at, c->used[shard]);
	c->used[shard] = 0;
	if (rc < 0)
		return -1;
	c->distinct += (uint64_t)rc;
	return 0;
}

static int stage_add(struct dd_copies *c, const uint8_t *key, uint32_t n)
{
	unsigned shard = key[0];
	size_t at = (size_t)shard * c->room + c->used[shard];
	memcpy(c->key[at], key, DD_KEY);
	c->n[at] = n;
	return ++c->used[shard] == c->cap ? stage_flush(c, shard) : 0;
}

/* the copies counted in a hot slot go on; a staged content's first copy
 * was staged before them, in the same shard's stage, so the table sees it
 * first and counts it as the distinct one */
static int hot_flush(struct dd_copies *c, struct dd_hot *h)
{
	if (!h->used || !h->pending)
		return 0;
	int rc = c->staged ? stage_add(c, h->key, h->pending)
			   : dd_table_add_n(c->t, h->key, DD_CLASS_OTHER, h->pending, NULL);
	if (rc < 0)
		return -1;
	h->pending = 0;
	return 0;
}

int dd_copies_flush(struct dd_copies *c)
{
	for (size_t i = 0; i < DD_HOT_SLOTS; i++)
		if (hot_flush(c, &c->hot[i]))
			return -1;
	for (unsigned i = 0; i < 256; i++)
		if (stage_flush(c, i))
			return -1;
	return 0;
}

int dd_copies_add(struct dd_copies *c, const uint8_t *key, const uint8_t *page, size_t len, uint32_t *id)
{
	struct dd_hot *h = &c->hot[key[2]];
	if (h->used && memcmp(h->key, key, DD_KEY) == 0) {
		if (h->pending == UINT32_MAX && hot_flush(c, h))
			return -1;
		h->pending++;
		*id = h->id;
		return 0;
	}
	if (hot_flush(c, h))
		return -1;
	int rc;
	if (c->staged) {
		rc = stage_add(c, key, 1); /* counted as distinct when the stage goes in */
		*id = h->id = 0;
	} else {
		rc = dd_table_add(c->t, key, page, len, id);
		if (rc < 0)
			return -1;
		c->distinct += (uint64_t)rc;
		h->id = *id;
	}
	if (rc < 0)
		return -1;
	memcpy(h->key, key, DD_KEY);
	h->pending = 0;
	h->used = true;
	return 0;
}
