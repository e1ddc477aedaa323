/*
 * LiME (format=lime) and AVML memory images.
 *
 * LiME: a sequence of ranges, each a 32-byte header {u32 magic 0x4C694D45
 * ("EMiL" as stored little-endian), u32 version 1, u64 first address, u64
 * last address (inclusive), u64 reserved} and then exactly last-first+1
 * bytes of memory.  Fields are in the byte order of the dumping host, so a
 * big-endian host stores the magic as "LiME".  With compress=1 the whole
 * file is one zlib stream (decoded by the input layer) and is read front to
 * back.  AVML writes version-1 files of the same shape.
 *
 * AVML version 2: the same header with magic 0x4C4D5641 ("AVML") and
 * version 2, then the range's bytes as a snappy *framed* stream (chunks of
 * at most 64 KiB, each with a masked CRC-32C), then a u64 holding the size
 * of that framed stream.  The chunks are indexed at open and decompressed
 * per unit, in parallel, with every CRC checked.
 *
 * Ranges must ascend without overlapping.  Frames only partly covered by
 * ranges read as zero in the missing bytes and count as partial.  AVML does
 * not write ranges whose bytes are all zero; such memory is not in the file.
 */
#include "dp_int.h"

#include <pthread.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>

#define HDR 32u
#define LIME_MAGIC 0x4C694D45u
#define AVML_MAGIC 0x4C4D5641u
#define SNAPPY_MAX_CHUNK 65536u

static enum dp_probe lime_probe(const uint8_t *h, size_t n, const char *path)
{
	(void)path;
	if (n < 8)
		return DP_PROBE_NO;
	if ((dp_le32(h) == LIME_MAGIC && dp_le32(h + 4) == 1) || (dp_be32(h) == LIME_MAGIC && dp_be32(h + 4) == 1) ||
	    (dp_le32(h) == AVML_MAGIC && dp_le32(h + 4) == 2))
		return DP_PROBE_YES;
	return DP_PROBE_NO;
}

struct lrange {
	uint64_t start, end;      /* guest-physical, end exclusive */
	uint64_t hdr_at;
	size_t first_chunk, nchunks;
};

struct chunk {
	uint64_t off;             /* file offset of the chunk's data (after the CRC) */
	uint64_t uoff;            /* offset of its bytes inside the range */
	uint32_t clen, ulen;
	uint32_t crc;             /* masked CRC-32C of the uncompressed bytes */
	uint8_t compressed;
};

struct aunit {
	uint64_t f0, f1;          /* frames [f0, f1) */
	size_t r0;                /* first range that may overlap */
};

struct lime {
	bool avml, be;
	/* AVML index */
	struct lrange *r;
	size_t nr, cap_r;
	struct chunk *c;
	size_t nc, cap_c;
	struct aunit *u;
	size_t nu, cap_u;
	/* sequential LiME (streams) */
	uint64_t pos;             /* stream offset of the next byte */
	bool in_range;
	uint64_t cur, end, prev_end;
	unsigned nranges;
	uint8_t *pend;            /* partly covered frame being assembled */
	bool pend_valid;
	uint64_t pend_pfn, pend_cov;
};

struct lreader {
	uint8_t *ubuf;            /* one decompressed chunk */
	size_t cached;            /* chunk index in ubuf, SIZE_MAX if none */
};


/* ---- CRC-32C (Castagnoli), as snappy framing uses it ---- */
static uint32_t crc_table[8][256];

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc_table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
}

static uint32_t crc32c(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	while (n >= 8) {
		uint32_t lo = c ^ dp_le32(p), hi = dp_le32(p + 4);
		c = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^ crc_table[5][(lo >> 16) & 0xff] ^
		    crc_table[4][lo >> 24] ^ crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
		    crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
		p += 8;
		n -= 8;
	}
	while (n--)
		c = (c >> 8) ^ crc_table[0][(c ^ *p++) & 0xff];
	return ~c;
}

static uint32_t crc_mask(uint32_t c) { return ((c >> 15) | (c << 17)) + 0xa282ead8u; }

/* ---- header ---- */

struct hdr {
	uint32_t magic, version;
	uint64_t s, e;
	uint64_t reserved;
};

