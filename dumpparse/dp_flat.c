/*
 * The container layer: a view of a mapped file.  A plain file is its own
 * bytes; a makedumpfile *flattened* file (makedumpfile -F, QEMU and virsh
 * kdump-*) holds the bytes of another file as records: a 4096-byte header
 * ("makedumpfile", type 1, version 1), then records of a big-endian offset,
 * a size and that many bytes, ended by a record of two -1.  The records are
 * indexed once (in any order; a later record overwrites an earlier one), and
 * the logical bytes are then read in place, whatever format they hold.
 */
#include "dp_int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FLAT_SIG "makedumpfile\0\0\0\0"
#define FLAT_HDR 4096u          /* flattened header block */
#define FLAT_REC 16u            /* be64 offset, be64 size */

bool dp_flat_magic(const uint8_t *p, size_t n)
{
	return n >= DP_FLAT_MAGIC_LEN && memcmp(p, FLAT_SIG, DP_FLAT_MAGIC_LEN) == 0;
}

void dp_view_plain(struct dp_view *v, const char *path, const uint8_t *map, uint64_t size, int fd)
{
	memset(v, 0, sizeof *v);
	v->path = path;
	v->map = map;
	v->size = v->vsize = size;
	v->fd = fd;
	v->own_fd = v->dfd = -1;
	v->inner = "logical";
}

void dp_view_free(struct dp_view *v)
{
	if (v->own_map)
		munmap(v->own_map, v->own_len);
	if (v->own_fd >= 0)
		close(v->own_fd);
	if (v->dfd >= 0)
		close(v->dfd);
	free(v->segs);
	dp_view_plain(v, NULL, NULL, 0, -1);
}

void dp_view_direct(struct dp_view *v, enum dp_direct mode)
{
	v->dfd = dp_file_direct(v->fd, v->map, v->size, mode);
	v->dall = v->dfd >= 0 && mode == DP_DIRECT_ALWAYS;
}

uint64_t dp_view_size(const struct dp_view *v) { return v->flat ? v->vsize : v->size; }

int dp_view_open(const char *path, struct dp_view *v, enum dp_direct direct, struct dp_error *err)
{
	int fd;
	uint64_t size;
	bool regular;
	const uint8_t *m;
	dp_view_plain(v, path, NULL, 0, -1);
	int rc = dp_file_open(path, &fd, &size, &regular, err);
	if (rc) {
		if (fd >= 0)
			close(fd);
		return rc;
	}
	if (!regular || size == 0) {
		close(fd);
		return dp_fail(err, DP_E_IO, DP_NO_OFFSET, "not a regular, non-empty file");
	}
	if ((rc = dp_file_map(fd, size, &m, err))) {
		close(fd);
		return rc;
	}
	dp_view_plain(v, path, m, size, fd);
	v->own_map = (void *)(uintptr_t)m;
	v->own_len = (size_t)size;
	/* the view keeps its descriptor: page data is read with pread */
	v->own_fd = fd;
	dp_view_direct(v, direct);
	if (dp_flat_magic(m, (size_t)(size < DP_FLAT_MAGIC_LEN ? size : DP_FLAT_MAGIC_LEN)))
		rc = dp_flat_parse(v, err);
	if (rc)
		dp_view_free(v);
	return rc;
}

void dp_view_head(const struct dp_view *v, uint8_t *buf, size_t len)
{
	if (!v->flat) {
		memcpy(buf, v->map, len);
		return;
	}
	memset(buf, 0, len);
	for (size_t i = 0; i < v->nsegs && v->segs[i].voff < len; i++) {
		const struct dp_seg *g = &v->segs[i];
		uint64_t n = g->len < len - g->voff ? g->len : len - g->voff;
		memcpy(buf + g->voff, v->map + g->foff, (size_t)n);
	}
}

