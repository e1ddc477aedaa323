/*
 * Linear layouts: formats that say "guest-physical bytes [paddr, paddr+len)
 * are stored at file offset off" (ELF PT_LOADs, raw images, LiME ranges, run
 * lists ...).  The back end adds pieces in priority order; this file resolves
 * overlaps (first piece wins, so every guest frame is counted once), cuts the
 * result into frames, and serves units zero-copy from the mapping or through
 * the stream.
 *
 * Frames only partly covered by data (ranges that start or end inside a
 * frame, also where an absent range takes over inside the frame) are assembled in the reader's buffer with the uncovered bytes zero,
 * and counted in dp_info.partial_pages.  A frame covered only by absent
 * pieces is absent.
 */
#include "dp_int.h"

#include <stdlib.h>
#include <string.h>

#define NO_OFF UINT64_MAX

void dp_map_free(struct dp_dump *d)
{
	free(d->in);
	free(d->pieces);
	free(d->ext);
	free(d->uorder);
	free(d->ustart);
}

static int add_in(struct dp_dump *d, uint64_t paddr, uint64_t len, uint64_t off, struct dp_error *err)
{
	uint64_t end;
	if (len == 0)
		return DP_OK;
	if (dp_add_overflows(paddr, len, &end))
		return dp_fail(err, DP_E_CORRUPT, DP_NO_OFFSET,
			       "memory range at 0x%llx of %llu bytes wraps the address space",
			       (unsigned long long)paddr, (unsigned long long)len);
	if (dp_grow((void **)&d->in, &d->cap_in, d->nin + 1, sizeof *d->in))
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	d->in[d->nin++] = (struct dp_map_piece){ paddr, len, off };
	return DP_OK;
}

int dp_map_add(struct dp_dump *d, uint64_t paddr, uint64_t len, uint64_t off, struct dp_error *err)
{
	uint64_t end;
	if (dp_add_overflows(off, len, &end))
		return dp_fail(err, DP_E_CORRUPT, DP_NO_OFFSET,
			       "file range at offset %llu of %llu bytes overflows",
			       (unsigned long long)off, (unsigned long long)len);
	return add_in(d, paddr, len, off, err);
}

int dp_map_add_absent(struct dp_dump *d, uint64_t paddr, uint64_t len, struct dp_error *err)
{
	return add_in(d, paddr, len, NO_OFF, err);
}


struct builder {
	struct dp_dump *d;
	uint32_t ps;
	/* pending partial frame */
	bool pend;
	uint64_t pfn;
	uint32_t first_piece;
	uint64_t covered;
	bool has_data;
};

static int push_ext(struct dp_dump *d, struct dp_extent e, struct dp_error *err)
{
	if (d->next) {
		struct dp_extent *l = &d->ext[d->next - 1];
		if (l->kind == e.kind && e.kind != DP_EXT_ASSEMBLED && l->pfn + l->npages == e.pfn &&
		    (e.kind == DP_EXT_ABSENT || l->off + l->npages * d->info.page_size == e.off)) {
			l->npages += e.npages;
			return DP_OK;
		}
	}
	if (dp_grow((void **)&d->ext, &d->cap_ext, d->next + 1, sizeof *d->ext))
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	d->ext[d->next++] = e;
	return DP_OK;
}

static int flush(struct builder *b, struct dp_error *err)
{
	struct dp_dump *d = b->d;
	if (!b->pend)
		return DP_OK;
	b->pend = false;
	if (!b->has_data) {
		d->npieces = b->first_piece; /* absent-only frame: pieces not needed */
		return push_ext(d, (struct dp_extent){ .pfn = b->pfn, .npages = 1, .kind = DP_EXT_ABSENT },
				err);
	}
	if (b->covered < b->ps)
		d->info.partial_pages++;
	/* keep data pieces only */
	size_t w = b->first_piece;
	for (size_t i = b->first_piece; i < d->npieces; i++)
		if (d->pieces[i].off != NO_OFF)
			d->pieces[w++] = d->pieces[i];
	d->npieces = w;
	return push_ext(d,
			(struct dp_extent){ .pfn = b->pfn,
					    .npages = 1,
					    .first_piece = b->first_piece,
					    .npieces = (uint32_t)(w - b->first_piece),
					    .kind = DP_EXT_ASSEMBLED },
			err);
}

static int add_partial(struct builder *b, uint64_t pos, uint64_t len, uint64_t off, struct dp_error *err)
{
	struct dp_dump *d = b->d;
	uint64_t pfn = pos / b->ps;
	if (b->pend && b->pfn != pfn) {
		int rc = flush(b, err);
		if (rc)
			return rc;
	}
	if (!b->pend) {
		if (d->npieces > UINT32_MAX - 1)
			return dp_fail(err, DP_E_UNSUPPORTED, DP_NO_OFFSET, "too many partial frames");
		b->pend = true;
		b->pfn = pfn;
		b->first_piece = (uint32_t)d->npieces;
		b->covered = 0;
		b->has_data = false;
	}
	if (dp_grow((void **)&d->pieces, &d->cap_pieces, d->npieces + 1, sizeof *d->pieces))
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	d->pieces[d->npieces++] = (struct dp_map_piece){ pos - pfn * b->ps, len, off };
	/* partial: fewer bytes stored than the frame has, whether the rest is
	 * described as absent (ELF p_memsz beyond p_filesz) or not at all */
	if (off != NO_OFF) {
		b->covered += len;
		b->has_data = true;
	}
	return DP_OK;
}

