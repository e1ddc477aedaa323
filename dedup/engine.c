/*
 * The engine.  One dump at a time, all worker threads take units of it:
 * random-access dumps by an atomic unit counter (no lock on the hot path),
 * sequential ones under the dump's lock (decoding is serial there, hashing
 * is not: each thread hashes its own chunk outside the lock).  Pages count
 * in the content table as copies of the current dump until the whole dump
 * was read (commit); a dump that fails half-way is rolled back and leaves
 * no trace.
 *
 * On request the engine also keeps, per dump, the sorted list of its
 * contents with their copies (DD_COLLECT_IDS: pairwise, salting, placement,
 * fingerprints) and its page map, frame -> content (DD_COLLECT_PAGES: 2 MiB
 * what-if, diff, fingerprints).
 */
#include "dedup.h"
#include "copies.h"

#include "common.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct dd_engine {
	unsigned threads;
	enum dd_hash hash;
	enum dd_sha1_impl sha1;
	uint32_t page_size;
	unsigned collect;
	bool ram_only;            /* leave device memory out */
	struct dd_table *table;
	/* one hasher per worker index, kept from dump to dump: setting up a
	 * libipsec-mb manager runs its self test (about 10 ms) */
	struct dd_hasher **hashers;
	struct dd_copies *copies;  /* one per worker index, kept from dump to dump */
	struct dp_scratch **scratch; /* a worker index's reader buffers, likewise */
	struct dd_dump_data *dumps;
	size_t ndumps, cap_dumps;
	struct dd_totals sum;
	dd_progress_fn progress;
	void *progress_arg;
	size_t progress_ndumps;
};

struct job {
	struct dd_engine *e;
	struct dp_dump *d;
	const struct dp_info *info;
	const uint8_t *zero;
	atomic_size_t next_unit;
	atomic_uint_fast64_t done_bytes;
	atomic_bool failed;
	unsigned finished;     /* workers done, under done_lock */
	pthread_mutex_t done_lock;
	pthread_cond_t done_cond;
	pthread_mutex_t lock;  /* sequential reads; first error */
	struct dp_error err;
	bool have_err;
};

struct worker {
	struct job *j;
	unsigned index;  /* into the engine's hashers */
	pthread_t tid;
	struct dd_dump_stats st;
	struct dd_copies *cp;  /* the engine's, of this worker index */
	/* page map pieces (DD_COLLECT_PAGES) */
	uint64_t *pfn;
	uint32_t *id;
	size_t n, cap;
};

struct dd_engine *dd_engine_new(unsigned threads, enum dd_hash hash, uint32_t page_size)
{
	struct dd_engine *e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	e->threads = threads ? threads : 1;
	e->hash = hash;
	char why[200];
	if (dd_sha1_resolve(DD_SHA1_AUTO, &e->sha1, why, sizeof why))
		e->sha1 = DD_SHA1_OPENSSL;
	e->page_size = page_size;
	e->sum.page_size = page_size;
	e->table = dd_table_new();
	e->hashers = calloc(e->threads, sizeof *e->hashers);
	e->copies = calloc(e->threads, sizeof *e->copies);
	e->scratch = calloc(e->threads, sizeof *e->scratch);
	if (!e->table || !e->hashers || !e->copies || !e->scratch) {
		dd_table_free(e->table);
		free(e->hashers);
		free(e->copies);
		free(e->scratch);
		free(e);
		return NULL;
	}
	return e;
}

static void free_hashers(struct dd_engine *e)
{
	for (unsigned i = 0; i < e->threads; i++) {
		dd_hasher_free(e->hashers[i]);
		e->hashers[i] = NULL;
	}
}

static void free_data(struct dd_dump_data *dd)
{
	free(dd->name);
	free(dd->ids);
	free(dd->copies);
	free(dd->pfn);
	free(dd->pid);
}

void dd_engine_free(struct dd_engine *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->ndumps; i++)
		free_data(&e->dumps[i]);
	free(e->dumps);
	dd_table_free(e->table);
	free_hashers(e);
	free(e->hashers);
	for (unsigned i = 0; i < e->threads; i++) {
		dd_copies_free(&e->copies[i]);
		dp_scratch_free(e->scratch[i]);
	}
	free(e->copies);
	free(e->scratch);
	free(e);
}

