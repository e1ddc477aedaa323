/*
 * Content table.  256 shards chosen by the first key byte, each with its own
 * lock; within a shard the entries sit in one array in insertion order and
 * an open-addressing index of 32-bit slots (24-bit entry number + 8-bit key
 * tag) finds them.  The index grows by half when 3/4 full and the entry
 * array by an eighth, so memory stays between 33 and 40 bytes per distinct
 * content: 28 for the entry, 5 to 8 for its index slot, at most 3.5 of slack.
 *
 * A dump is added in two steps.  While it is read, copies go to each entry's
 * `cur` counter only; dd_table_commit() folds them into `count`/`ndumps`,
 * dd_table_rollback() forgets them and drops the entries the dump created
 * (they are the tail of each shard's array).  A dump that fails half-way
 * therefore leaves no trace, without a second table.
 */
#include "dedup.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NSHARD 256
#define MAX_ENTRIES ((1u << 24) - 1) /* per shard: entry number + 1 fits 24 bits */
#define MIN_SLOTS 64

struct shard {
	pthread_mutex_t lock;
	struct dd_entry *e;
	uint32_t n, cap;     /* entries used / allocated */
	uint32_t mark;       /* entries committed before the current dump */
	uint32_t *slot;
	uint32_t nslots;
};

struct dd_table {
	struct shard s[NSHARD];
	int failed;          /* a limit was hit: results must not be used */
};

static uint64_t key_hash(const uint8_t *k)
{
	uint64_t v;
	memcpy(&v, k + 8, sizeof v);
	return v;
}

/* position in [0, n) from a 64-bit hash, without division */
static uint32_t home(uint64_t h, uint32_t n) { return (uint32_t)(((unsigned __int128)h * n) >> 64); }

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
		free(t->s[i].slot);
		pthread_mutex_destroy(&t->s[i].lock);
	}
	free(t);
}

static void place(uint32_t *slot, uint32_t nslots, const struct dd_entry *e, uint32_t idx)
{
	uint32_t j = home(key_hash(e->key), nslots);
	while (slot[j])
		j = j + 1 == nslots ? 0 : j + 1;
	slot[j] = (idx + 1) << 8 | e->key[1];
}

static int reindex(struct shard *s, uint32_t nslots)
{
	uint32_t *ns = calloc(nslots, sizeof *ns);
	if (!ns)
		return -1;
	for (uint32_t i = 0; i < s->n; i++)
		place(ns, nslots, &s->e[i], i);
	free(s->slot);
	s->slot = ns;
	s->nslots = nslots;
	return 0;
}

static int make_room(struct shard *s)
{
	if (s->n >= MAX_ENTRIES)
		return -1;
	if ((uint64_t)(s->n + 1) * 4 > (uint64_t)s->nslots * 3) {
		uint64_t ns = s->nslots ? (uint64_t)s->nslots + s->nslots / 2 : MIN_SLOTS;
		if (ns > UINT32_MAX || reindex(s, (uint32_t)ns))
			return -1;
	}
	if (s->n == s->cap) {
		uint64_t nc = (uint64_t)s->cap + s->cap / 8 + 16;
		if (nc > MAX_ENTRIES)
			nc = MAX_ENTRIES;
		struct dd_entry *ne = realloc(s->e, (size_t)nc * sizeof *ne);
		if (!ne)
			return -1;
		s->e = ne;
		s->cap = (uint32_t)nc;
	}
	return 0;
}

int dd_table_add(struct dd_table *t, const uint8_t *key, const uint8_t *page, size_t len, uint32_t *id)
{
	return dd_table_add_n(t, key, page ? dd_classify(page, len) : DD_CLASS_OTHER, 1, id);
}

