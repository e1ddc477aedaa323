/* A worker's copies on their way into the content table: hot slots and
 * stages (copies.h). */
#include "copies.h"

#include <string.h>

void dd_copies_init(struct dd_copies *c, struct dd_table *t, bool staged)
{
	c->t = t;
	c->staged = staged;
	c->distinct = 0;
}

static int stage_flush(struct dd_copies *c, struct dd_stage *g)
{
	if (!g->used)
		return 0;
	int rc = dd_table_add_group(c->t, (const uint8_t (*)[DD_KEY])g->key, g->n, g->used);
	g->used = 0;
	if (rc < 0)
		return -1;
	c->distinct += (uint64_t)rc;
	return 0;
}

static int stage_add(struct dd_copies *c, const uint8_t *key, uint32_t n)
{
	struct dd_stage *g = &c->stage[key[0]];
	memcpy(g->key[g->used], key, DD_KEY);
	g->n[g->used++] = n;
	return g->used == DD_STAGE ? stage_flush(c, g) : 0;
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
	for (size_t i = 0; i < sizeof c->stage / sizeof c->stage[0]; i++)
		if (stage_flush(c, &c->stage[i]))
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