static int check_hdr(struct dp_dump *d, struct lime *l, const uint8_t *p, uint64_t at, unsigned idx,
		     struct hdr *h, struct dp_error *err)
{
	h->magic = dp_get32(l->be, p);
	h->version = dp_get32(l->be, p + 4);
	h->s = dp_get64(l->be, p + 8);
	h->e = dp_get64(l->be, p + 16);
	h->reserved = dp_get64(l->be, p + 24);
	uint32_t want_m = l->avml ? AVML_MAGIC : LIME_MAGIC, want_v = l->avml ? 2 : 1;
	(void)d;
	if (h->magic != want_m || h->version != want_v)
		return dp_fail(err, DP_E_CORRUPT, (int64_t)at,
			       "range header %u: magic 0x%08x version %u, expected 0x%08x version %u (%s)", idx,
			       h->magic, h->version, want_m, want_v,
			       h->magic == LIME_MAGIC || h->magic == AVML_MAGIC ? "a header of another kind"
										 : "damaged, or the data before it has the wrong length");
	if (h->e < h->s)
		return dp_fail(err, DP_E_CORRUPT, (int64_t)at + 16,
			       "range header %u: last address 0x%llx is below the first 0x%llx", idx,
			       (unsigned long long)h->e, (unsigned long long)h->s);
	if (h->e == UINT64_MAX)
		return dp_fail(err, DP_E_CORRUPT, (int64_t)at + 16,
			       "range header %u: range 0x%llx-0x%llx reaches the end of the address space", idx,
			       (unsigned long long)h->s, (unsigned long long)h->e);
	return DP_OK;
}

static int check_order(const struct hdr *h, uint64_t prev_end, bool first, uint64_t at, unsigned idx,
		       struct dp_error *err)
{
	if (!first && h->s < prev_end)
		return dp_fail(err, DP_E_CORRUPT, (int64_t)at + 8,
			       "range %u (0x%llx-0x%llx) overlaps or precedes the range before it (which ends at "
			       "0x%llx)",
			       idx, (unsigned long long)h->s, (unsigned long long)h->e,
			       (unsigned long long)(prev_end - 1));
	return DP_OK;
}

static void lime_free(struct lime *l)
{
	if (!l)
		return;
	free(l->r);
	free(l->c);
	free(l->u);
	free(l->pend);
	free(l);
}

static void lime_close(struct dp_dump *d)
{
	lime_free(d->priv);
	d->priv = NULL;
}

/* ---- LiME from a compressed regular file: one pass to find the ranges,
 * then the file is opened again and read front to back through the map ---- */
static int open_lime_walk(struct dp_dump *d, struct lime *l, struct dp_error *err)
{
	uint64_t pos = 0, prev_end = 0, reserved = 0, last_hdr = 0, last_s = 0;
	unsigned idx = 0;
	int rc;
	for (;;) {
		uint8_t p[HDR];
		rc = dp_src_read(d, pos, p, HDR, "LiME range header", err);
		if (rc == DP_E_TRUNCATED && d->src.size != UINT64_MAX && d->src.size <= pos && idx > 0) {
			if (d->src.size == pos)
				break; /* the end, between two ranges */
			return dp_fail(err, DP_E_TRUNCATED, (int64_t)last_hdr,
				       "range %u (0x%llx-0x%llx, %llu bytes) needs decoded bytes %llu..%llu but the "
				       "data ends at %llu (%llu missing)",
				       idx - 1, (unsigned long long)last_s, (unsigned long long)(prev_end - 1),
				       (unsigned long long)(prev_end - last_s), (unsigned long long)(last_hdr + HDR),
				       (unsigned long long)pos, (unsigned long long)d->src.size,
				       (unsigned long long)(pos - d->src.size));
		}
		if (rc)
			return rc;
		struct hdr h;
		if ((rc = check_hdr(d, l, p, pos, idx, &h, err)) || (rc = check_order(&h, prev_end, idx == 0, pos, idx, err)))
			return rc;
		uint64_t len = h.e - h.s + 1, data = pos + HDR, end;
		if (dp_add_overflows(data, len, &end))
			return dp_fail(err, DP_E_CORRUPT, (int64_t)pos, "range %u: length overflows", idx);
		if (h.reserved)
			reserved++;
		if ((rc = dp_map_add(d, h.s, len, data, err)))
			return rc;
		prev_end = h.e + 1;
		last_hdr = pos;
		last_s = h.s;
		pos = end;
		idx++;
	}
	dp_add_detail(d, "range headers", "%u", idx);
	if (reserved)
		dp_add_warning(d, "%llu range headers have non-zero reserved bytes", (unsigned long long)reserved);
	/* the decoded size is known now: read the file again from its start */
	if ((rc = dp_src_switch(d, d->path, err)))
		return rc;
	d->src.size = pos;
	return dp_map_finish(d, err);
}

