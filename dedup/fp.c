/*
 * Fingerprint files: what dedup-analyze needs of a dump without its page
 * bytes — the distinct contents with their copies and the page map — so that
 * a fleet can be analyzed again without the dumps.  Layout (little-endian;
 * documented in docs/fingerprints.md):
 *
 *   0  magic "SPFP\r\n\x1a\n"        8
 *   8  version (1)                  u32
 *  12  page size                    u32
 *  16  hash (0 sha1, 1 xxh128)      u8
 *  17  key bytes (16)               u8
 *  18  flags (bit 0: page map)      u16
 *  20  path length L                u32
 *  24  present pages                u64
 *  32  absent pages                 u64
 *  40  zero pages                   u64
 *  48  zero pages marked by format  u64
 *  56  contents C                   u64
 *  64  page map entries M           u64
 *  72  page map runs R              u64
 *  80  path, L bytes, zero-padded to a multiple of 8
 *      C x {key[16], u32 copies, u8 class, 3 zero bytes}, keys ascending
 *      R x {u64 first frame, u64 frames}, ascending, not touching
 *      M x u32 content index (0xffffffff: zero page), in run order
 *      u32 CRC-32 (zlib) of everything before it, u32 "END!"
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "dedup.h"

#define MAGIC "SPFP\r\n\x1a\n"
#define VERSION 1
#define HDR 80
#define REC 24

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }

int dd_fp_probe(const char *path)
{
	uint8_t m[8];
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	size_t n = fread(m, 1, sizeof m, f);
	fclose(f);
	return n == 8 && memcmp(m, MAGIC, 8) == 0;
}

void dd_fp_free(struct dd_fp *fp)
{
	if (!fp)
		return;
	free(fp->path);
	free(fp->contents);
	free(fp->page_pfn);
	free(fp->page_content);
	memset(fp, 0, sizeof *fp);
}

/* ---- writing ---- */

struct out {
	FILE *f;
	uLong crc;
	int bad;
};

static void emit(struct out *o, const void *p, size_t n)
{
	if (o->bad || fwrite(p, 1, n, o->f) != n)
		o->bad = 1;
	o->crc = crc32_z(o->crc, p, n);
}

struct order {
	const struct dd_entry *e;
	uint32_t id, copies;
};

static int by_key(const void *a, const void *b)
{
	return memcmp(((const struct order *)a)->e->key, ((const struct order *)b)->e->key, DD_KEY);
}