void dd_engine_collect(struct dd_engine *e, unsigned what) { e->collect = what; }

void dd_engine_set_ram_only(struct dd_engine *e, bool on) { e->ram_only = on; }

void dd_engine_set_progress(struct dd_engine *e, dd_progress_fn fn, void *arg, size_t ndumps)
{
	e->progress = fn;
	e->progress_arg = arg;
	e->progress_ndumps = ndumps;
}

const struct dd_table *dd_engine_table(const struct dd_engine *e) { return e->table; }
size_t dd_engine_ndumps(const struct dd_engine *e) { return e->ndumps; }
const struct dd_dump_data *dd_engine_dump(const struct dd_engine *e, size_t i)
{
	return i < e->ndumps ? &e->dumps[i] : NULL;
}
uint32_t dd_engine_page_size(const struct dd_engine *e) { return e->page_size; }
enum dd_hash dd_engine_hash(const struct dd_engine *e) { return e->hash; }
void dd_engine_set_sha1(struct dd_engine *e, enum dd_sha1_impl impl)
{
	free_hashers(e);
	e->sha1 = impl;
}
enum dd_sha1_impl dd_engine_sha1(const struct dd_engine *e) { return e->sha1; }

static void set_error(struct job *j, const struct dp_error *err)
{
	pthread_mutex_lock(&j->lock);
	if (!j->have_err) {
		j->err = *err;
		j->have_err = true;
	}
	pthread_mutex_unlock(&j->lock);
	atomic_store(&j->failed, true);
}

static int note_page(struct worker *w, uint64_t pfn, uint32_t id, struct dp_error *err)
{
	if (w->n == w->cap) {
		size_t nc = w->cap ? w->cap * 2 : 4096;
		uint64_t *p = realloc(w->pfn, nc * sizeof *p);
		if (p)
			w->pfn = p;
		uint32_t *q = realloc(w->id, nc * sizeof *q);
		if (q)
			w->id = q;
		if (!p || !q)
			return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory for the page map");
		w->cap = nc;
	}
	w->pfn[w->n] = pfn;
	w->id[w->n++] = id;
	return DP_OK;
}

/* One page of a batch: what the first pass found. */
enum { PAGE_ABSENT, PAGE_ZERO, PAGE_HASH, PAGE_SKIP };

/* Guest RAM or device memory, frame by frame through a chunk: the kind of
 * the last run looked up is kept, [from, to) */
struct kind_cursor {
	uint64_t from, to;
	enum dp_mem_kind kind;
};

static enum dp_mem_kind page_mem_kind(const struct dp_info *in, const struct dp_chunk *c, size_t i,
				      struct kind_cursor *kc)
{
	if (!in->kind_rule)
		return DP_MEM_RAM;
	uint64_t pfn = c->pfns ? c->pfns[i] : c->pfn + i;
	if (pfn < kc->from || pfn >= kc->to) {
		uint64_t run;
		kc->kind = dp_frame_kind(in, c->space, pfn, &run);
		kc->from = pfn;
		kc->to = run > UINT64_MAX - pfn ? UINT64_MAX : pfn + run;
	}
	return kc->kind;
}

static int table_full(struct dp_error *err)
{
	return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET,
		       "content table limit reached (out of memory, 2^24 contents in one "
		       "of its 256 shards, or 2^32 copies of one content)");
}

/* Count the pages b .. b+m-1 of a chunk whose kinds, memory kinds (dev:
 * device memory) and digests (in page order, PAGE_HASH pages only) are
 * known. */