/* ---- LiME, random access: ranges become map pieces ---- */
static int open_lime_mapped(struct dp_dump *d, struct lime *l, struct dp_error *err)
{
	uint64_t pos = 0, size = d->src.size, prev_end = 0, reserved = 0;
	unsigned idx = 0;
	int rc;
	while (pos < size) {
		const uint8_t *p = dp_src_ptr(d, pos, HDR, "LiME range header", err);
		if (!p)
			return err->status;
		struct hdr h;
		if ((rc = check_hdr(d, l, p, pos, idx, &h, err)) || (rc = check_order(&h, prev_end, idx == 0, pos, idx, err)))
			return rc;
		uint64_t len = h.e - h.s + 1, data = pos + HDR, end;
		if (dp_add_overflows(data, len, &end) || end > size)
			return dp_fail(err, DP_E_TRUNCATED, (int64_t)pos,
				       "range %u (0x%llx-0x%llx, %llu bytes) needs file bytes %llu..%llu but the file "
				       "ends at %llu (%llu missing)",
				       idx, (unsigned long long)h.s, (unsigned long long)h.e, (unsigned long long)len,
				       (unsigned long long)data, (unsigned long long)(data + len),
				       (unsigned long long)size,
				       (unsigned long long)(len - (size > data ? size - data : 0)));
		if (h.reserved)
			reserved++;
		if ((rc = dp_map_add(d, h.s, len, data, err)))
			return rc;
		prev_end = h.e + 1;
		pos = end;
		idx++;
	}
	dp_add_detail(d, "range headers", "%u", idx);
	if (reserved)
		dp_add_warning(d, "%llu range headers have non-zero reserved bytes", (unsigned long long)reserved);
	return dp_map_finish(d, err);
}

/* ---- AVML version 2: index the snappy chunks of every range ---- */

static int add_chunk(struct lime *l, struct chunk c, struct dp_error *err)
{
	if (dp_grow((void **)&l->c, &l->cap_c, l->nc + 1, sizeof *l->c))
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	l->c[l->nc++] = c;
	return DP_OK;
}