static int add_range(struct dp_dump *d, uint64_t pfn, uint64_t n, enum dp_page_state st, uint64_t off,
		     struct dp_error *err)
{
	if (d->nranges) {
		struct dp_range *l = &d->ranges[d->nranges - 1];
		if (l->state == st && l->pfn + l->npages == pfn) {
			if (l->file_offset != NO_OFF &&
			    (off == NO_OFF || l->file_offset + l->npages * d->info.page_size != off))
				l->file_offset = NO_OFF;
			l->npages += n;
			return DP_OK;
		}
	}
	if (dp_grow((void **)&d->ranges, &d->cap_ranges, d->nranges + 1, sizeof *d->ranges))
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	d->ranges[d->nranges++] = (struct dp_range){ pfn, n, st, off, DP_MEM_RAM };
	return DP_OK;
}

/* Where an extent's bytes start in the file: the order a stream is read in. */
static uint64_t ext_key(const struct dp_dump *d, const struct dp_extent *e)
{
	switch (e->kind) {
	case DP_EXT_DATA: return e->off;
	case DP_EXT_ASSEMBLED: return e->npieces ? d->pieces[e->first_piece].off : 0;
	}
	return 0;
}

static const struct dp_dump *sort_dump;

static int cmp_ext(const void *a, const void *b)
{
	uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
	uint64_t x = ext_key(sort_dump, &sort_dump->ext[i]), y = ext_key(sort_dump, &sort_dump->ext[j]);
	if (x != y)
		return x < y ? -1 : 1;
	return i < j ? -1 : i > j;
}

static uint64_t ext_units(const struct dp_extent *e)
{
	return e->kind == DP_EXT_ABSENT ? 1 : (e->npages + DP_UNIT_PAGES - 1) / DP_UNIT_PAGES;
}

int dp_map_finish(struct dp_dump *d, struct dp_error *err)
{
	struct dp_map_piece *res = NULL;
	size_t nres = 0;
	uint64_t dropped = 0;
	uint32_t ps = d->info.page_size ? d->info.page_size : 4096;
	int rc;

	d->info.page_size = ps;
	if ((rc = dp_disjoint(d->in, d->nin, &res, &nres, &dropped, err)))
		return rc;
	if (dropped)
		dp_add_detail(d, "overlap", "%llu bytes described more than once (first description used)",
			      (unsigned long long)dropped);

	struct builder b = { .d = d, .ps = ps };
	for (size_t i = 0; i < nres && !rc; i++) {
		const struct dp_map_piece *p = &res[i];
		uint64_t pos = p->paddr, end = p->paddr + p->len;
		bool data = p->off != NO_OFF;
		if (data && d->src.map) {
			uint64_t fend = p->off + p->len;
			if (fend > d->src.size) {
				rc = dp_fail(err, DP_E_TRUNCATED, (int64_t)d->src.size,
					     "memory at 0x%llx is stored at file offset %llu..%llu, past the "
					     "end of the file (%llu bytes missing)",
					     (unsigned long long)p->paddr, (unsigned long long)p->off,
					     (unsigned long long)fend,
					     (unsigned long long)(fend - (p->off > d->src.size ? p->off : d->src.size)));
				break;
			}
		}
		if (data)
			d->info.data_bytes += p->len;
		if (pos % ps) {
			uint64_t fe = (pos / ps + 1) * ps;
			uint64_t e = end < fe ? end : fe;
			rc = add_partial(&b, pos, e - pos, p->off, err);
			pos = e;
		}
		if (!rc && pos < end && (end - pos) >= ps) {
			uint64_t nf = (end - pos) / ps;
			if ((rc = flush(&b, err)))
				break;
			struct dp_extent e = { .pfn = pos / ps, .npages = nf };
			if (data) {
				e.kind = DP_EXT_DATA;
				e.off = p->off + (pos - p->paddr);
			} else {
				e.kind = DP_EXT_ABSENT;
			}
			rc = push_ext(d, e, err);
			pos += nf * ps;
		}
		if (!rc && pos < end)
			rc = add_partial(&b, pos, end - pos, data ? p->off + (pos - p->paddr) : NO_OFF, err);
	}
	if (!rc)
		rc = flush(&b, err);
	free(res);
	if (rc)
		return rc;

	/* counts, ranges, units */
	if (d->next > UINT32_MAX)
		return dp_fail(err, DP_E_UNSUPPORTED, DP_NO_OFFSET, "more than 2^32 memory extents");
	for (size_t i = 0; i < d->next; i++) {
		const struct dp_extent *e = &d->ext[i];
		if (e->kind == DP_EXT_ABSENT)
			d->info.absent_pages += e->npages;
		else
			d->info.pages += e->npages;
		rc = add_range(d, e->pfn, e->npages, e->kind == DP_EXT_ABSENT ? DP_PAGE_ABSENT : DP_PAGE_DATA,
			       e->kind == DP_EXT_DATA ? e->off : NO_OFF, err);
		if (rc)
			return rc;
	}
	d->uorder = malloc((d->next ? d->next : 1) * sizeof *d->uorder);
	d->ustart = malloc((d->next + 1) * sizeof *d->ustart);
	if (!d->uorder || !d->ustart)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	for (size_t i = 0; i < d->next; i++)
		d->uorder[i] = (uint32_t)i;
	if (!d->src.map) {
		/* a stream is read front to back */
		sort_dump = d;
		qsort(d->uorder, d->next, sizeof *d->uorder, cmp_ext);
		sort_dump = NULL;
	}
	uint64_t nunits = 0;
	for (size_t k = 0; k < d->next; k++) {
		d->ustart[k] = nunits;
		nunits += ext_units(&d->ext[d->uorder[k]]); /* < 2^52 frames each, < 2^32 extents */
	}
	d->ustart[d->next] = nunits;
	if (nunits > SIZE_MAX)
		return dp_fail(err, DP_E_UNSUPPORTED, DP_NO_OFFSET, "too many read units");
	d->nunits = (size_t)nunits;
	d->mapped = true;
	return DP_OK;
}

