/*
 * Errors, info bookkeeping and scratch space: the bottom of dumpparse, used
 * by every other file and calling none of them.
 */
#include "dp_int.h"

#include <sys/mman.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *dp_status_name(enum dp_status s)
{
	switch (s) {
	case DP_OK: return "ok";
	case DP_END: return "end";
	case DP_E_IO: return "I/O error";
	case DP_E_TRUNCATED: return "truncated";
	case DP_E_CORRUPT: return "corrupt";
	case DP_E_UNSUPPORTED: return "not supported";
	case DP_E_UNKNOWN: return "unknown format";
	case DP_E_NOMEM: return "out of memory";
	case DP_E_USAGE: return "bad usage";
	}
	return "?";
}

const char *dp_error_text(const struct dp_error *e, const char *path, char *buf, size_t len)
{
	/* say whether the file is cut short or holds impossible values */
	const char *kind = e->status == DP_E_TRUNCATED ? "truncated: "
			 : e->status == DP_E_CORRUPT   ? "corrupt: "
						       : "";
	if (e->offset >= 0)
		snprintf(buf, len, "%s: %s%s (at offset %lld)", path, kind, e->msg, (long long)e->offset);
	else
		snprintf(buf, len, "%s: %s%s", path, kind, e->msg);
	return buf;
}

int dp_fail(struct dp_error *err, enum dp_status st, int64_t off, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		err->status = st;
		err->offset = off;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
	}
	return st;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 8;
	while (n < need) {
		if (n > SIZE_MAX / 2 / elem)
			return -1;
		n *= 2;
	}
	void *q = realloc(*p, n * elem);
	if (!q)
		return -1;
	*p = q;
	*cap = n;
	return 0;
}

int dp_grow(void **p, size_t *cap, size_t need, size_t elem)
{
	return grow(p, cap, need, elem);
}

int dp_err_context(struct dp_error *err, const char *fmt, ...)
{
	char ctx[256], msg[sizeof err->msg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof ctx, fmt, ap);
	va_end(ap);
	size_t n = strlen(ctx), m = strnlen(err->msg, sizeof err->msg - 1);
	memcpy(msg, err->msg, m);
	if (n > sizeof err->msg - 1)
		n = sizeof err->msg - 1;
	if (m > sizeof err->msg - 1 - n)
		m = sizeof err->msg - 1 - n;
	memcpy(err->msg, ctx, n);
	memcpy(err->msg + n, msg, m);
	err->msg[n + m] = 0;
	return err->status;
}

static char *vfmt(const char *fmt, va_list ap)
{
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

/* Room for one more element of a growing array, and the formatted text to
 * put in it; NULL when out of memory. */
static char *room_and_text(void **arr, size_t *cap, size_t n, size_t elem, const char *fmt, va_list ap)
{
	if (grow(arr, cap, n + 1, elem))
		return NULL;
	return vfmt(fmt, ap);
}

int dp_add_detail(struct dp_dump *d, const char *key, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *v = room_and_text((void **)&d->details, &d->cap_details, d->ndetails, sizeof *d->details, fmt, ap);
	va_end(ap);
	if (!v)
		return DP_E_NOMEM;
	d->details[d->ndetails].key = key;
	d->details[d->ndetails].value = v;
	d->ndetails++;
	return DP_OK;
}

int dp_add_warning(struct dp_dump *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *v = room_and_text((void **)&d->warnings, &d->cap_warnings, d->nwarnings, sizeof *d->warnings, fmt, ap);
	va_end(ap);
	if (!v)
		return DP_E_NOMEM;
	d->warnings[d->nwarnings++] = v;
	return DP_OK;
}

int dp_set_variant(struct dp_dump *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->variant_buf, sizeof d->variant_buf, fmt, ap);
	va_end(ap);
	d->info.variant = d->variant_buf;
	return DP_OK;
}

/* Byte buffers of HUGE_FROM or more (a unit's bytes) start on a HUGE_ROOM
 * boundary, take whole multiples of it and are asked for as transparent
 * huge pages: a new 1 MiB buffer then costs one page fault instead of 256,
 * about 5 ms of processor time per worker on a virtual machine, which is
 * much of a run on small dumps.  Without huge pages nothing is lost but
 * address space: untouched pages are never faulted in. */
#define HUGE_ROOM ((size_t)2 << 20)
#define HUGE_FROM ((size_t)1 << 20)

static void *huge_room(void *old, size_t oldcap, size_t n, size_t *cap)
{
	if (n > SIZE_MAX - HUGE_ROOM)
		return NULL;
	size_t c = (n + HUGE_ROOM - 1) / HUGE_ROOM * HUGE_ROOM;
	void *b;
	if (posix_memalign(&b, HUGE_ROOM, c))
		return NULL;
#ifdef MADV_HUGEPAGE
	madvise(b, c, MADV_HUGEPAGE);
#endif
	if (old)
		memcpy(b, old, oldcap);
	free(old);
	*cap = c;
	return b;
}

/* Room for n elements of a reader's scratch array (exactly n, or a huge
 * page's multiple: a reader's units have one size, so the first read sets
 * it; aligned: always on a huge page boundary); NULL on failure. */
static void *reader_room(void **p, size_t *cap, size_t n, size_t elem, bool name_size, bool aligned,
			 struct dp_error *err)
{
	if (n > *cap) {
		size_t nc = n;
		void *b = aligned || (elem == 1 && n >= HUGE_FROM) ? huge_room(*p, *cap, n, &nc)
			  : n <= SIZE_MAX / elem ? realloc(*p, n * elem) : NULL;
		if (!b) {
			if (name_size)
				dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory for a %zu-byte buffer", n);
			else
				dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
			return NULL;
		}
		*p = b;
		*cap = nc;
	}
	return *p;
}

uint8_t *dp_reader_buf(struct dp_reader *r, size_t len, struct dp_error *err)
{
	return reader_room((void **)&r->mem.buf, &r->mem.bufcap, len, 1, true, false, err);
}

uint8_t *dp_reader_win(struct dp_reader *r, size_t len, struct dp_error *err)
{
	return reader_room((void **)&r->mem.win, &r->mem.wincap, len, 1, true, false, err);
}

uint8_t *dp_reader_dwin(struct dp_reader *r, size_t len, bool second, struct dp_error *err)
{
	/* always on a huge page boundary (O_DIRECT needs DP_DIRECT_ALIGN): a
	 * disk request carries a bounded number of memory segments, and a huge
	 * page is one, so a read into huge pages goes to the disk in a few
	 * large requests (4 MiB reads of a cold file: 0.8-1.2 s for 8 GiB here,
	 * against 3.5-4.8 s into 4 KiB pages) */
	return second ? reader_room((void **)&r->mem.dwin2, &r->mem.dwin2cap, len, 1, true, true, err)
		      : reader_room((void **)&r->mem.dwin, &r->mem.dwincap, len, 1, true, true, err);
}

uint64_t dp_reader_direct_bytes(const struct dp_reader *r) { return r ? r->direct_bytes : 0; }

uint8_t *dp_reader_states(struct dp_reader *r, size_t n, struct dp_error *err)
{
	return reader_room((void **)&r->mem.state, &r->mem.statecap, n, 1, false, false, err);
}

uint64_t *dp_reader_pfns(struct dp_reader *r, size_t n, struct dp_error *err)
{
	return reader_room((void **)&r->mem.pfns, &r->mem.pfncap, n, sizeof *r->mem.pfns, false, false, err);
}