static int index_stream(struct dp_dump *d, struct lime *l, struct lrange *r, uint64_t start, unsigned idx,
			uint64_t *after, struct dp_error *err)
{
	uint64_t pos = start, want = r->end - r->start, have = 0, size = d->src.size;
	bool seen_id = false;
	int rc;
	r->first_chunk = l->nc;
	while (have < want) {
		const uint8_t *p = dp_src_ptr(d, pos, 4, "AVML snappy chunk header", err);
		if (!p)
			return err->status;
		unsigned type = p[0];
		uint32_t len = (uint32_t)p[1] | (uint32_t)p[2] << 8 | (uint32_t)p[3] << 16;
		uint64_t data = pos + 4, end = data + len;
		if (end > size)
			return dp_fail(err, DP_E_TRUNCATED, (int64_t)pos,
				       "range %u: snappy chunk of %u bytes at offset %llu runs past the end of the file "
				       "(%llu bytes; %llu missing)",
				       idx, len, (unsigned long long)pos, (unsigned long long)size,
				       (unsigned long long)(end - size));
		const uint8_t *q = dp_src_ptr(d, data, len, "AVML snappy chunk", err);
		if (!q)
			return err->status;
		if (type == 0xff) {
			if (len != 6 || memcmp(q, "sNaPpY", 6) != 0)
				return dp_fail(err, DP_E_CORRUPT, (int64_t)pos,
					       "range %u: bad snappy stream identifier chunk", idx);
			seen_id = true;
		} else if (type == 0x00 || type == 0x01) {
			if (!seen_id)
				return dp_fail(err, DP_E_CORRUPT, (int64_t)pos,
					       "range %u: snappy data chunk before the stream identifier", idx);
			if (len < 4 || (type == 0x00 && len == 4))
				return dp_fail(err, DP_E_CORRUPT, (int64_t)pos,
					       "range %u: snappy chunk of %u bytes is too short", idx, len);
			size_t ulen = len - 4;
			if (type == 0x00 && snappy_uncompressed_length((const char *)q + 4, len - 4, &ulen) != SNAPPY_OK)
				return dp_fail(err, DP_E_CORRUPT, (int64_t)pos,
					       "range %u: snappy chunk has no valid length preamble", idx);
			if (ulen == 0 || ulen > SNAPPY_MAX_CHUNK)
				return dp_fail(err, DP_E_CORRUPT, (int64_t)pos,
					       "range %u: snappy chunk holds %zu bytes (1..65536 allowed)", idx, ulen);
			if (ulen > want - have)
				return dp_fail(err, DP_E_CORRUPT, (int64_t)pos,
					       "range %u: snappy data holds more than the range's %llu bytes", idx,
					       (unsigned long long)want);
			struct chunk c = { data + 4, have, len - 4, (uint32_t)ulen, dp_le32(q), type == 0x00 };
			if ((rc = add_chunk(l, c, err)))
				return rc;
			have += ulen;
		} else if (type >= 0x02 && type <= 0x7f) {
			return dp_fail(err, DP_E_CORRUPT, (int64_t)pos,
				       "range %u: reserved unskippable snappy chunk type 0x%02x", idx, type);
		} /* 0x80..0xfe: skippable, padding */
		pos = end;
	}
	r->nchunks = l->nc - r->first_chunk;
	const uint8_t *t = dp_src_ptr(d, pos, 8, "AVML range trailer", err);
	if (!t)
		return err->status;
	uint64_t told = dp_le64(t);
	if (told != pos - start)
		return dp_fail(err, DP_E_CORRUPT, (int64_t)pos,
			       "range %u: trailer says the compressed data is %llu bytes, it is %llu", idx,
			       (unsigned long long)told, (unsigned long long)(pos - start));
	*after = pos + 8;
	return DP_OK;
}

static int add_unit(struct lime *l, uint64_t f0, uint64_t f1, size_t r0, struct dp_error *err)
{
	for (uint64_t f = f0; f < f1; f += DP_UNIT_PAGES) {
		if (dp_grow((void **)&l->u, &l->cap_u, l->nu + 1, sizeof *l->u))
			return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
		uint64_t e = f1 - f < DP_UNIT_PAGES ? f1 : f + DP_UNIT_PAGES;
		l->u[l->nu++] = (struct aunit){ f, e, r0 };
	}
	return DP_OK;
}

static int add_info_range(struct dp_dump *d, uint64_t pfn, uint64_t n, struct dp_error *err)
{
	if (dp_grow((void **)&d->ranges, &d->cap_ranges, d->nranges + 1, sizeof *d->ranges))
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	d->ranges[d->nranges++] = (struct dp_range){ pfn, n, DP_PAGE_DATA, UINT64_MAX, DP_MEM_RAM };
	return DP_OK;
}

