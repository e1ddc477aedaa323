/*
 * Content table.  256 shards chosen by the first key byte, each with its own
 * spin lock; within a shard the entries are numbered in insertion order and an
 * open-addressing index of 32-bit slots (24-bit entry number + 8-bit key
 * tag) finds them.  The index grows by half when 3/4 full.
 *
 * Entries live in blocks found through the shard's block list: 8 blocks of
 * 16 entries, then 8 of 32, 64, 128 and 256, then blocks of 512 (so a
 * shard's unused room is at most about an eighth of it).  The blocks of
 * all shards are cut one after the other from mapped chunks of 1 MiB.  An
 * entry never moves once written: growing a shard takes one more block and
 * nothing is copied.  (Arrays grown by an eighth with realloc copied each
 * entry about eight times, into newly faulted memory each time.  Arrays
 * that grow in place, each in its own far-apart region of address space,
 * cost about a tenth more time than entries packed together, as here, and
 * so did blocks of 16 entries only.)  Memory per distinct content: 28
 * bytes for the entry, 5 to 8 for its index slot, and the unused room of
 * each shard's last block; a chunk's pages count from when they are put
 * in place, 32 KiB at a time as blocks are cut.
 *
 * A dump is added in two steps.  While it is read, copies go to each entry's
 * `cur` counter only; dd_table_commit() folds them into `count`/`ndumps`,
 * dd_table_rollback() forgets them and drops the entries the dump created
 * (they are the last of each shard's entries; their blocks stay for the
 * next dump).  A dump that fails half-way therefore leaves no trace,
 * without a second table.
 */
#include "dedup.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define NSHARD 256
#define MAX_ENTRIES ((1u << 24) - 1) /* per shard: entry number + 1 fits 24 bits */
#define MIN_SLOTS 64
#define SMALL_BLOCKS 40                 /* 8 each of 16, 32, 64, 128, 256 entries */
#define BIG_FROM 3968u                  /* entries in them: 128 * (2^5 - 1) */
#define BIG_SHIFT 9                     /* then blocks of 512 entries */
#define CHUNK ((size_t)1 << 20)         /* bytes of each mapped chunk */
#define HUGE_CHUNK ((size_t)2 << 20)    /* once the table is large: one huge page */
#define HUGE_FROM ((uint64_t)16 << 20)  /* ... from this many bytes in older chunks */

/* A shard starts a cache line of its own: two threads adding to
 * neighbouring shards do not pass one line back and forth. */
struct shard {
	_Alignas(64) atomic_int lock; /* spin_lock */
	struct dd_entry **blk; /* the blocks, in entry order */
	uint32_t nblk, capblk;
	uint32_t n, cap;     /* entries used / room in the blocks */
	uint32_t mark;       /* entries committed before the current dump */
	uint32_t *slot;
	uint32_t nslots;
	/* the same two for dd_table_prefetch, which reads them without the lock */
	_Atomic(uintptr_t) pf_slot;
	_Atomic uint32_t pf_nslots;
};

struct chunk {
	struct chunk *next;  /* the one mapped before */
	size_t size;         /* CHUNK or HUGE_CHUNK */
	size_t used;         /* bytes from the chunk's start handed out */
	size_t ready;        /* bytes from the start with their pages in place */
};
#define POPULATE ((size_t)32 << 10) /* pages put in place at a time */
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14; older kernels refuse it and fault the pages in as before */
#endif

struct dd_table {
	struct shard s[NSHARD];
	pthread_mutex_t chunk_lock; /* taken inside a shard's lock, never around one */
	struct chunk *chunk;        /* the newest */
	uint64_t chunk_bytes;       /* bytes in place in the older chunks */
	int failed;          /* a limit was hit: results must not be used */
};

/* A shard's lock is held for one lookup or insertion (or a group of them,
 * dd_table_add_group, which the engine sends), a few hundred
 * nanoseconds, and rarely wanted by two threads at once: a spin lock costs
 * one atomic exchange where a mutex costs two, which measured about 5 %
 * of a run on a large core.  A thread that waits long (the holder grows
 * the shard's index, or was preempted) yields the processor. */