static int count_batch(struct worker *w, const struct dp_chunk *c, size_t b, size_t m, const uint8_t *kind,
		       const uint8_t *dev, uint8_t (*digest)[DD_DIGEST], struct dp_error *err)
{
	struct job *j = w->j;
	const uint32_t ps = j->e->page_size;
	const bool pages = j->e->collect & DD_COLLECT_PAGES;
	size_t h = 0;
	int rc;
	for (size_t k = 0; k < m; k++) {
		size_t i = b + k;
		/* frames of other address spaces (RAM blocks without a known
		 * guest-physical address) are kept apart in the page map */
		uint64_t pfn = (c->pfns ? c->pfns[i] : c->pfn + i) | (uint64_t)c->space << DD_SPACE_SHIFT;
		if (kind[k] == PAGE_SKIP) {
			w->st.left_out_pages++;
			continue;
		}
		if (kind[k] == PAGE_ABSENT) {
			w->st.absent_pages++;
			continue;
		}
		w->st.pages++;
		w->st.device_pages += dev[k];
		if (kind[k] == PAGE_ZERO) {
			enum dp_page_state s = c->state ? (enum dp_page_state)c->state[i] : c->uniform;
			w->st.zero_pages++;
			w->st.device_zero_pages += dev[k];
			w->st.known_zero += s == DP_PAGE_ZERO;
			if (pages && (rc = note_page(w, pfn, DD_ID_ZERO, err)))
				return rc;
			continue;
		}
		w->st.nonzero_pages++;
		const uint8_t *p = c->data + i * (size_t)ps;
		uint32_t id;
		if (dd_copies_add(w->cp, digest[h++], (j->e->collect & DD_COLLECT_CLASS) ? p : NULL, ps, &id))
			return table_full(err);
		if (pages && (rc = note_page(w, pfn, id, err)))
			return rc;
	}
	return DP_OK;
}

static int process_chunk(struct worker *w, struct dd_hasher *hs, const struct dp_chunk *c,
			 struct dp_error *err)
{
	struct job *j = w->j;
	const uint32_t ps = j->e->page_size;
	const bool pages = j->e->collect & DD_COLLECT_PAGES;
	int rc;

	struct kind_cursor kc = { 1, 0, DP_MEM_RAM };
	uint64_t run = UINT64_MAX;
	enum dp_mem_kind k0 = c->npages ? page_mem_kind(j->info, c, 0, &kc) : DP_MEM_RAM;
	if (!c->pfns && c->npages)
		run = kc.to - c->pfn;
	if (!c->state && c->uniform != DP_PAGE_DATA && (!pages || c->uniform == DP_PAGE_ABSENT) &&
	    (!j->info->kind_rule || run >= c->npages)) {
		/* a run without data, of one memory kind: count it at once */
		const bool dev = k0 == DP_MEM_DEVICE;
		if (dev && j->e->ram_only)
			w->st.left_out_pages += c->npages;
		else if (c->uniform == DP_PAGE_ABSENT)
			w->st.absent_pages += c->npages;
		else {
			w->st.pages += c->npages;
			w->st.zero_pages += c->npages;
			w->st.known_zero += c->npages;
			if (dev) {
				w->st.device_pages += c->npages;
				w->st.device_zero_pages += c->npages;
			}
		}
		atomic_fetch_add(&j->done_bytes, c->bytes);
		return DP_OK;
	}
	/* Batches of pages: first find the zero pages, then hash the others
	 * together (a multi-buffer back end fills its lanes from one call),
	 * then count them in page order. */
	for (size_t b = 0; b < c->npages; b += DD_HASH_BATCH) {
		size_t m = c->npages - b < DD_HASH_BATCH ? c->npages - b : DD_HASH_BATCH;
		uint8_t kind[DD_HASH_BATCH], dev[DD_HASH_BATCH];
		const uint8_t *batch[DD_HASH_BATCH];
		uint8_t digest[DD_HASH_BATCH][DD_DIGEST];
		size_t nh = 0;
		for (size_t k = 0; k < m; k++) {
			enum dp_page_state s = c->state ? (enum dp_page_state)c->state[b + k] : c->uniform;
			const uint8_t *p = c->data ? c->data + (b + k) * (size_t)ps : NULL;
			dev[k] = page_mem_kind(j->info, c, b + k, &kc) == DP_MEM_DEVICE;
			if (dev[k] && j->e->ram_only)
				kind[k] = PAGE_SKIP;
			else if (s == DP_PAGE_ABSENT)
				kind[k] = PAGE_ABSENT;
			else if (s == DP_PAGE_ZERO || memcmp(p, j->zero, ps) == 0)
				kind[k] = PAGE_ZERO;
			else {
				kind[k] = PAGE_HASH;
				batch[nh++] = p;
			}
		}
		if (nh) {
			dd_hasher_pages(hs, batch, nh, ps, digest);
			if (!w->cp->staged)
				dd_table_prefetch(j->e->table, digest[0], DD_DIGEST, nh);
		}
		if ((rc = count_batch(w, c, b, m, kind, dev, digest, err)))
			return rc;
	}
	w->st.bytes_read += c->bytes;
	atomic_fetch_add(&j->done_bytes, c->bytes);
	return DP_OK;
}