static int open_avml(struct dp_dump *d, struct lime *l, struct dp_error *err)
{
	if (!dp_src_random(d))
		return dp_fail(err, DP_E_UNSUPPORTED, DP_NO_OFFSET,
			       "an AVML compressed image is read at random; decompress the outer compression "
			       "first or read it from a regular file");
	uint64_t pos = 0, size = d->src.size, prev_end = 0, reserved = 0;
	unsigned idx = 0;
	int rc;
	while (pos < size) {
		const uint8_t *p = dp_src_ptr(d, pos, HDR, "AVML range header", err);
		if (!p)
			return err->status;
		struct hdr h;
		if ((rc = check_hdr(d, l, p, pos, idx, &h, err)) || (rc = check_order(&h, prev_end, idx == 0, pos, idx, err)))
			return rc;
		if (h.reserved)
			reserved++;
		if (dp_grow((void **)&l->r, &l->cap_r, l->nr + 1, sizeof *l->r))
			return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
		struct lrange *r = &l->r[l->nr];
		*r = (struct lrange){ h.s, h.e + 1, pos, 0, 0 };
		if ((rc = index_stream(d, l, r, pos + HDR, idx, &pos, err)))
			return rc;
		l->nr++;
		prev_end = h.e + 1;
		idx++;
	}

	/* frames: union of the ranges, partial edge frames, units */
	const uint32_t ps = d->info.page_size;
	uint64_t ext0 = 0, ext1 = 0, last = UINT64_MAX, last_cov = 0, partial = 0, pages = 0;
	size_t ext_r0 = 0;
	bool have_ext = false;
	for (size_t i = 0; i < l->nr; i++) {
		uint64_t a = l->r[i].start, b = l->r[i].end;
		uint64_t fa = a / ps, fb = (b - 1) / ps;
		uint64_t cov_a = (fa == fb ? b : (fa + 1) * ps) - a;
		if (fa == last) {
			last_cov += cov_a;
		} else {
			if (last != UINT64_MAX && last_cov < ps)
				partial++;
			last = fa;
			last_cov = cov_a;
		}
		if (fb != fa) {
			if (last_cov < ps)
				partial++;
			last = fb;
			last_cov = b - fb * ps;
		}
		/* extents of frames */
		if (have_ext && fa <= ext1) {
			if (fb + 1 > ext1)
				ext1 = fb + 1;
		} else {
			if (have_ext) {
				if ((rc = add_unit(l, ext0, ext1, ext_r0, err)) || (rc = add_info_range(d, ext0, ext1 - ext0, err)))
					return rc;
				pages += ext1 - ext0;
			}
			have_ext = true;
			ext0 = fa;
			ext1 = fb + 1;
			ext_r0 = i;
		}
	}
	if (last != UINT64_MAX && last_cov < ps)
		partial++;
	if (have_ext) {
		if ((rc = add_unit(l, ext0, ext1, ext_r0, err)) || (rc = add_info_range(d, ext0, ext1 - ext0, err)))
			return rc;
		pages += ext1 - ext0;
	}
	/* each unit's first range: the first whose end lies past the unit's start */
	size_t r = 0;
	for (size_t k = 0; k < l->nu; k++) {
		if (r < l->u[k].r0)
			r = l->u[k].r0;
		while (r < l->nr && l->r[r].end <= l->u[k].f0 * ps)
			r++;
		l->u[k].r0 = r;
	}
	d->info.pages = pages;
	d->info.partial_pages = partial;
	d->info.nunits = l->nu;
	for (size_t i = 0; i < l->nc; i++)
		d->info.data_bytes += l->c[i].clen;
	dp_add_detail(d, "range headers", "%u, %zu snappy chunks", idx, l->nc);
	if (reserved)
		dp_add_warning(d, "%llu range headers have non-zero reserved bytes", (unsigned long long)reserved);
	return DP_OK;
}

static int avml_reader_open(struct dp_reader *r, struct dp_error *err)
{
	struct lreader *lr = calloc(1, sizeof *lr);
	if (!lr || !(lr->ubuf = malloc(SNAPPY_MAX_CHUNK))) {
		free(lr);
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	}
	lr->cached = SIZE_MAX;
	r->priv = lr;
	return DP_OK;
}

static void avml_reader_close(struct dp_reader *r)
{
	struct lreader *lr = r->priv;
	if (lr)
		free(lr->ubuf);
	free(lr);
}

static const uint8_t *chunk_bytes(struct dp_dump *d, struct lreader *lr, size_t ci, struct dp_error *err)
{
	struct lime *l = d->priv;
	const struct chunk *c = &l->c[ci];
	const uint8_t *src = dp_src_ptr(d, c->off, c->clen, "AVML snappy chunk", err);
	if (!src)
		return NULL;
	const uint8_t *out = src;
	if (c->compressed) {
		if (lr->cached == ci)
			return lr->ubuf; /* checked when it was decompressed */
		size_t n = SNAPPY_MAX_CHUNK;
		lr->cached = SIZE_MAX;
		if (snappy_uncompress((const char *)src, c->clen, (char *)lr->ubuf, &n) != SNAPPY_OK || n != c->ulen) {
			dp_fail(err, DP_E_CORRUPT, (int64_t)c->off - 8, "snappy chunk does not decompress to its %u bytes",
				c->ulen);
			return NULL;
		}
		out = lr->ubuf;
	}
	if (crc_mask(crc32c(out, c->ulen)) != c->crc) {
		dp_fail(err, DP_E_CORRUPT, (int64_t)c->off - 8, "snappy chunk CRC-32C does not match its data");
		return NULL;
	}
	if (c->compressed)
		lr->cached = ci;
	return out;
}