static void spin_lock(atomic_int *l)
{
	for (unsigned n = 0;; n++) {
		if (!atomic_load_explicit(l, memory_order_relaxed) &&
		    !atomic_exchange_explicit(l, 1, memory_order_acquire))
			return;
		if (n >= 100)
			sched_yield();
#if defined(__x86_64__) || defined(__i386__)
		else
			__builtin_ia32_pause();
#endif
	}
}

static void spin_unlock(atomic_int *l) { atomic_store_explicit(l, 0, memory_order_release); }

static uint64_t key_hash(const uint8_t *k)
{
	uint64_t v;
	memcpy(&v, k + 8, sizeof v);
	return v;
}

/* position in [0, n) from a 64-bit hash, without division */
static uint32_t home(uint64_t h, uint32_t n) { return (uint32_t)(((unsigned __int128)h * n) >> 64); }

static uint32_t block_entries(uint32_t b) { return b < SMALL_BLOCKS ? 16u << (b / 8) : 1u << BIG_SHIFT; }

static struct dd_entry *at(const struct shard *s, uint32_t k)
{
	if (k >= BIG_FROM) {
		uint32_t o = k - BIG_FROM;
		return &s->blk[SMALL_BLOCKS + (o >> BIG_SHIFT)][o & ((1u << BIG_SHIFT) - 1)];
	}
	/* level L (blocks 8L .. 8L+7, of 16 << L entries) starts at entry 128 (2^L - 1) */
	uint32_t level = 31u - (uint32_t)__builtin_clz((k >> 7) + 1);
	uint32_t o = k - 128u * ((1u << level) - 1);
	return &s->blk[8 * level + (o >> (4 + level))][o & ((16u << level) - 1)];
}

struct dd_table *dd_table_new(void)
{
	struct dd_table *t = aligned_alloc(64, (sizeof *t + 63) / 64 * 64);
	if (!t)
		return NULL;
	memset(t, 0, sizeof *t);
	for (int i = 0; i < NSHARD; i++) {
		atomic_init(&t->s[i].lock, 0);
		atomic_init(&t->s[i].pf_slot, 0);
		atomic_init(&t->s[i].pf_nslots, 0);
	}
	pthread_mutex_init(&t->chunk_lock, NULL);
	return t;
}

void dd_table_free(struct dd_table *t)
{
	if (!t)
		return;
	for (int i = 0; i < NSHARD; i++) {
		free(t->s[i].blk);
		free(t->s[i].slot);
	}
	for (struct chunk *c = t->chunk, *nx; c; c = nx) {
		nx = c->next;
		munmap(c, c->size);
	}
	pthread_mutex_destroy(&t->chunk_lock);
	free(t);
}

static uint32_t slot_value(const uint8_t *key, uint32_t idx) { return (idx + 1) << 8 | key[1]; }

static void place(uint32_t *slot, uint32_t nslots, const uint8_t *key, uint32_t idx)
{
	uint32_t j = home(key_hash(key), nslots);
	while (slot[j])
		j = j + 1 == nslots ? 0 : j + 1;
	slot[j] = slot_value(key, idx);
}

static int reindex(struct shard *s, uint32_t nslots)
{
	uint32_t *ns = calloc(nslots, sizeof *ns);
	if (!ns)
		return -1;
	for (uint32_t i = 0; i < s->n; i++)
		place(ns, nslots, at(s, i)->key, i);
	free(s->slot);
	s->slot = ns;
	s->nslots = nslots;
	atomic_store_explicit(&s->pf_slot, (uintptr_t)ns, memory_order_relaxed);
	atomic_store_explicit(&s->pf_nslots, nslots, memory_order_relaxed);
	return 0;
}

/* A new chunk, the newest.  Once the older chunks hold HUGE_FROM bytes, a
 * chunk is 2 MiB on a 2 MiB boundary, asked for as a transparent huge page
 * and put in place (and counted) whole: spread over tens of MiB, entries in
 * 4 KiB pages cost a TLB miss nearly every time one is written or compared,
 * which a virtual machine's two-level page walk makes dear (about a tenth
 * of a run on a large core).  The table's last chunk is then at most 2 MiB
 * bigger than it needs, under 2 bytes per content at a million. */