/* the next batch of up to n units: [*first, *end); false when none is left */
static bool claim(struct job *j, size_t n, size_t *first, size_t *end)
{
	size_t u = atomic_fetch_add(&j->next_unit, n);
	if (u >= j->info->nunits)
		return false;
	*first = u;
	*end = j->info->nunits - u < n ? j->info->nunits : u + n;
	return true;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	struct job *j = w->j;
	struct dp_reader *r = NULL;
	/* the hasher of this worker index; no other thread uses it until this
	 * one is joined */
	struct dd_hasher **slot = &j->e->hashers[w->index];
	if (!*slot)
		*slot = dd_hasher_new_impl(j->e->hash, j->e->sha1);
	struct dd_hasher *hs = *slot;
	struct dp_error err = { 0 };
	struct dp_chunk c;

	if (!hs) {
		dp_fail(&err, DP_E_NOMEM, DP_NO_OFFSET, "cannot set up the %s hasher", dd_hash_name(j->e->hash));
		set_error(j, &err);
		goto out;
	}
	/* without a scratch (no memory) the reader has buffers of its own */
	if (!j->e->scratch[w->index])
		j->e->scratch[w->index] = dp_scratch_new();
	if (dp_reader_open_with(j->d, j->e->scratch[w->index], &r, &err)) {
		set_error(j, &err);
		goto out;
	}
	/* units claimed and not yet read: [u, uend); read around the page
	 * cache, several at a time, so that one request fetches them all */
	size_t u = 0, uend = 0, next = 0, next_end = 0, batch = j->info->direct ? DP_DIRECT_UNITS : 1;
	while (!atomic_load(&j->failed)) {
		int rc;
		if (j->info->sequential) {
			pthread_mutex_lock(&j->lock);
			/* after a failure every worker gets the stream's first error again */
			rc = atomic_load(&j->failed) ? DP_END : dp_read_next(r, &c, &err);
			pthread_mutex_unlock(&j->lock);
		} else {
			if (u == uend) {
				/* the batch claimed before, and the one after it, whose
				 * bytes the reader can ask for while this one is hashed */
				if (next == next_end && !claim(j, batch, &next, &next_end))
					break;
				u = next;
				uend = next_end;
				if (batch == 1 || !claim(j, batch, &next, &next_end))
					next = next_end = 0;
				dp_reader_ahead(r, uend, next, next_end);
			}
			rc = dp_read_unit(r, u++, &c, &err);
		}
		if (rc == DP_END)
			break;
		if (rc == DP_OK)
			rc = process_chunk(w, hs, &c, &err);
		if (rc) {
			set_error(j, &err);
			break;
		}
	}
	if (!atomic_load(&j->failed) && dd_copies_flush(w->cp)) {
		table_full(&err);
		set_error(j, &err);
	}
	w->st.distinct_pages = w->cp->distinct;
out:
	w->st.direct_bytes = dp_reader_direct_bytes(r);
	dp_reader_close(r);
	pthread_mutex_lock(&j->done_lock);
	j->finished++;
	pthread_cond_signal(&j->done_cond);
	pthread_mutex_unlock(&j->done_lock);
	return NULL;
}

static void report(struct dd_engine *e, struct job *j, double t0)
{
	if (!e->progress)
		return;
	struct dd_progress p = {
		.done_bytes = atomic_load(&j->done_bytes),
		.total_bytes = j->info->data_bytes,
		.dump_index = e->ndumps,
		.ndumps = e->progress_ndumps,
		.path = dp_get_path(j->d),
		.elapsed = cm_now() - t0,
	};
	e->progress(&p, e->progress_arg);
}

/* ---- committing a dump ---- */

struct collect_ids {
	struct dd_dump_data *dd;
	uint64_t cap;
	int oom;
};

static void collect_id(uint32_t id, uint32_t copies, void *arg)
{
	struct collect_ids *c = arg;
	struct dd_dump_data *dd = c->dd;
	if (c->oom)
		return;
	if (dd->nids == c->cap) {
		uint64_t nc = c->cap ? c->cap * 2 : 1024;
		uint32_t *a = realloc(dd->ids, nc * sizeof *a);
		if (a)
			dd->ids = a;
		uint32_t *b = realloc(dd->copies, nc * sizeof *b);
		if (b)
			dd->copies = b;
		if (!a || !b) {
			c->oom = 1;
			return;
		}
		c->cap = nc;
	}
	dd->ids[dd->nids] = id;
	dd->copies[dd->nids++] = copies;
}