static int avml_read_unit(struct dp_reader *r, size_t unit, struct dp_chunk *out, struct dp_error *err)
{
	struct dp_dump *d = r->d;
	struct lime *l = d->priv;
	struct lreader *lr = r->priv;
	const struct aunit *u = &l->u[unit];
	const uint32_t ps = d->info.page_size;
	size_t n = (size_t)(u->f1 - u->f0);
	uint8_t *buf = dp_reader_buf(r, n * ps, err);
	if (!buf)
		return err->status;
	memset(buf, 0, n * ps);
	uint64_t lo = u->f0 * ps, hi = u->f1 * ps;
	for (size_t ri = u->r0; ri < l->nr && l->r[ri].start < hi; ri++) {
		const struct lrange *rg = &l->r[ri];
		uint64_t a = rg->start > lo ? rg->start : lo, b = rg->end < hi ? rg->end : hi;
		if (a >= b)
			continue;
		uint64_t ua = a - rg->start, ub = b - rg->start;
		/* first chunk ending after ua */
		size_t lo_c = rg->first_chunk, hi_c = rg->first_chunk + rg->nchunks;
		while (lo_c < hi_c) {
			size_t mid = lo_c + (hi_c - lo_c) / 2;
			if (l->c[mid].uoff + l->c[mid].ulen <= ua)
				lo_c = mid + 1;
			else
				hi_c = mid;
		}
		for (size_t ci = lo_c; ci < rg->first_chunk + rg->nchunks && l->c[ci].uoff < ub; ci++) {
			const struct chunk *c = &l->c[ci];
			const uint8_t *p = chunk_bytes(d, lr, ci, err);
			if (!p)
				return err->status;
			uint64_t ca = c->uoff > ua ? c->uoff : ua;
			uint64_t cb = c->uoff + c->ulen < ub ? c->uoff + c->ulen : ub;
			memcpy(buf + (rg->start + ca - lo), p + (ca - c->uoff), (size_t)(cb - ca));
			out->bytes += c->clen;
		}
	}
	out->pfn = u->f0;
	out->npages = n;
	out->data = buf;
	out->uniform = DP_PAGE_DATA;
	return DP_OK;
}

/* ---- LiME from a stream: front to back, counting as it goes ---- */

static int emit_pending(struct dp_reader *r, struct lime *l, struct dp_chunk *c, struct dp_error *err)
{
	struct dp_dump *d = r->d;
	const uint32_t ps = d->info.page_size;
	uint8_t *buf = dp_reader_buf(r, ps, err);
	if (!buf)
		return err->status;
	memcpy(buf, l->pend, ps);
	c->pfn = l->pend_pfn;
	c->npages = 1;
	c->data = buf;
	c->uniform = DP_PAGE_DATA;
	c->bytes = l->pend_cov;
	if (l->pend_cov < ps)
		d->info.partial_pages++;
	d->info.pages++;
	l->pend_valid = false;
	return DP_OK;
}