int dd_table_add_n(struct dd_table *t, const uint8_t *key, enum dd_class cls, uint32_t n, uint32_t *id)
{
	struct shard *s = &t->s[key[0]];
	int rc;
	pthread_mutex_lock(&s->lock);
	struct dd_entry *e = NULL;
	if (s->nslots) {
		uint32_t j = home(key_hash(key), s->nslots);
		for (uint32_t v; (v = s->slot[j]); j = j + 1 == s->nslots ? 0 : j + 1) {
			if ((v & 0xff) != key[1])
				continue;
			struct dd_entry *c = &s->e[(v >> 8) - 1];
			if (memcmp(c->key, key, DD_KEY) == 0) {
				e = c;
				break;
			}
		}
	}
	if (!e) {
		if (make_room(s)) {
			t->failed = 1;
			pthread_mutex_unlock(&s->lock);
			return -1;
		}
		e = &s->e[s->n];
		memset(e, 0, sizeof *e);
		memcpy(e->key, key, DD_KEY);
		e->cls = cls;
		place(s->slot, s->nslots, e, s->n);
		s->n++;
	}
	if (e->cur > UINT32_MAX - n) {
		t->failed = 1;
		rc = -1;
	} else {
		rc = e->cur == 0;
		e->cur += n;
	}
	if (id)
		*id = (uint32_t)key[0] << 24 | (uint32_t)(e - s->e);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int dd_table_commit(struct dd_table *t, void (*fn)(uint32_t id, uint32_t copies, void *arg), void *arg)
{
	int rc = t->failed ? -1 : 0;
	for (int i = 0; i < NSHARD; i++) {
		struct shard *s = &t->s[i];
		for (uint32_t k = 0; k < s->n; k++) {
			struct dd_entry *e = &s->e[k];
			if (!e->cur)
				continue;
			if (fn)
				fn((uint32_t)i << 24 | k, e->cur, arg);
			if (e->count > UINT32_MAX - e->cur || e->ndumps == DD_MAX_DUMPS)
				rc = -1;
			else {
				e->count += e->cur;
				e->ndumps++;
			}
			e->cur = 0;
		}
		s->mark = s->n;
	}
	return rc;
}

int dd_table_rollback(struct dd_table *t)
{
	int rc = 0;
	for (int i = 0; i < NSHARD; i++) {
		struct shard *s = &t->s[i];
		for (uint32_t k = 0; k < s->mark; k++)
			s->e[k].cur = 0;
		if (s->n != s->mark) {
			s->n = s->mark;
			if (s->nslots && reindex(s, s->nslots))
				rc = -1;
		}
	}
	t->failed = 0;
	return rc;
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
	uint64_t n = 0;
	for (int i = 0; i < NSHARD; i++)
		n += (uint64_t)t->s[i].cap * sizeof(struct dd_entry) + (uint64_t)t->s[i].nslots * sizeof(uint32_t);
	return n;
}

int dd_table_each(const struct dd_table *t, int (*fn)(const struct dd_entry *e, void *arg), void *arg)
{
	for (int i = 0; i < NSHARD; i++)
		for (uint32_t k = 0; k < t->s[i].n; k++) {
			int rc = fn(&t->s[i].e[k], arg);
			if (rc)
				return rc;
		}
	return 0;
}

uint32_t dd_table_id(const struct dd_table *t, const struct dd_entry *e)
{
	/* entry id: shard in the top 8 bits, index in the low 24 */
	const struct shard *s = &t->s[e->key[0]];
	return (uint32_t)e->key[0] << 24 | (uint32_t)(e - s->e);
}

const struct dd_entry *dd_table_get(const struct dd_table *t, uint32_t id)
{
	const struct shard *s = &t->s[id >> 24];
	uint32_t k = id & 0xffffff;
	return k < s->n ? &s->e[k] : NULL;
}

/* ---- what a page holds, for the top contents report ---- */

const char *dd_class_name(enum dd_class c)
{
	switch (c) {
	case DD_CLASS_ZERO: return "zero";
	case DD_CLASS_BYTE: return "single repeated byte";
	case DD_CLASS_PATTERN: return "repeating pattern";
	case DD_CLASS_TEXT: return "text-like";
	case DD_CLASS_OTHER: break;
	}
	return "other";
}

enum dd_class dd_classify(const uint8_t *p, size_t len)
{
	size_t i;
	for (i = 1; i < len && p[i] == p[0]; i++)
		;
	if (i == len)
		return p[0] ? DD_CLASS_BYTE : DD_CLASS_ZERO;
	/* a period that divides the page: p[i] == p[i + period] throughout */
	for (size_t period = 2; period <= len / 2; period *= 2)
		if (len % period == 0 && memcmp(p, p + period, len - period) == 0)
			return DD_CLASS_PATTERN;
	/* text-like: at most a tenth of the bytes outside printable ASCII and
	 * white space; stop as soon as that is exceeded (binary pages fail fast) */
	size_t other = 0, limit = len / 10;
	for (i = 0; i < len; i++)
		if (!((p[i] >= 0x20 && p[i] < 0x7f) || p[i] == '\n' || p[i] == '\r' || p[i] == '\t') && ++other > limit)
			return DD_CLASS_OTHER;
	return DD_CLASS_TEXT;
}