static void sort_pages(uint64_t *pfn, uint32_t *id, size_t n)
{
	/* pairs sorted by frame; small helper array keeps qsort simple */
	struct pair {
		uint64_t pfn;
		uint32_t id;
	} *v = malloc((n ? n : 1) * sizeof *v);
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		v[i] = (struct pair){ pfn[i], id[i] };
	qsort(v, n, sizeof *v, dd_cmp_u64);
	for (size_t i = 0; i < n; i++) {
		pfn[i] = v[i].pfn;
		id[i] = v[i].id;
	}
	free(v);
}

int dd_cmp_u64(const void *a, const void *b)
{
	uint64_t x, y;
	memcpy(&x, a, sizeof x);
	memcpy(&y, b, sizeof y);
	return x < y ? -1 : x > y;
}

/* Commit the current dump into the table and keep what was collected. */
static int finish_dump(struct dd_engine *e, const char *name, struct dd_dump_stats *st, struct worker *ws,
		       unsigned nw, struct dp_error *err)
{
	struct dd_dump_data dd;
	memset(&dd, 0, sizeof dd);
	dd.name = strdup(name);
	if (!dd.name)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	struct collect_ids c = { &dd, 0, 0 };
	dd.collected = e->collect;
	if (e->collect & DD_COLLECT_PAGES) {
		size_t n = 0;
		for (unsigned i = 0; i < nw; i++)
			n += ws[i].n;
		dd.pfn = malloc((n ? n : 1) * sizeof *dd.pfn);
		dd.pid = malloc((n ? n : 1) * sizeof *dd.pid);
		if (!dd.pfn || !dd.pid) {
			free_data(&dd);
			return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory for the page map");
		}
		for (unsigned i = 0; i < nw; i++) {
			if (!ws[i].n)
				continue; /* a worker that saw no page has no arrays */
			memcpy(dd.pfn + dd.npages, ws[i].pfn, ws[i].n * sizeof *dd.pfn);
			memcpy(dd.pid + dd.npages, ws[i].id, ws[i].n * sizeof *dd.pid);
			dd.npages += ws[i].n;
		}
		sort_pages(dd.pfn, dd.pid, dd.npages);
	}
	if (e->ndumps == e->cap_dumps) {
		size_t nc = e->cap_dumps ? e->cap_dumps * 2 : 8;
		struct dd_dump_data *a = realloc(e->dumps, nc * sizeof *a);
		if (!a) {
			free_data(&dd);
			return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
		}
		e->dumps = a;
		e->cap_dumps = nc;
	}
	if (dd_table_commit(e->table, (e->collect & DD_COLLECT_IDS) ? collect_id : NULL, &c) || c.oom) {
		free_data(&dd);
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET,
			       "content table limit reached (2^32 copies of one content or 2^28 dumps)");
	}
	dd.st = *st;
	e->dumps[e->ndumps++] = dd;
	dd_totals_add(&e->sum, st);
	return DP_OK;
}

int dd_engine_add_dump(struct dd_engine *e, struct dp_dump *d, struct dd_dump_stats *out,
		       struct dp_error *err)
{
	const struct dp_info *info = dp_get_info(d);
	memset(out, 0, sizeof *out);
	if (info->page_size != e->page_size)
		return dp_fail(err, DP_E_USAGE, DP_NO_OFFSET,
			       "page size %u differs from the analysis page size %u (use --page-size)",
			       info->page_size, e->page_size);

	struct job j = { .e = e, .d = d, .info = info };
	pthread_mutex_init(&j.lock, NULL);
	pthread_mutex_init(&j.done_lock, NULL);
	pthread_cond_init(&j.done_cond, NULL);
	uint8_t *zero = calloc(1, e->page_size);
	struct worker *ws = calloc(e->threads, sizeof *ws);
	unsigned started = 0;
	int rc = DP_OK;
	if (!zero || !ws) {
		rc = dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
		goto out;
	}
	j.zero = zero;

