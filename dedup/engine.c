/*
 * The engine.  One dump at a time, all worker threads take units of it:
 * random-access dumps by an atomic unit counter (no lock on the hot path),
 * sequential ones under the dump's lock (decoding is serial there, hashing
 * is not: each thread hashes its own chunk outside the lock).  Pages count
 * in the content table as copies of the current dump until the whole dump
 * was read (commit); a dump that fails half-way is rolled back and leaves
 * no trace.
 */
#include "dedup.h"

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
	uint32_t page_size;
	struct dd_table *table;
	uint64_t ndumps;
	/* running sums over merged dumps */
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
	pthread_t tid;
	struct dd_dump_stats st;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct dd_engine *dd_engine_new(unsigned threads, enum dd_hash hash, uint32_t page_size)
{
	struct dd_engine *e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	e->threads = threads ? threads : 1;
	e->hash = hash;
	e->page_size = page_size;
	e->sum.page_size = page_size;
	e->table = dd_table_new();
	if (!e->table) {
		free(e);
		return NULL;
	}
	return e;
}

void dd_engine_free(struct dd_engine *e)
{
	if (!e)
		return;
	dd_table_free(e->table);
	free(e);
}

void dd_engine_set_progress(struct dd_engine *e, dd_progress_fn fn, void *arg, size_t ndumps)
{
	e->progress = fn;
	e->progress_arg = arg;
	e->progress_ndumps = ndumps;
}

const struct dd_table *dd_engine_table(const struct dd_engine *e) { return e->table; }

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

static int process_chunk(struct worker *w, struct dd_hasher *hs, const struct dp_chunk *c,
			 struct dp_error *err)
{
	struct job *j = w->j;
	const uint32_t ps = j->e->page_size;
	uint8_t digest[DD_DIGEST];

	if (!c->state && c->uniform != DP_PAGE_DATA) {
		/* a run without data: count it at once */
		if (c->uniform == DP_PAGE_ABSENT)
			w->st.absent_pages += c->npages;
		else {
			w->st.pages += c->npages;
			w->st.zero_pages += c->npages;
			w->st.known_zero += c->npages;
		}
		atomic_fetch_add(&j->done_bytes, c->bytes);
		return DP_OK;
	}
	for (size_t i = 0; i < c->npages; i++) {
		enum dp_page_state s = c->state ? (enum dp_page_state)c->state[i] : c->uniform;
		if (s == DP_PAGE_ABSENT) {
			w->st.absent_pages++;
			continue;
		}
		w->st.pages++;
		if (s == DP_PAGE_ZERO) {
			w->st.zero_pages++;
			w->st.known_zero++;
			continue;
		}
		const uint8_t *p = c->data + i * (size_t)ps;
		if (memcmp(p, j->zero, ps) == 0) {
			w->st.zero_pages++;
			continue;
		}
		w->st.nonzero_pages++;
		dd_hasher_page(hs, p, ps, digest);
		int rc = dd_table_add(j->e->table, digest, p, ps);
		if (rc < 0)
			return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET,
				       "out of memory in the content table (or a content with 2^32 copies)");
		w->st.distinct_pages += (uint64_t)rc;
	}
	w->st.bytes_read += c->bytes;
	atomic_fetch_add(&j->done_bytes, c->bytes);
	return DP_OK;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	struct job *j = w->j;
	struct dp_reader *r = NULL;
	struct dd_hasher *hs = dd_hasher_new(j->e->hash);
	struct dp_error err = { 0 };
	struct dp_chunk c;

	if (!hs) {
		dp_fail(&err, DP_E_NOMEM, DP_NO_OFFSET, "cannot set up the %s hasher", dd_hash_name(j->e->hash));
		set_error(j, &err);
		goto out;
	}
	if (dp_reader_open(j->d, &r, &err)) {
		set_error(j, &err);
		goto out;
	}
	while (!atomic_load(&j->failed)) {
		int rc;
		if (j->info->sequential) {
			pthread_mutex_lock(&j->lock);
			rc = atomic_load(&j->failed) ? DP_END : dp_read_next(r, &c, &err);
			pthread_mutex_unlock(&j->lock);
		} else {
			size_t u = atomic_fetch_add(&j->next_unit, 1);
			if (u >= j->info->nunits)
				break;
			rc = dp_read_unit(r, u, &c, &err);
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
out:
	dp_reader_close(r);
	dd_hasher_free(hs);
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
		.dump_index = (size_t)e->ndumps,
		.ndumps = e->progress_ndumps,
		.path = dp_get_path(j->d),
		.elapsed = now() - t0,
	};
	e->progress(&p, e->progress_arg);
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
	int rc = DP_OK;
	if (!zero || !ws) {
		rc = dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
		goto out;
	}
	j.zero = zero;

	double t0 = now();
	unsigned started = 0;
	for (unsigned i = 0; i < e->threads; i++) {
		ws[i].j = &j;
		if (pthread_create(&ws[i].tid, NULL, work, &ws[i]) != 0)
			break;
		started++;
	}
	if (!started) {
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
		out->bytes_read += ws[i].st.bytes_read;
	}
	out->intra_pages = out->nonzero_pages - out->distinct_pages;
	out->seconds = now() - t0;
	if (dd_table_commit(e->table)) {
		rc = dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET,
			     "content table limit reached (2^32 copies of one content or 2^28 dumps)");
		goto out;
	}
	e->ndumps++;
	e->sum.dumps++;
	e->sum.pages += out->pages;
	e->sum.absent_pages += out->absent_pages;
	e->sum.zero_pages += out->zero_pages;
	e->sum.nonzero_pages += out->nonzero_pages;
	e->sum.sum_distinct += out->distinct_pages;
	e->sum.intra_pages += out->intra_pages;
out:
	if (rc && dd_table_rollback(e->table))
		rc = dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory undoing a failed dump");
	free(ws);
	free(zero);
	pthread_mutex_destroy(&j.lock);
	pthread_mutex_destroy(&j.done_lock);
	pthread_cond_destroy(&j.done_cond);
	return rc;
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

int dd_engine_totals(const struct dd_engine *e, struct dd_totals *t, char *why, size_t whylen)
{
	*t = e->sum;
	t->distinct_pages = dd_table_size(e->table);
	t->inter_pages = t->sum_distinct - t->distinct_pages;
	t->min_ram_bytes = t->distinct_pages * (uint64_t)t->page_size;

	/* Recount from the table itself: every non-zero page is one copy of
	 * one content, every D_v is one (content, dump) pair. */
	struct recount r = { 0, 0 };
	dd_table_each(e->table, recount_fn, &r);
	if (r.copies != t->nonzero_pages) {
		snprintf(why, whylen, "table holds %llu copies but %llu non-zero pages were read",
			 (unsigned long long)r.copies, (unsigned long long)t->nonzero_pages);
		return -1;
	}
	if (r.dumps != t->sum_distinct || t->distinct_pages > t->sum_distinct) {
		snprintf(why, whylen, "table holds %llu (content, dump) pairs but the dumps counted %llu",
			 (unsigned long long)r.dumps, (unsigned long long)t->sum_distinct);
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