static struct chunk *new_chunk(struct dd_table *t)
{
	bool huge = t->chunk && t->chunk_bytes + t->chunk->ready >= HUGE_FROM;
	size_t size = huge ? HUGE_CHUNK : CHUNK;
	uint8_t *p = mmap(NULL, huge ? 2 * size : size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (huge) {
		uint8_t *a = (uint8_t *)(((uintptr_t)p + size - 1) & ~(uintptr_t)(size - 1));
		if (a > p)
			munmap(p, (size_t)(a - p));
		munmap(a + size, (size_t)(p + size - a));
		p = a;
#ifdef MADV_HUGEPAGE
		madvise(p, size, MADV_HUGEPAGE);
#endif
		madvise(p, size, MADV_POPULATE_WRITE);
	}
	struct chunk *c = (struct chunk *)p;
	c->next = t->chunk;
	c->size = size;
	c->used = (sizeof *c + 63) / 64 * 64;
	c->ready = huge ? size : 4096; /* the header's page */
	t->chunk = c;
	return c;
}

/* One more block for shard s, cut from the newest chunk or a new one. */
static int add_block(struct dd_table *t, struct shard *s)
{
	if (s->nblk == s->capblk) {
		uint32_t nc = s->capblk ? s->capblk * 2 : 8;
		struct dd_entry **nb = realloc(s->blk, (size_t)nc * sizeof *nb);
		if (!nb)
			return -1;
		s->blk = nb;
		s->capblk = nc;
	}
	uint32_t m = block_entries(s->nblk);
	size_t bytes = (size_t)m * sizeof(struct dd_entry);
	pthread_mutex_lock(&t->chunk_lock);
	struct chunk *c = t->chunk;
	if (!c || c->size - c->used < bytes) {
		struct chunk *nc = new_chunk(t);
		if (!nc) {
			pthread_mutex_unlock(&t->chunk_lock);
			return -1;
		}
		if (c)
			t->chunk_bytes += c->ready;
		c = nc;
	}
	s->blk[s->nblk++] = (struct dd_entry *)((uint8_t *)c + c->used);
	c->used += bytes;
	/* the block's pages in one call rather than a page fault each (dear
	 * on a virtual machine); not far ahead, so that a small table stays
	 * small */
	if (c->used > c->ready) {
		size_t to = (c->used + POPULATE - 1) / POPULATE * POPULATE;
		if (to > c->size)
			to = c->size;
		madvise((uint8_t *)c + c->ready, to - c->ready, MADV_POPULATE_WRITE);
		c->ready = to;
	}
	pthread_mutex_unlock(&t->chunk_lock);
	s->cap += m;
	return 0;
}

static int make_room(struct dd_table *t, struct shard *s)
{
	if (s->n >= MAX_ENTRIES)
		return -1;
	if ((uint64_t)(s->n + 1) * 4 > (uint64_t)s->nslots * 3) {
		uint64_t ns = s->nslots ? (uint64_t)s->nslots + s->nslots / 2 : MIN_SLOTS;
		if (ns > UINT32_MAX || reindex(s, (uint32_t)ns))
			return -1;
	}
	if (s->n == s->cap && add_block(t, s))
		return -1;
	return 0;
}

void dd_table_prefetch(const struct dd_table *t, const uint8_t *keys, size_t stride, size_t n)
{
	for (size_t i = 0; i < n; i++)
		__builtin_prefetch(&t->s[keys[i * stride]], 1);
	for (size_t i = 0; i < n; i++) {
		const uint8_t *key = keys + i * stride;
		const struct shard *s = &t->s[key[0]];
		/* read without the lock: a pair from before and after a reindex
		 * gives a useless address, and a prefetch of it does no harm */
		uintptr_t base = atomic_load_explicit(&s->pf_slot, memory_order_relaxed);
		uint32_t ns = atomic_load_explicit(&s->pf_nslots, memory_order_relaxed);
		if (base && ns)
			__builtin_prefetch((const void *)(base + (uintptr_t)home(key_hash(key), ns) * sizeof(uint32_t)));
	}
}

int dd_table_add(struct dd_table *t, const uint8_t *key, const uint8_t *page, size_t len, uint32_t *id)
{
	return dd_table_add_n(t, key, page ? dd_classify(page, len) : DD_CLASS_OTHER, 1, id);
}

/* One lookup or insertion in shard s, whose lock is held: k is the entry's
 * index in the shard.  A new entry is written with whole-word stores and
 * not read back: its line is seldom in the cache, and a load of bytes
 * still on their way there (a bit-field's read-modify-write, its key read
 * again to place it) waits for the whole miss.  That was about a third of
 * the table's time on a large core. */
static int add_locked(struct dd_table *t, struct shard *s, const uint8_t *key, enum dd_class cls, uint32_t n,
		      uint32_t *kout)
{
	uint32_t j = 0, nslots = s->nslots;
	if (nslots) {
		j = home(key_hash(key), nslots);
		for (uint32_t v; (v = s->slot[j]); j = j + 1 == nslots ? 0 : j + 1) {
			if ((v & 0xff) != key[1])
				continue;
			struct dd_entry *c = at(s, (v >> 8) - 1);
			if (memcmp(c->key, key, DD_KEY) == 0) {
				*kout = (v >> 8) - 1;
				if (c->cur > UINT32_MAX - n) {
					t->failed = 1;
					return -1;
				}
				int rc = c->cur == 0;
				c->cur += n;
				return rc;
			}
		}
	}
	if (make_room(t, s)) {
		t->failed = 1;
		return -1;
	}
	uint32_t k = s->n++;
	struct dd_entry *e = at(s, k);
	memcpy(e->key, key, DD_KEY);
	e->count = 0;
	e->ndumps = 0; /* with cls: one store of the whole word */
	e->cls = cls;
	e->cur = n;
	/* the free slot found above, unless the index has just grown */
	if (s->nslots == nslots)
		s->slot[j] = slot_value(key, k);
	else
		place(s->slot, s->nslots, key, k);
	*kout = k;
	return 1;
}

int dd_table_add_n(struct dd_table *t, const uint8_t *key, enum dd_class cls, uint32_t n, uint32_t *id)
{
	struct shard *s = &t->s[key[0]];
	uint32_t k;
	spin_lock(&s->lock);
	int rc = add_locked(t, s, key, cls, n, &k);
	if (id && rc >= 0)
		*id = (uint32_t)key[0] << 24 | k;
	spin_unlock(&s->lock);
	return rc;
}

int dd_table_add_group(struct dd_table *t, const uint8_t (*keys)[DD_KEY], const uint32_t *n, size_t nk)
{
	struct shard *s = &t->s[keys[0][0]];
	int first = 0;
	uint32_t k;
	spin_lock(&s->lock);
	if (s->nslots)
		for (size_t i = 0; i < nk; i++)
			__builtin_prefetch(&s->slot[home(key_hash(keys[i]), s->nslots)]);
	for (size_t i = 0; i < nk; i++) {
		int rc = add_locked(t, s, keys[i], DD_CLASS_OTHER, n[i], &k);
		if (rc < 0) {
			first = -1;
			break;
		}
		first += rc;
	}
	spin_unlock(&s->lock);
	return first;
}

int dd_table_commit(struct dd_table *t, void (*fn)(uint32_t id, uint32_t copies, void *arg), void *arg)
{
	int rc = t->failed ? -1 : 0;
	for (int i = 0; i < NSHARD; i++) {
		struct shard *s = &t->s[i];
		for (uint32_t k = 0; k < s->n; k++) {
			struct dd_entry *e = at(s, k);
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
			at(s, k)->cur = 0;
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
	uint64_t n = t->chunk_bytes + (t->chunk ? t->chunk->ready : 0);
	for (int i = 0; i < NSHARD; i++)
		n += (uint64_t)t->s[i].capblk * sizeof(struct dd_entry *) + (uint64_t)t->s[i].nslots * sizeof(uint32_t);
	return n;
}

int dd_table_each(const struct dd_table *t, int (*fn)(const struct dd_entry *e, void *arg), void *arg)
{
	for (int i = 0; i < NSHARD; i++)
		for (uint32_t k = 0; k < t->s[i].n; k++) {
			int rc = fn(at(&t->s[i], k), arg);
			if (rc)
				return rc;
		}
	return 0;
}

const struct dd_entry *dd_table_get(const struct dd_table *t, uint32_t id)
{
	const struct shard *s = &t->s[id >> 24];
	uint32_t k = id & 0xffffff;
	return k < s->n ? at(s, k) : NULL;
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
