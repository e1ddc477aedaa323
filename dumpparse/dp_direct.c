/*
 * A unit's stored bytes for the back ends (dp_reader_span).  Through the
 * page cache they are one pread into the reader's buffer.  Around it
 * (O_DIRECT, dp_file.c decides) they are read a window of several units at
 * a time into a buffer of huge pages, and the window after it (the next
 * batch of units the caller announced with dp_reader_ahead) is read by the
 * reader's fetcher thread while the worker hashes the current one, so that
 * the disk has a request of each worker's at all times.  On this machine's
 * virtual disk a cold 8 GiB file read by two threads in 1 MiB requests
 * into 4 KiB pages took 3.5-4.8 s, in 4 MiB requests into huge pages
 * 0.75-1.2 s.  (Linux asynchronous I/O would need no thread, but tearing
 * its context down waited some 50 ms here, on every dump.)
 */
#include "dp_int.h"

#include <pthread.h>
#include <stdlib.h>

/* where a window read from off ends: at least at end (the bytes asked
 * for), else as far as the spans to come (upto >= off) and one window go,
 * never past the file */
static uint64_t window_end(const struct dp_view *v, uint64_t off, uint64_t end, uint64_t upto)
{
	uint64_t wend = upto - off > DP_DIRECT_WINDOW ? off + DP_DIRECT_WINDOW : upto;
	if (wend < end)
		wend = end;
	return wend > v->size ? v->size : wend;
}

static bool in_window(const struct dp_dwin *w, const struct dp_view *v, uint64_t off, uint64_t end)
{
	return w->v && w->v == v && off >= w->off && end <= w->end;
}

/* A reader's fetcher: one read at a time, asked for and waited for by
 * the reader's thread. */
struct dp_fetcher {
	pthread_mutex_t mu;
	pthread_cond_t asked, done;
	pthread_t tid;
	enum { F_IDLE, F_ASKED, F_DONE, F_QUIT } state;
	int dfd;
	uint64_t off;
	size_t len;
	uint8_t *buf;
	bool ok;
};