ssize_t dp_view_pull(void *ctx, uint8_t *buf, size_t cap, struct dp_error *err)
{
	struct dp_view_pull *p = ctx;
	uint64_t end = p->end < dp_view_size(p->v) ? p->end : dp_view_size(p->v);
	if (p->pos >= end)
		return 0;
	size_t n = end - p->pos < cap ? (size_t)(end - p->pos) : cap;
	if (dp_view_read(p->v, p->pos, buf, n, "input", err))
		return -1;
	p->pos += n;
	return (ssize_t)n;
}

/* first segment whose end is after off */
static size_t seg_find(const struct dp_view *v, uint64_t off)
{
	size_t lo = 0, hi = v->nsegs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v->segs[mid].voff + v->segs[mid].len <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int dp_view_missing(const struct dp_view *v, uint64_t off, uint64_t len, const char *what,
		   struct dp_error *err)
{
	if (!v->flat || !v->flat_end)
		return dp_fail(err, DP_E_TRUNCATED, (int64_t)v->size,
			       "%s: %llu bytes at %s offset %llu are missing: the %s ends at byte %llu",
			       what, (unsigned long long)len, v->inner, (unsigned long long)off,
			       v->flat ? "flattened file (no end marker)" : "file", (unsigned long long)v->size);
	return dp_fail(err, DP_E_CORRUPT, (int64_t)v->flat_end_at,
		       "%s: %s bytes %llu..%llu are in no record of the flattened file (its end marker)", what, v->inner,
		       (unsigned long long)off, (unsigned long long)(off + len));
}

/* File offset of logical offset off (for messages). */
int64_t dp_view_file_off(const struct dp_view *v, uint64_t off)
{
	if (!v->flat)
		return (int64_t)off;
	size_t i = seg_find(v, off);
	if (i < v->nsegs && v->segs[i].voff <= off)
		return (int64_t)(v->segs[i].foff + (off - v->segs[i].voff));
	return DP_NO_OFFSET;
}

/* Stored-file offset of the logical bytes [off, off+len) when they lie
 * together in the stored file (a plain file, or one flattened record);
 * DP_NO_OFFSET when not.  A cursor keeps the record found last, so that
 * a walk through neighbouring bytes does not search the records again. */
int64_t dp_view_span_at(const struct dp_view *v, uint64_t off, uint64_t len, struct dp_cursor *c)
{
	uint64_t end;
	if (dp_add_overflows(off, len, &end))
		return DP_NO_OFFSET;
	if (c && off >= c->lo && end <= c->hi)
		return (int64_t)(c->foff + (off - c->lo));
	struct dp_cursor f = { 0, v->size, 0 };
	if (!v->flat) {
		if (end > v->size)
			return DP_NO_OFFSET;
	} else {
		size_t i = seg_find(v, off);
		if (i >= v->nsegs || v->segs[i].voff > off || end > v->segs[i].voff + v->segs[i].len)
			return DP_NO_OFFSET;
		f = (struct dp_cursor){ v->segs[i].voff, v->segs[i].voff + v->segs[i].len, v->segs[i].foff };
	}
	if (c)
		*c = f;
	return (int64_t)(f.foff + (off - f.lo));
}

/* Pointer to len logical bytes at off; scratch (len bytes, may be NULL)
 * receives them when they straddle flattened records. */
const uint8_t *dp_view_get(const struct dp_view *v, uint64_t off, uint64_t len, uint8_t *scratch,
			   const char *what, struct dp_error *err)
{
	uint64_t end;
	if (dp_add_overflows(off, len, &end)) {
		dp_fail(err, DP_E_CORRUPT, (int64_t)v->size, "%s: offset %llu + %llu bytes overflows", what,
			(unsigned long long)off, (unsigned long long)len);
		return NULL;
	}
	int64_t fo = dp_view_span_at(v, off, len, NULL);
	if (fo >= 0)
		return v->map + fo;
	if (!v->flat) {
		dp_view_missing(v, off, len, what, err);
		return NULL;
	}
	size_t i = seg_find(v, off);
	if (!scratch) {
		if (i >= v->nsegs || v->segs[i].voff > off)
			dp_view_missing(v, off, len, what, err);
		else
			dp_fail(err, DP_E_UNSUPPORTED, dp_view_file_off(v, off),
				"%s: %llu bytes at %s offset %llu straddle flattened records", what,
				(unsigned long long)len, v->inner, (unsigned long long)off);
		return NULL;
	}
	uint64_t pos = off;
	while (pos < end) {
		if (i >= v->nsegs || v->segs[i].voff > pos) {
			dp_view_missing(v, pos, end - pos, what, err);
			return NULL;
		}
		uint64_t se = v->segs[i].voff + v->segs[i].len;
		uint64_t n = (se < end ? se : end) - pos;
		memcpy(scratch + (pos - off), v->map + v->segs[i].foff + (pos - v->segs[i].voff), (size_t)n);
		pos += n;
		i++;
	}
	return scratch;
}

/* Whether every logical byte of [off, off+len) is in the view, without
 * reading it; on failure err says which bytes are missing.  Lets a size
 * read from the header be checked before memory is set aside for it. */
int dp_view_check(const struct dp_view *v, uint64_t off, uint64_t len, const char *what, struct dp_error *err)
{
	uint64_t end;
	if (dp_add_overflows(off, len, &end))
		return dp_fail(err, DP_E_CORRUPT, (int64_t)v->size, "%s: offset %llu + %llu bytes overflows", what,
			       (unsigned long long)off, (unsigned long long)len);
	if (!v->flat)
		return end > v->size ? dp_view_missing(v, off, len, what, err) : DP_OK;
	uint64_t pos = off;
	for (size_t i = seg_find(v, off); pos < end; i++) {
		if (i >= v->nsegs || v->segs[i].voff > pos)
			return dp_view_missing(v, pos, end - pos, what, err);
		pos = v->segs[i].voff + v->segs[i].len;
	}
	return DP_OK;
}

int dp_view_read(const struct dp_view *v, uint64_t off, void *buf, size_t len, const char *what,
		 struct dp_error *err)
{
	const uint8_t *p = dp_view_get(v, off, len, buf, what, err);
	if (!p)
		return err->status;
	if (p != buf)
		memcpy(buf, p, len);
	return DP_OK;
}


/* Later records overwrite earlier ones: the newest record has priority. */
static int resolve_overlaps(struct dp_view *v, struct dp_error *err)
{
	size_t n = v->nsegs;
	struct dp_map_piece *in = malloc((n ? n : 1) * sizeof *in), *out = NULL;
	size_t cnt = 0;
	uint64_t dropped;
	if (!in)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	for (size_t k = 0; k < n; k++) /* newest first */
		in[k] = (struct dp_map_piece){ v->segs[n - 1 - k].voff, v->segs[n - 1 - k].len,
					       v->segs[n - 1 - k].foff };
	int rc = dp_disjoint(in, n, &out, &cnt, &dropped, err);
	free(in);
	if (rc)
		return rc;
	/* cutting records can give more pieces than there were records */
	struct dp_seg *segs = malloc((cnt ? cnt : 1) * sizeof *segs);
	if (!segs) {
		free(out);
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	}
	for (size_t k = 0; k < cnt; k++)
		segs[k] = (struct dp_seg){ out[k].paddr, out[k].len, out[k].off };
	free(out);
	free(v->segs);
	v->segs = segs;
	v->nsegs = cnt;
	return DP_OK;
}

int dp_flat_parse(struct dp_view *v, struct dp_error *err)
{
	if (v->size < FLAT_HDR)
		return dp_fail(err, DP_E_TRUNCATED, (int64_t)v->size,
			       "flattened header: the file has %llu bytes, the header block needs %u",
			       (unsigned long long)v->size, FLAT_HDR);
	int64_t type = (int64_t)dp_be64(v->map + 16), version = (int64_t)dp_be64(v->map + 24);
	if (type != 1)
		return dp_fail(err, DP_E_UNSUPPORTED, 16, "flattened header: type %lld, only 1 is known",
			       (long long)type);
	if (version != 1)
		return dp_fail(err, DP_E_UNSUPPORTED, 24, "flattened header: version %lld, only 1 is known",
			       (long long)version);
	v->flat = true;
	v->vsize = 0;
	size_t cap = 0;
	uint64_t pos = FLAT_HDR;
	bool sorted = true;
	for (;;) {
		if (pos == v->size)
			break; /* no end marker: truncated, reported when bytes are missing */
		if (v->size - pos < FLAT_REC) {
			free(v->segs);
			v->segs = NULL;
			return dp_fail(err, DP_E_TRUNCATED, (int64_t)pos,
				       "flattened record header: %llu bytes left, 16 needed",
				       (unsigned long long)(v->size - pos));
		}
		/* a record header in (nearly) every page of the file: pread them
		 * rather than fault every page in on this one thread */
		uint8_t rh[FLAT_REC];
		if (v->fd < 0 || pread(v->fd, rh, sizeof rh, (off_t)pos) != (ssize_t)sizeof rh)
			memcpy(rh, v->map + pos, sizeof rh);
		int64_t off = (int64_t)dp_be64(rh), len = (int64_t)dp_be64(rh + 8);
		if (off == -1 && len == -1) {
			v->flat_end = true;
			v->flat_end_at = pos;
			break;
		}
		if (off < 0 || len <= 0) {
			free(v->segs);
			v->segs = NULL;
			return dp_fail(err, DP_E_CORRUPT, (int64_t)pos,
				       "flattened record: offset %lld, size %lld (offset must be >= 0, size > 0)",
				       (long long)off, (long long)len);
		}
		uint64_t end;
		if (dp_add_overflows((uint64_t)off, (uint64_t)len, &end)) {
			free(v->segs);
			v->segs = NULL;
			return dp_fail(err, DP_E_CORRUPT, (int64_t)pos,
				       "flattened record: offset %lld + size %lld overflows", (long long)off,
				       (long long)len);
		}
		if ((uint64_t)len > v->size - pos - FLAT_REC) {
			/* keep what is there: the records before are usable for a message */
			free(v->segs);
			v->segs = NULL;
			return dp_fail(err, DP_E_TRUNCATED, (int64_t)v->size,
				       "flattened record at offset %llu: %lld bytes of data, only %llu in the file",
				       (unsigned long long)pos, (long long)len,
				       (unsigned long long)(v->size - pos - FLAT_REC));
		}
		if (dp_grow((void **)&v->segs, &cap, v->nsegs + 1, sizeof *v->segs))
			return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
		if (v->nsegs && (uint64_t)off < v->segs[v->nsegs - 1].voff + v->segs[v->nsegs - 1].len)
			sorted = false;
		v->segs[v->nsegs++] = (struct dp_seg){ (uint64_t)off, (uint64_t)len, pos + FLAT_REC };
		if (end > v->vsize)
			v->vsize = end;
		pos += FLAT_REC + (uint64_t)len;
	}
	v->nrecords = v->nsegs;
	if (v->nsegs == 0)
		return dp_fail(err, v->flat_end ? DP_E_CORRUPT : DP_E_TRUNCATED, (int64_t)pos,
			       "flattened file holds no records");
	if (!sorted) {
		/* out of order or overlapping: resolve in write order */
		int rc = resolve_overlaps(v, err);
		if (rc)
			return rc;
	}
	/* merge records that continue each other in both files */
	size_t w = 0;
	for (size_t i = 0; i < v->nsegs; i++) {
		if (w && v->segs[w - 1].voff + v->segs[w - 1].len == v->segs[i].voff &&
		    v->segs[w - 1].foff + v->segs[w - 1].len == v->segs[i].foff)
			v->segs[w - 1].len += v->segs[i].len;
		else
			v->segs[w++] = v->segs[i];
	}
	v->nsegs = w;
	return DP_OK;
}