const struct dp_extent *dp_map_unit(const struct dp_dump *d, size_t unit, uint64_t *first, uint64_t *npages)
{
	/* the extent: last k with ustart[k] <= unit */
	size_t lo = 0, hi = d->next;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (d->ustart[mid] <= unit)
			lo = mid;
		else
			hi = mid;
	}
	const struct dp_extent *e = &d->ext[d->uorder[lo]];
	*first = 0;
	*npages = e->npages;
	if (e->kind != DP_EXT_ABSENT) {
		*first = (unit - d->ustart[lo]) * DP_UNIT_PAGES;
		*npages = e->npages - *first < DP_UNIT_PAGES ? e->npages - *first : DP_UNIT_PAGES;
	}
	return e;
}

/* where the stored bytes of a data extent's units from unit (its frames
 * from first on) up to unit end end: the units are the extent's in order,
 * so their bytes follow each other up to the extent's end */
static uint64_t data_upto(const struct dp_extent *e, uint64_t first, size_t unit, size_t end, uint32_t ps)
{
	uint64_t units = end > unit ? end - unit : 1, pages = e->npages - first;
	if (units * DP_UNIT_PAGES < pages)
		pages = units * DP_UNIT_PAGES;
	return e->off + (first + pages) * ps;
}

int dp_map_read_unit(struct dp_reader *r, size_t unit, struct dp_chunk *c, struct dp_error *err)
{
	struct dp_dump *d = r->d;
	uint64_t first, npages;
	const struct dp_extent *e = dp_map_unit(d, unit, &first, &npages);
	uint32_t ps = d->info.page_size;
	int rc;

	c->pfn = e->pfn + first;
	c->npages = (size_t)npages;
	c->uniform = DP_PAGE_DATA;
	switch (e->kind) {
	case DP_EXT_ABSENT:
		c->uniform = DP_PAGE_ABSENT;
		return DP_OK;
	case DP_EXT_DATA: {
		uint64_t off = e->off + first * ps;
		size_t len = (size_t)npages * ps;
		c->bytes = len;
		if (d->src.map) {
			/* A copy into this thread's buffer (a unit is 1 MiB, so it
			 * stays in cache for the zero check and the hash) measured
			 * 1.8x faster than hashing through the mapping, whose page
			 * table work costs more than the copy. */
			c->data = dp_reader_span(r, &d->src.view, off, len, data_upto(e, first, unit, r->ahead, ps),
						 err);
			if (c->data && r->next_end > r->next && r->next_end <= d->nunits && !r->next_asked) {
				/* while this batch is worked on, the next one's bytes */
				r->next_asked = true;
				uint64_t nfirst, nn;
				const struct dp_extent *ne = dp_map_unit(d, r->next, &nfirst, &nn);
				if (ne->kind == DP_EXT_DATA)
					dp_reader_prefetch(r, &d->src.view, ne->off + nfirst * ps,
							   data_upto(ne, nfirst, r->next, r->next_end, ps));
			}
			return c->data ? DP_OK : err->status;
		}
		uint8_t *buf = dp_reader_buf(r, len, err);
		if (!buf)
			return err->status;
		if ((rc = dp_src_read(d, off, buf, len, "page data", err)))
			return rc;
		c->data = buf;
		return DP_OK;
	}
	default: {
		uint8_t *buf = dp_reader_buf(r, ps, err);
		if (!buf)
			return err->status;
		memset(buf, 0, ps);
		for (uint32_t i = 0; i < e->npieces; i++) {
			const struct dp_map_piece *p = &d->pieces[e->first_piece + i];
			if ((rc = dp_src_read(d, p->off, buf + p->paddr, (size_t)p->len, "page data", err)))
				return rc;
			c->bytes += p->len;
		}
		c->data = buf;
		return DP_OK;
	}
	}
}