static void *fetch_loop(void *arg)
{
	struct dp_fetcher *f = arg;
	pthread_mutex_lock(&f->mu);
	for (;;) {
		while (f->state != F_ASKED && f->state != F_QUIT)
			pthread_cond_wait(&f->asked, &f->mu);
		if (f->state == F_QUIT)
			break;
		pthread_mutex_unlock(&f->mu);
		bool ok = dp_file_pread_direct(f->dfd, f->off, f->len, f->buf);
		pthread_mutex_lock(&f->mu);
		f->ok = ok;
		f->state = F_DONE;
		pthread_cond_signal(&f->done);
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

static struct dp_fetcher *fetcher_new(void)
{
	struct dp_fetcher *f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	if (pthread_mutex_init(&f->mu, NULL)) {
		free(f);
		return NULL;
	}
	if (pthread_cond_init(&f->asked, NULL))
		goto no_asked;
	if (pthread_cond_init(&f->done, NULL))
		goto no_done;
	if (pthread_create(&f->tid, NULL, fetch_loop, f) == 0)
		return f;
	pthread_cond_destroy(&f->done);
no_done:
	pthread_cond_destroy(&f->asked);
no_asked:
	pthread_mutex_destroy(&f->mu);
	free(f);
	return NULL;
}

/* wait for the read ahead on its way; true when it brought all its bytes */
static bool prefetch_wait(struct dp_reader *r)
{
	struct dp_fetcher *f = r->fetcher;
	pthread_mutex_lock(&f->mu);
	while (f->state == F_ASKED)
		pthread_cond_wait(&f->done, &f->mu);
	bool ok = f->ok;
	f->state = F_IDLE;
	pthread_mutex_unlock(&f->mu);
	r->pend.v = NULL;
	return ok;
}

void dp_reader_prefetch(struct dp_reader *r, const struct dp_view *v, uint64_t off, uint64_t upto)
{
	if (v->dfd < 0 || r->pend.v || r->fetch_failed || upto <= off || upto > v->size)
		return;
	uint64_t wend = window_end(v, off, off, upto);
	if (!v->dall && dp_file_cached(v->fd, v->map, off, wend - off) != 0)
		return;
	struct dp_error err = { 0 };
	uint8_t *buf = dp_reader_dwin(r, (size_t)(wend - off) + 2 * DP_DIRECT_ALIGN, true, &err);
	if (!buf)
		return; /* no memory for it: the bytes are read when they are asked for */
	if (!r->fetcher && !(r->fetcher = fetcher_new())) {
		r->fetch_failed = true;
		return;
	}
	struct dp_fetcher *f = r->fetcher;
	pthread_mutex_lock(&f->mu);
	f->dfd = v->dfd;
	f->off = off;
	f->len = (size_t)(wend - off);
	f->buf = buf;
	f->state = F_ASKED;
	pthread_cond_signal(&f->asked);
	pthread_mutex_unlock(&f->mu);
	r->pend = (struct dp_dwin){ v, off - off % DP_DIRECT_ALIGN, wend };
}

void dp_reader_prefetch_end(struct dp_reader *r)
{
	struct dp_fetcher *f = r->fetcher;
	if (!f)
		return;
	if (r->pend.v)
		prefetch_wait(r);
	pthread_mutex_lock(&f->mu);
	f->state = F_QUIT;
	pthread_cond_signal(&f->asked);
	pthread_mutex_unlock(&f->mu);
	pthread_join(f->tid, NULL);
	pthread_cond_destroy(&f->done);
	pthread_cond_destroy(&f->asked);
	pthread_mutex_destroy(&f->mu);
	free(f);
	r->fetcher = NULL;
}

/* [off, end) around the page cache when it is to be read so: a pointer into
 * the current window, NULL with *done false when it goes through the cache
 * (and NULL with *done true and err on failure) */
static const uint8_t *direct_span(struct dp_reader *r, const struct dp_view *v, uint64_t off, uint64_t end,
				  uint64_t upto, bool *done, struct dp_error *err)
{
	*done = true;
	if (in_window(&r->cur, v, off, end))
		return r->mem.dwin + (off - r->cur.off);
	if (r->pend.v) {
		bool hit = in_window(&r->pend, v, off, end);
		struct dp_dwin w = r->pend;
		if (prefetch_wait(r) && hit) {
			uint8_t *b = r->mem.dwin2;
			size_t cap = r->mem.dwin2cap;
			r->mem.dwin2 = r->mem.dwin;
			r->mem.dwin2cap = r->mem.dwincap;
			r->mem.dwin = b;
			r->mem.dwincap = cap;
			r->cur = w;
			return b + (off - w.off);
		}
	}
	uint64_t wend = window_end(v, off, end, upto);
	if (!v->dall && dp_file_cached(v->fd, v->map, off, wend - off) != 0) {
		*done = false;
		return NULL;
	}
	uint8_t *buf = dp_reader_dwin(r, (size_t)(wend - off) + 2 * DP_DIRECT_ALIGN, false, err);
	if (!buf)
		return NULL;
	r->cur.v = NULL;
	if (!dp_file_pread_direct(v->dfd, off, (size_t)(wend - off), buf)) {
		*done = false; /* refused: through the cache, which also reports what is wrong */
		return NULL;
	}
	r->cur = (struct dp_dwin){ v, off - off % DP_DIRECT_ALIGN, wend };
	return buf + off % DP_DIRECT_ALIGN;
}

const uint8_t *dp_reader_span(struct dp_reader *r, const struct dp_view *v, uint64_t off, size_t len,
			      uint64_t upto, struct dp_error *err)
{
	uint64_t end;
	if (v->dfd >= 0 && !dp_add_overflows(off, len, &end) && end <= v->size && len <= SIZE_MAX / 2) {
		bool done;
		const uint8_t *p = direct_span(r, v, off, end, upto, &done, err);
		if (p)
			r->direct_bytes += len;
		if (done)
			return p;
	}
	uint8_t *w = dp_reader_win(r, len, err);
	return w && dp_file_pread(v->fd, v->size, off, w, len, err) == DP_OK ? w : NULL;
}