int dd_fp_write(const struct dd_engine *e, size_t i, const char *path, struct dp_error *err)
{
	const struct dd_dump_data *dd = dd_engine_dump(e, i);
	const struct dd_table *t = dd_engine_table(e);
	if (!dd || !(dd->collected & DD_COLLECT_IDS))
		return dp_fail(err, DP_E_USAGE, DP_NO_OFFSET, "no content list kept for this dump");
	struct order *ord = malloc((dd->nids ? dd->nids : 1) * sizeof *ord);
	/* fp index of each content, in id order (dd->ids is ascending) */
	uint32_t *idx = malloc((dd->nids ? dd->nids : 1) * sizeof *idx);
	if (!ord || !idx) {
		free(ord);
		free(idx);
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	}
	for (uint64_t k = 0; k < dd->nids; k++)
		ord[k] = (struct order){ dd_table_get(t, dd->ids[k]), dd->ids[k], dd->copies[k] };
	qsort(ord, dd->nids, sizeof *ord, by_key);
	for (uint64_t k = 0; k < dd->nids; k++) {
		/* position of ord[k].id in the ascending id list */
		uint64_t lo = 0, hi = dd->nids;
		while (lo < hi) {
			uint64_t mid = (lo + hi) / 2;
			if (dd->ids[mid] < ord[k].id)
				lo = mid + 1;
			else
				hi = mid;
		}
		idx[lo] = (uint32_t)k;
	}

	uint64_t runs = 0;
	for (uint64_t k = 0; k < dd->npages; k++)
		runs += k == 0 || dd->pfn[k] != dd->pfn[k - 1] + 1;

	FILE *f = fopen(path, "wb");
	if (!f) {
		free(ord);
		free(idx);
		return dp_fail(err, DP_E_IO, DP_NO_OFFSET, "cannot create: %s", strerror(errno));
	}
	struct out o = { f, crc32(0, NULL, 0), 0 };
	uint8_t h[HDR];
	memset(h, 0, sizeof h);
	size_t plen = strlen(dd->name);
	memcpy(h, MAGIC, 8);
	put32(h + 8, VERSION);
	put32(h + 12, dd_engine_page_size(e));
	h[16] = dd_engine_hash(e) == DD_HASH_XXH128;
	h[17] = DD_KEY;
	h[18] = dd->collected & DD_COLLECT_PAGES ? 1 : 0;
	put32(h + 20, (uint32_t)plen);
	put64(h + 24, dd->st.pages);
	put64(h + 32, dd->st.absent_pages);
	put64(h + 40, dd->st.zero_pages);
	put64(h + 48, dd->st.known_zero);
	put64(h + 56, dd->nids);
	put64(h + 64, dd->npages);
	put64(h + 72, runs);
	emit(&o, h, HDR);
	emit(&o, dd->name, plen);
	static const uint8_t pad[8];
	emit(&o, pad, (8 - plen % 8) % 8);
	for (uint64_t k = 0; k < dd->nids; k++) {
		uint8_t r[REC];
		memset(r, 0, sizeof r);
		memcpy(r, ord[k].e->key, DD_KEY);
		put32(r + 16, ord[k].copies);
		r[20] = (uint8_t)ord[k].e->cls;
		emit(&o, r, REC);
	}
	for (uint64_t k = 0; k < dd->npages;) {
		uint64_t n = 1;
		while (k + n < dd->npages && dd->pfn[k + n] == dd->pfn[k] + n)
			n++;
		uint8_t r[16];
		put64(r, dd->pfn[k]);
		put64(r + 8, n);
		emit(&o, r, 16);
		k += n;
	}
	for (uint64_t k = 0; k < dd->npages; k++) {
		uint8_t r[4];
		uint32_t v = DD_ID_ZERO;
		if (dd->pid[k] != DD_ID_ZERO) {
			uint64_t lo = 0, hi = dd->nids;
			while (lo < hi) {
				uint64_t mid = (lo + hi) / 2;
				if (dd->ids[mid] < dd->pid[k])
					lo = mid + 1;
				else
					hi = mid;
			}
			v = idx[lo];
		}
		put32(r, v);
		emit(&o, r, 4);
	}
	uint8_t tail[8];
	put32(tail, (uint32_t)o.crc);
	memcpy(tail + 4, "END!", 4);
	if (!o.bad && fwrite(tail, 1, 8, f) != 8)
		o.bad = 1;
	if (fclose(f))
		o.bad = 1;
	free(ord);
	free(idx);
	if (o.bad) {
		remove(path);
		return dp_fail(err, DP_E_IO, DP_NO_OFFSET, "cannot write: %s", strerror(errno));
	}
	return DP_OK;
}

/* ---- reading ---- */

static int need(uint64_t have, uint64_t at, uint64_t len, const char *what, struct dp_error *err)
{
	if (at > have || len > have - at)
		return dp_fail(err, DP_E_TRUNCATED, (int64_t)(at > have ? have : at),
			       "fingerprint %s: %llu bytes needed from offset %llu, file has %llu", what,
			       (unsigned long long)len, (unsigned long long)at, (unsigned long long)have);
	return DP_OK;
}

/* The whole file into *out (malloc'ed). */
static int slurp(const char *path, uint8_t **out, size_t *len, struct dp_error *err)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return dp_fail(err, DP_E_IO, DP_NO_OFFSET, "cannot open: %s", strerror(errno));
	uint8_t *b = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 1 << 16;
			uint8_t *nb = realloc(b, cap);
			if (!nb) {
				free(b);
				fclose(f);
				return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
			}
			b = nb;
		}
		size_t r = fread(b + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	int ioerr = ferror(f);
	fclose(f);
	*out = b;
	*len = n;
	return ioerr ? dp_fail(err, DP_E_IO, DP_NO_OFFSET, "read error") : DP_OK;
}

