/*
 * Content table: open addressing with linear probing, split into shards by
 * the first digest byte so that threads rarely meet on a lock.  Digests are
 * cryptographic or strong non-cryptographic hashes, so their bytes are used
 * directly as bucket positions.
 */
#include "dedup.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NSHARD 256
#define MIN_CAP 64

struct shard {
	pthread_mutex_t lock;
	struct dd_entry *e;
	uint64_t cap, n; /* cap is a power of two */
};

struct dd_table {
	struct shard s[NSHARD];
};

static uint64_t slot_of(const uint8_t *d)
{
	uint64_t v;
	memcpy(&v, d + 4, sizeof v);
	return v;
}

struct dd_table *dd_table_new(void)
{
	struct dd_table *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	for (int i = 0; i < NSHARD; i++)
		pthread_mutex_init(&t->s[i].lock, NULL);
	return t;
}

void dd_table_free(struct dd_table *t)
{
	if (!t)
		return;
	for (int i = 0; i < NSHARD; i++) {
		free(t->s[i].e);
		pthread_mutex_destroy(&t->s[i].lock);
	}
	free(t);
}

static int grow(struct shard *s)
{
	uint64_t cap = s->cap ? s->cap * 2 : MIN_CAP;
	struct dd_entry *ne = calloc(cap, sizeof *ne);
	if (!ne)
		return -1;
	for (uint64_t i = 0; i < s->cap; i++) {
		const struct dd_entry *o = &s->e[i];
		if (!o->count)
			continue;
		uint64_t j = slot_of(o->digest) & (cap - 1);
		while (ne[j].count)
			j = (j + 1) & (cap - 1);
		ne[j] = *o;
	}
	free(s->e);
	s->e = ne;
	s->cap = cap;
	return 0;
}

/* Find or create the entry; caller holds the lock.  NULL when out of memory. */
static struct dd_entry *lookup(struct shard *s, const uint8_t *d, int *created)
{
	if ((s->n + 1) * 4 > s->cap * 3 && grow(s))
		return NULL;
	uint64_t mask = s->cap - 1, j = slot_of(d) & mask;
	for (;;) {
		struct dd_entry *e = &s->e[j];
		if (!e->count) {
			memcpy(e->digest, d, DD_DIGEST);
			s->n++;
			*created = 1;
			return e;
		}
		if (memcmp(e->digest, d, DD_DIGEST) == 0) {
			*created = 0;
			return e;
		}
		j = (j + 1) & mask;
	}
}

int dd_table_add(struct dd_table *t, const uint8_t digest[DD_DIGEST], uint32_t count)
{
	struct shard *s = &t->s[digest[0]];
	int created = 0, rc;
	pthread_mutex_lock(&s->lock);
	struct dd_entry *e = lookup(s, digest, &created);
	if (!e || e->count > UINT32_MAX - count) {
		rc = -1;
	} else {
		e->count += count;
		rc = created;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int dd_table_merge_dump(struct dd_table *dst, const struct dd_table *src)
{
	for (int i = 0; i < NSHARD; i++) {
		const struct shard *ss = &src->s[i];
		struct shard *ds = &dst->s[i];
		pthread_mutex_lock(&ds->lock);
		for (uint64_t j = 0; j < ss->cap; j++) {
			const struct dd_entry *o = &ss->e[j];
			if (!o->count)
				continue;
			int created;
			struct dd_entry *e = lookup(ds, o->digest, &created);
			if (!e || e->count > UINT32_MAX - o->count) {
				pthread_mutex_unlock(&ds->lock);
				return -1;
			}
			e->count += o->count;
			e->ndumps++;
		}
		pthread_mutex_unlock(&ds->lock);
	}
	return 0;
}

uint64_t dd_table_size(const struct dd_table *t)
{
	uint64_t n = 0;
	for (int i = 0; i < NSHARD; i++)
		n += t->s[i].n;
	return n;
}

uint64_t dd_table_bytes(const struct dd_table *t)
{
	uint64_t n = sizeof *t;
	for (int i = 0; i < NSHARD; i++)
		n += t->s[i].cap * sizeof(struct dd_entry);
	return n;
}

int dd_table_each(const struct dd_table *t, int (*fn)(const struct dd_entry *e, void *arg), void *arg)
{
	for (int i = 0; i < NSHARD; i++)
		for (uint64_t j = 0; j < t->s[i].cap; j++)
			if (t->s[i].e[j].count) {
				int rc = fn(&t->s[i].e[j], arg);
				if (rc)
					return rc;
			}
	return 0;
}
