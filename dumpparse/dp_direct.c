/*
 * A unit's stored bytes for the back ends (dp_reader_span).  Through the
 * page cache they are one pread into the reader's buffer.  Around it
 * (O_DIRECT, dp_file.c decides) they are read a window of several units at
 * a time into a buffer of huge pages, and the window after it (the next
 * batch of units the caller announced with dp_reader_ahead) is asked for
 * before the current one is worked on: Linux asynchronous I/O, which does
 * not wait for O_DIRECT reads, keeps one request per reader on its way
 * while the worker hashes.  On this machine's virtual disk a cold 8 GiB
 * file read by two threads in 1 MiB requests into 4 KiB pages took
 * 3.5-4.8 s, in 4 MiB requests into huge pages 0.75-1.2 s.
 */
#include "dp_int.h"

#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__linux__) && defined(SYS_io_setup) && defined(SYS_io_submit) && defined(SYS_io_getevents) && \
	defined(SYS_io_destroy)
#include <linux/aio_abi.h>
#define HAVE_AIO 1
#endif

/* where the window that starts with [off, end) ends: as far as the spans
 * to come (upto) and one window go, never past the file */
static uint64_t window_end(const struct dp_view *v, uint64_t off, uint64_t end, uint64_t upto)
{
	uint64_t wend = end;
	if (upto > end && end - off < DP_DIRECT_WINDOW)
		wend = upto - off > DP_DIRECT_WINDOW ? off + DP_DIRECT_WINDOW : upto;
	return wend > v->size ? v->size : wend;
}

static bool in_window(const struct dp_dwin *w, const struct dp_view *v, uint64_t off, uint64_t end)
{
	return w->v && w->v == v && off >= w->off && end <= w->end;
}

/* wait for the read ahead on its way; true when it brought all its bytes */
static bool prefetch_wait(struct dp_reader *r)
{
	bool ok = false;
#ifdef HAVE_AIO
	struct io_event ev;
	long n;
	do
		n = syscall(SYS_io_getevents, (aio_context_t)r->aio, 1L, 1L, &ev, NULL);
	while (n < 0 && errno == EINTR);
	ok = n == 1 && ev.res >= 0 && (uint64_t)ev.res >= r->pend.end - r->pend.off;
	if (n != 1)
		r->aio_failed = true; /* the request's fate is unknown: ask for no more */
#endif
	r->pend.v = NULL;
	return ok;
}

void dp_reader_prefetch(struct dp_reader *r, const struct dp_view *v, uint64_t off, uint64_t upto)
{
#ifdef HAVE_AIO
	if (v->dfd < 0 || r->pend.v || r->aio_failed || upto <= off || upto > v->size)
		return;
	uint64_t wend = window_end(v, off, off + 1, upto);
	if (in_window(&r->cur, v, off, wend) || !(v->dall || dp_file_cached(v->fd, v->map, off, wend - off) == 0))
		return;
	if (!r->aio) {
		aio_context_t ctx = 0;
		if (syscall(SYS_io_setup, 1L, &ctx) != 0) {
			r->aio_failed = true;
			return;
		}
		r->aio = ctx;
	}
	uint64_t a = off - off % DP_DIRECT_ALIGN;
	uint64_t want = (wend - a + DP_DIRECT_ALIGN - 1) / DP_DIRECT_ALIGN * DP_DIRECT_ALIGN;
	struct dp_error err = { 0 };
	uint8_t *buf = dp_reader_dwin(r, (size_t)want, true, &err);
	if (!buf)
		return; /* no memory for it: the bytes are read when they are asked for */
	struct iocb cb;
	memset(&cb, 0, sizeof cb);
	cb.aio_fildes = (uint32_t)v->dfd;
	cb.aio_lio_opcode = IOCB_CMD_PREAD;
	cb.aio_buf = (uint64_t)(uintptr_t)buf;
	cb.aio_nbytes = want;
	cb.aio_offset = (int64_t)a;
	struct iocb *list[1] = { &cb };
	if (syscall(SYS_io_submit, (aio_context_t)r->aio, 1L, list) == 1)
		r->pend = (struct dp_dwin){ v, a, wend };
#else
	(void)r, (void)v, (void)off, (void)upto;
#endif
}

void dp_reader_prefetch_end(struct dp_reader *r)
{
	if (r->pend.v)
		prefetch_wait(r);
#ifdef HAVE_AIO
	if (r->aio)
		syscall(SYS_io_destroy, (aio_context_t)r->aio);
#endif
	r->aio = 0;
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