/* The fixed header: fp's counts, the path length and the number of runs. */
static int read_header(const uint8_t *b, size_t n, struct dd_fp *fp, uint32_t *plen, uint64_t *runs,
		       struct dp_error *err)
{
	int rc;
	if ((rc = need(n, 0, HDR, "header", err)))
		return rc;
	if (memcmp(b, MAGIC, 8))
		return dp_fail(err, DP_E_CORRUPT, 0, "not a samepage fingerprint");
	if (get32(b + 8) != VERSION)
		return dp_fail(err, DP_E_UNSUPPORTED, 8, "fingerprint version %u (this program reads %u)",
			       get32(b + 8), VERSION);
	fp->page_size = get32(b + 12);
	if (fp->page_size < 512 || fp->page_size > (1u << 24) || (fp->page_size & (fp->page_size - 1)))
		return dp_fail(err, DP_E_CORRUPT, 12, "page size %u", fp->page_size);
	if (b[16] > 1 || b[17] != DD_KEY || (b[18] & ~1) || b[19])
		return dp_fail(err, DP_E_CORRUPT, 16, "hash %u / key size %u / flags %u", b[16], b[17], b[18]);
	fp->hash = b[16] ? DD_HASH_XXH128 : DD_HASH_SHA1;
	fp->has_pages = b[18] & 1;
	*plen = get32(b + 20);
	fp->pages = get64(b + 24);
	fp->absent_pages = get64(b + 32);
	fp->zero_pages = get64(b + 40);
	fp->known_zero = get64(b + 48);
	fp->ncontents = get64(b + 56);
	fp->npages = get64(b + 64);
	*runs = get64(b + 72);
	if (fp->zero_pages > fp->pages || fp->known_zero > fp->zero_pages ||
	    fp->ncontents > fp->pages - fp->zero_pages)
		return dp_fail(err, DP_E_CORRUPT, 24, "page counts do not fit together");
	return DP_OK;
}

/* The content list at offset at: keys ascending, copies adding up. */
static int read_contents(const uint8_t *b, uint64_t at, struct dd_fp *fp, struct dp_error *err)
{
	fp->contents = malloc((fp->ncontents ? fp->ncontents : 1) * sizeof *fp->contents);
	if (!fp->contents)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	uint64_t copies = 0;
	for (uint64_t k = 0; k < fp->ncontents; k++) {
		const uint8_t *r = b + at + k * REC;
		struct dd_fp_content *c = &fp->contents[k];
		memcpy(c->key, r, DD_KEY);
		c->copies = get32(r + 16);
		c->cls = r[20];
		if (c->copies == 0 || c->cls > DD_CLASS_TEXT || (k && memcmp(r - REC, r, DD_KEY) >= 0))
			return dp_fail(err, DP_E_CORRUPT, (int64_t)(at + k * REC),
				       "content %llu: no copies, unknown class, or keys out of order",
				       (unsigned long long)k);
		copies += c->copies;
	}
	if (copies != fp->pages - fp->zero_pages)
		return dp_fail(err, DP_E_CORRUPT, (int64_t)at,
			       "contents hold %llu copies, header says %llu non-zero pages",
			       (unsigned long long)copies, (unsigned long long)(fp->pages - fp->zero_pages));
	return DP_OK;
}