static int lime_read_next(struct dp_reader *r, struct dp_chunk *c, struct dp_error *err)
{
	struct dp_dump *d = r->d;
	struct lime *l = d->priv;
	if (l->avml || d->mapped) {
		size_t n = d->mapped ? d->nunits : d->info.nunits;
		if (d->next_unit >= n)
			return DP_END;
		size_t u = d->next_unit++;
		return l->avml ? avml_read_unit(r, u, c, err) : dp_map_read_unit(r, u, c, err);
	}
	const uint32_t ps = d->info.page_size;
	int rc;
	for (;;) {
		if (!l->in_range) {
			uint8_t h[HDR];
			rc = dp_src_read(d, l->pos, h, HDR, "LiME range header", err);
			if (rc == DP_E_TRUNCATED && d->src.size == l->pos) {
				/* a clean end between ranges */
				if (l->pend_valid)
					return emit_pending(r, l, c, err);
				if (l->nranges == 0)
					return dp_fail(err, DP_E_CORRUPT, 0, "LiME image holds no range");
				return DP_END;
			}
			if (rc)
				return rc;
			struct hdr hd;
			if ((rc = check_hdr(d, l, h, l->pos, l->nranges, &hd, err)) ||
			    (rc = check_order(&hd, l->prev_end, l->nranges == 0, l->pos, l->nranges, err)))
				return rc;
			l->pos += HDR;
			l->cur = hd.s;
			l->end = hd.e + 1;
			l->prev_end = l->end;
			l->in_range = true;
			l->nranges++;
			continue;
		}
		if (l->cur == l->end) {
			l->in_range = false;
			continue;
		}
		uint64_t pfn = l->cur / ps, in = l->cur % ps;
		if (in || l->end - l->cur < ps) {
			if (l->pend_valid && l->pend_pfn != pfn)
				return emit_pending(r, l, c, err);
			if (!l->pend_valid) {
				memset(l->pend, 0, ps);
				l->pend_valid = true;
				l->pend_pfn = pfn;
				l->pend_cov = 0;
			}
			uint64_t n = ps - in < l->end - l->cur ? ps - in : l->end - l->cur;
			if ((rc = dp_src_read(d, l->pos, l->pend + in, (size_t)n, "LiME range data", err)))
				return rc;
			l->pos += n;
			l->cur += n;
			l->pend_cov += n;
			d->info.data_bytes += n;
			continue;
		}
		if (l->pend_valid)
			return emit_pending(r, l, c, err);
		uint64_t nf = (l->end - l->cur) / ps;
		if (nf > DP_UNIT_PAGES)
			nf = DP_UNIT_PAGES;
		size_t len = (size_t)nf * ps;
		uint8_t *buf = dp_reader_buf(r, len, err);
		if (!buf)
			return err->status;
		if ((rc = dp_src_read(d, l->pos, buf, len, "LiME range data", err)))
			return rc;
		l->pos += len;
		l->cur += len;
		c->pfn = pfn;
		c->npages = (size_t)nf;
		c->data = buf;
		c->uniform = DP_PAGE_DATA;
		c->bytes = len;
		d->info.pages += nf;
		d->info.data_bytes += len;
		return DP_OK;
	}
}

static int lime_open(struct dp_dump *d, struct dp_error *err)
{
	static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
	pthread_once(&crc_once, crc_init);
	uint8_t h[8];
	int rc = dp_src_read(d, 0, h, 8, "LiME range header", err);
	if (rc)
		return rc;
	struct lime *l = calloc(1, sizeof *l);
	if (!l)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	d->priv = l;
	l->avml = dp_le32(h) == AVML_MAGIC;
	l->be = !l->avml && dp_be32(h) == LIME_MAGIC;
	d->info.page_size = d->opt.page_size ? d->opt.page_size : 4096;
	const char *endian = l->be ? "big-endian" : "little-endian";
	if (l->avml) {
		dp_set_variant(d, "AVML compressed image (LiME version 2 headers, snappy framed ranges)");
		return open_avml(d, l, err);
	}
	if (dp_src_random(d)) {
		dp_set_variant(d, "LiME image (format=lime, version 1, %s)", endian);
		return open_lime_mapped(d, l, err);
	}
	dp_set_variant(d, "LiME image (format=lime, version 1, %s)%s", endian,
		       d->info.compression && strcmp(d->info.compression, "zlib") == 0 ? ", compress=1 (zlib stream)" : "");
	if (d->src.stored_size && strcmp(d->path, "-") != 0)
		return open_lime_walk(d, l, err);
	l->pend = malloc(d->info.page_size);
	if (!l->pend)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	return DP_OK; /* ranges are found while reading */
}

static int lime_read_unit(struct dp_reader *r, size_t unit, struct dp_chunk *c, struct dp_error *err)
{
	struct lime *l = r->d->priv;
	if (l->avml)
		return avml_read_unit(r, unit, c, err);
	return dp_map_read_unit(r, unit, c, err);
}

static int lime_reader_open(struct dp_reader *r, struct dp_error *err)
{
	struct lime *l = r->d->priv;
	return l->avml ? avml_reader_open(r, err) : DP_OK;
}

const struct dp_format_ops lime_ops = {
	.name = "lime",
	.description = "LiME memory image (format=lime, also compress=1) and AVML (version 1 and snappy version 2)",
	.probe = lime_probe,
	.open = lime_open,
	.close = lime_close,
	.reader_open = lime_reader_open,
	.reader_close = avml_reader_close,
	.read_unit = lime_read_unit,
	.read_next = lime_read_next,
};