	double t0 = cm_now();
	/* cold files read through the page cache: the disk kept busy ahead of
	 * the workers (ahead.c); read around the cache, they need no help */
	struct dd_ahead *ahead = info->direct ? NULL : dd_ahead_start(dp_get_path(d), &j.done_bytes, info->data_bytes);
	for (unsigned i = 0; i < e->threads; i++) {
		ws[i].j = &j;
		ws[i].index = i;
		ws[i].cp = &e->copies[i];
		if (dd_copies_init(ws[i].cp, e->table, !(e->collect & (DD_COLLECT_PAGES | DD_COLLECT_CLASS)),
				   info->pages) ||
		    pthread_create(&ws[i].tid, NULL, work, &ws[i]) != 0)
			break;
		started++;
	}
	if (!started) {
		dd_ahead_stop(ahead);
		rc = dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "cannot start worker threads");
		goto out;
	}
	/* wake on the last worker, or every 200 ms for the progress line */
	pthread_mutex_lock(&j.done_lock);
	while (j.finished < started) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		if (pthread_cond_timedwait(&j.done_cond, &j.done_lock, &ts) != 0 && j.finished < started) {
			pthread_mutex_unlock(&j.done_lock);
			report(e, &j, t0);
			pthread_mutex_lock(&j.done_lock);
		}
	}
	pthread_mutex_unlock(&j.done_lock);
	for (unsigned i = 0; i < started; i++)
		pthread_join(ws[i].tid, NULL);
	dd_ahead_stop(ahead);
	report(e, &j, t0);

	if (j.have_err) {
		*err = j.err;
		rc = err->status ? (int)err->status : DP_E_IO;
		goto out;
	}
	for (unsigned i = 0; i < started; i++) {
		out->pages += ws[i].st.pages;
		out->absent_pages += ws[i].st.absent_pages;
		out->zero_pages += ws[i].st.zero_pages;
		out->nonzero_pages += ws[i].st.nonzero_pages;
		out->distinct_pages += ws[i].st.distinct_pages;
		out->known_zero += ws[i].st.known_zero;
		out->device_pages += ws[i].st.device_pages;
		out->device_zero_pages += ws[i].st.device_zero_pages;
		out->left_out_pages += ws[i].st.left_out_pages;
		out->bytes_read += ws[i].st.bytes_read;
		out->direct_bytes += ws[i].st.direct_bytes;
	}
	out->intra_pages = out->nonzero_pages - out->distinct_pages;
	out->seconds = cm_now() - t0;
	rc = finish_dump(e, dp_get_path(d), out, ws, started, err);
out:
	if (rc && dd_table_rollback(e->table))
		rc = dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory undoing a failed dump");
	for (unsigned i = 0; ws && i < e->threads; i++) {
		free(ws[i].pfn);
		free(ws[i].id);
	}
	free(ws);
	free(zero);
	pthread_mutex_destroy(&j.lock);
	pthread_mutex_destroy(&j.done_lock);
	pthread_cond_destroy(&j.done_cond);
	return rc;
}