/* The page runs at at_runs and the page map at at_map. */
static int read_page_map(const uint8_t *b, uint64_t at_runs, uint64_t runs, uint64_t at_map, struct dd_fp *fp,
			 struct dp_error *err)
{
	if (!fp->has_pages) {
		if (fp->npages || runs)
			return dp_fail(err, DP_E_CORRUPT, 64, "page map entries without the page map flag");
		return DP_OK;
	}
	if (fp->npages != fp->pages)
		return dp_fail(err, DP_E_CORRUPT, 64, "page map has %llu entries for %llu pages",
			       (unsigned long long)fp->npages, (unsigned long long)fp->pages);
	fp->page_pfn = malloc((fp->npages ? fp->npages : 1) * sizeof *fp->page_pfn);
	fp->page_content = malloc((fp->npages ? fp->npages : 1) * sizeof *fp->page_content);
	if (!fp->page_pfn || !fp->page_content)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	uint64_t k = 0, zeros = 0, prev_end = 0;
	for (uint64_t r = 0; r < runs; r++) {
		uint64_t first = get64(b + at_runs + r * 16), len = get64(b + at_runs + r * 16 + 8);
		if (len == 0 || len > fp->npages - k || first > UINT64_MAX - len || (r && first <= prev_end))
			return dp_fail(err, DP_E_CORRUPT, (int64_t)(at_runs + r * 16),
				       "page run %llu is empty, overlaps, touches the previous one or is too long",
				       (unsigned long long)r);
		for (uint64_t i = 0; i < len; i++, k++) {
			uint32_t ci = get32(b + at_map + k * 4);
			if (ci != DD_ID_ZERO && ci >= fp->ncontents)
				return dp_fail(err, DP_E_CORRUPT, (int64_t)(at_map + k * 4),
					       "page map entry %llu names content %u of %llu", (unsigned long long)k, ci,
					       (unsigned long long)fp->ncontents);
			zeros += ci == DD_ID_ZERO;
			fp->page_pfn[k] = first + i;
			fp->page_content[k] = ci;
		}
		prev_end = first + len;
	}
	if (k != fp->npages || zeros != fp->zero_pages)
		return dp_fail(err, DP_E_CORRUPT, (int64_t)at_runs,
			       "page runs cover %llu entries (%llu zero), header says %llu (%llu)",
			       (unsigned long long)k, (unsigned long long)zeros, (unsigned long long)fp->npages,
			       (unsigned long long)fp->zero_pages);
	return DP_OK;
}

/* Where the sections lie: path, contents, runs, page map, trailer; checks
 * the sizes and the checksum. */
static int read_layout(const uint8_t *b, size_t n, uint32_t plen, uint64_t runs, struct dd_fp *fp,
		       uint64_t at[3], struct dp_error *err)
{
	int rc;
	uint64_t pos = HDR;
	if ((rc = need(n, pos, plen, "path", err)))
		return rc;
	fp->path = malloc(plen + 1);
	if (!fp->path)
		return dp_fail(err, DP_E_NOMEM, DP_NO_OFFSET, "out of memory");
	memcpy(fp->path, b + pos, plen);
	fp->path[plen] = 0;
	pos += plen + (8 - plen % 8) % 8;
	if (fp->ncontents > UINT64_MAX / REC || runs > UINT64_MAX / 16 || fp->npages > UINT64_MAX / 4)
		return dp_fail(err, DP_E_CORRUPT, 56, "counts too large");
	if ((rc = need(n, pos, fp->ncontents * REC, "content list", err)))
		return rc;
	at[0] = pos;
	at[1] = pos + fp->ncontents * REC;
	if ((rc = need(n, at[1], runs * 16, "page runs", err)))
		return rc;
	at[2] = at[1] + runs * 16;
	if ((rc = need(n, at[2], fp->npages * 4, "page map", err)))
		return rc;
	uint64_t at_end = at[2] + fp->npages * 4;
	if ((rc = need(n, at_end, 8, "trailer", err)))
		return rc;
	if (n != at_end + 8)
		return dp_fail(err, DP_E_CORRUPT, (int64_t)(at_end + 8), "%llu bytes after the trailer",
			       (unsigned long long)(n - at_end - 8));
	if (memcmp(b + at_end + 4, "END!", 4) || get32(b + at_end) != (uint32_t)crc32_z(0, b, (size_t)at_end))
		return dp_fail(err, DP_E_CORRUPT, (int64_t)at_end, "checksum does not match: the file is damaged");
	return DP_OK;
}

int dd_fp_read(const char *path, struct dd_fp *fp, struct dp_error *err)
{
	memset(fp, 0, sizeof *fp);
	uint8_t *b = NULL;
	size_t n = 0;
	uint32_t plen = 0;
	uint64_t runs = 0, at[3] = { 0, 0, 0 }; /* contents, runs, page map */
	int rc = slurp(path, &b, &n, err);
	if (!rc)
		rc = read_header(b, n, fp, &plen, &runs, err);
	if (!rc)
		rc = read_layout(b, n, plen, runs, fp, at, err);
	if (!rc)
		rc = read_contents(b, at[0], fp, err);
	if (!rc)
		rc = read_page_map(b, at[1], runs, at[2], fp, err);
	free(b);
	if (rc)
		dd_fp_free(fp);
	return rc;
}