/* A dump given as a fingerprint (fp.c has read it). */
int dd_engine_add_fp(struct dd_engine *e, const struct dd_fp *fp, struct dd_dump_stats *out,
		     struct dp_error *err)
{
	memset(out, 0, sizeof *out);
	if (fp->page_size != e->page_size)
		return dp_fail(err, DP_E_USAGE, DP_NO_OFFSET,
			       "fingerprint page size %u differs from the analysis page size %u", fp->page_size,
			       e->page_size);
	if (fp->hash != e->hash)
		return dp_fail(err, DP_E_USAGE, DP_NO_OFFSET,
			       "fingerprint was made with --hash=%s; analyze it with the same hash",
			       dd_hash_name(fp->hash));
	struct worker w;
	memset(&w, 0, sizeof w);
	uint32_t *gid = malloc((fp->ncontents ? fp->ncontents : 1) * sizeof *gid);
	int rc = DP_OK;
	if (!gid)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	double t0 = cm_now();
	for (uint64_t i = 0; i < fp->ncontents && !rc; i++) {
		const struct dd_fp_content *c = &fp->contents[i];
		int r = dd_table_add_n(e->table, c->key, (enum dd_class)c->cls, c->copies, &gid[i]);
		if (r < 0)
			rc = dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "content table limit reached");
		else
			out->distinct_pages += (uint64_t)r;
	}
	if (!rc && out->distinct_pages != fp->ncontents)
		rc = dp_fail(err, DP_E_CORRUPT, DP_NO_OFFSET, "fingerprint lists a content twice");
	if (!rc && (e->collect & DD_COLLECT_PAGES)) {
		if (!fp->has_pages)
			rc = dp_fail(err, DP_E_UNSUPPORTED, DP_NO_OFFSET,
				     "fingerprint has no page map (needed for --huge and --diff)");
		for (uint64_t i = 0; i < fp->npages && !rc; i++) {
			uint32_t ci = fp->page_content[i];
			rc = note_page(&w, fp->page_pfn[i], ci == DD_ID_ZERO ? DD_ID_ZERO : gid[ci], err);
		}
	}
	free(gid);
	if (!rc) {
		out->pages = fp->pages;
		out->absent_pages = fp->absent_pages;
		out->zero_pages = fp->zero_pages;
		out->known_zero = fp->known_zero;
		out->nonzero_pages = fp->pages - fp->zero_pages;
		out->intra_pages = out->nonzero_pages - out->distinct_pages;
		out->seconds = cm_now() - t0;
		rc = finish_dump(e, fp->path, out, &w, 1, err);
	}
	if (rc && dd_table_rollback(e->table))
		rc = dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory undoing a failed dump");
	free(w.pfn);
	free(w.id);
	return rc;
}

void dd_totals_add(struct dd_totals *t, const struct dd_dump_stats *st)
{
	t->dumps++;
	t->pages += st->pages;
	t->absent_pages += st->absent_pages;
	t->zero_pages += st->zero_pages;
	t->nonzero_pages += st->nonzero_pages;
	t->sum_distinct += st->distinct_pages;
	t->intra_pages += st->intra_pages;
	t->device_pages += st->device_pages;
	t->device_zero_pages += st->device_zero_pages;
	t->left_out_pages += st->left_out_pages;
}

struct recount {
	uint64_t copies, dumps;
};

static int recount_fn(const struct dd_entry *en, void *arg)
{
	struct recount *r = arg;
	r->copies += en->count;
	r->dumps += en->ndumps;
	return 0;
}

void dd_table_counts(const struct dd_table *t, uint64_t *copies, uint64_t *pairs)
{
	struct recount r = { 0, 0 };
	dd_table_each(t, recount_fn, &r);
	*copies = r.copies;
	*pairs = r.dumps;
}

int dd_totals_finish(struct dd_totals *t, uint64_t distinct, uint64_t copies, uint64_t pairs, char *why,
		     size_t whylen)
{
	t->distinct_pages = distinct;
	t->inter_pages = t->sum_distinct - t->distinct_pages;
	t->min_ram_bytes = t->distinct_pages * (uint64_t)t->page_size;
	/* every non-zero page is one copy of one content, every D_v is one
	 * (content, dump) pair */
	if (copies != t->nonzero_pages) {
		snprintf(why, whylen, "table holds %llu copies but %llu non-zero pages were read",
			 (unsigned long long)copies, (unsigned long long)t->nonzero_pages);
		return -1;
	}
	if (pairs != t->sum_distinct || t->distinct_pages > t->sum_distinct) {
		snprintf(why, whylen, "table holds %llu (content, dump) pairs but the dumps counted %llu",
			 (unsigned long long)pairs, (unsigned long long)t->sum_distinct);
		return -1;
	}
	if (t->nonzero_pages != t->distinct_pages + t->intra_pages + t->inter_pages) {
		snprintf(why, whylen, "non-zero %llu != distinct %llu + intra %llu + inter %llu",
			 (unsigned long long)t->nonzero_pages, (unsigned long long)t->distinct_pages,
			 (unsigned long long)t->intra_pages, (unsigned long long)t->inter_pages);
		return -1;
	}
	return 0;
}

int dd_engine_totals(const struct dd_engine *e, struct dd_totals *t, char *why, size_t whylen)
{
	/* recount from the table itself */
	uint64_t copies, pairs;
	*t = e->sum;
	dd_table_counts(e->table, &copies, &pairs);
	return dd_totals_finish(t, dd_table_size(e->table), copies, pairs, why, whylen);
}
